from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Deferred: an app's modules that use models load once Django calls ready().
        from approvals import links, workflows

        links.connect()  # review links follow the workflow's task signals
        workflows.register()  # each new brand's approval workflow (tenants.provisioning)

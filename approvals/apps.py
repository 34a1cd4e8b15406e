from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from approvals.workflows import approval_workflow_create
        from tenants.provisioning import register_brand_step

        register_brand_step(approval_workflow_create, order=50)

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from campaigns.setup import campaigns_index_name, campaigns_index_prepare
        from tenants.provisioning import register_brand_step, register_template_step

        register_template_step(campaigns_index_prepare, order=10)
        register_brand_step(campaigns_index_name, order=10)

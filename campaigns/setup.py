"""What campaigns adds to the template schema and to each new brand (registered with
``tenants.provisioning`` in ``CampaignsConfig.ready``): the campaigns index every campaign lives
under, as the Wagtail site's root, and the roles' page permissions on it."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission, Page, Site

from campaigns.models import CampaignIndexPage
from tenants.models import Client
from tenants.provisioning import register_brand_step, register_template_step
from tenants.roles import PAGE_PERMISSIONS


def campaigns_index_prepare() -> None:
    """In the template: one campaigns index, alone under the root, as the default site's root."""
    root = Page.get_first_root_node()
    index = CampaignIndexPage.objects.first()
    if index is None:
        index = root.add_child(instance=CampaignIndexPage(title="Campaigns", slug="campaigns"))
    for page in root.get_children().exclude(pk=index.pk):
        page.delete()
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    site.root_page = index
    site.hostname = "localhost"
    site.port = 80
    site.site_name = "Template"
    site.save()


def campaigns_index_name(client: Client, groups: dict[str, Group]) -> None:
    """In a new brand: the index named after the brand, and each role's rights on it."""
    index = CampaignIndexPage.objects.get()
    index.title = index.draft_title = f"{client.name} campaigns"
    index.save(update_fields=["title", "draft_title"])
    page_perms = {p.codename: p for p in Permission.objects.filter(
        content_type__app_label="wagtailcore", codename__endswith="_page")}
    GroupPagePermission.objects.bulk_create([
        GroupPagePermission(group=groups[role], page=index, permission=page_perms[f"{ptype}_page"])
        for role, types in PAGE_PERMISSIONS.items() for ptype in types
    ])


def register() -> None:
    """Called once from ``CampaignsConfig.ready``."""
    register_template_step(campaigns_index_prepare, order=10)
    register_brand_step(campaigns_index_name, order=10)

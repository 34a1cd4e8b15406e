"""Campaign pages. Each brand's Wagtail site is rooted at its campaigns index."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.models import Page


class CampaignIndexPage(Page):
    """The root of a brand's site: every campaign lives below it."""

    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["campaigns.CampaignPage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = "campaigns index"


class CampaignPage(Page):
    """One campaign: its brief and, as the studio grows, its posts."""

    brief = models.TextField(blank=True, help_text="Goal, audience and key message.")

    content_panels = Page.content_panels + [FieldPanel("brief")]
    parent_page_types = ["campaigns.CampaignIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "campaign"

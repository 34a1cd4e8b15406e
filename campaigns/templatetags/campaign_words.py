"""Template tags for Wagtail's screens in the agency's words (``campaigns.words``)."""

from django import template

from campaigns import words

register = template.Library()


@register.filter
def status_label(page) -> str:
    """``{{ page|status_label }}``: a campaign's status, or Wagtail's word for another page."""
    return words.status_label(page)


@register.filter
def history_status(status, page):
    """``{{ status|history_status:page }}``: a revision's tag in the page's history."""
    return words.history_status(status, page)


@register.filter
def is_campaign(page) -> bool:
    return words.is_campaign(page)


@register.filter
def is_campaigns_index(page) -> bool:
    return words.is_campaigns_index(page)


@register.inclusion_tag("wagtailadmin/shared/buttons.html")
def campaign_bulk_action_choices():
    """``{% campaign_bulk_action_choices %}``: the list of campaigns' bulk actions (Wagtail's
    page actions but those a campaign never takes: ``words.HIDDEN_BULK_ACTIONS``)."""
    return {"buttons": words.campaign_bulk_action_buttons()}

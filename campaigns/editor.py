"""The posts of the campaign editor: listed closed, opened one at a time.

Wagtail's InlinePanel renders a full editing form for every post, StreamField and choosers
included: about 25 KB of HTML and 10 ms per post, so a 200-post campaign took seconds to open.
Here a post the editor has not opened is a summary row (time, channels, text, thumbnails, its
problems) that carries its values in one hidden field; "Edit post" swaps in the full form,
rendered by ``post_editor_view``. New posts are open from the start. Saving, ordering, deleting,
previews and revisions are Wagtail's own: a closed post is read back by ``PostForm``.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME, ORDERING_FIELD_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from wagtail import hooks
from wagtail.admin.panels import InlinePanel, Panel
from wagtail.images.shortcuts import get_rendition_or_not_found

from campaigns import networks
from campaigns.forms import SUMMARY_FIELDS, PostForm, post_summary

# Why a campaign was sent back ({"step", "by", "at", "comment", "posts": {number: [comments]}}),
# asked of whichever app runs the review (approvals registers it): the editor lives below it.
SENT_BACK_HOOK = "campaign_sent_back_notes"


def sent_back_notes(page) -> dict | None:
    """The first answer of the ``campaign_sent_back_notes`` hooks, or None."""
    for hook in hooks.get_hooks(SENT_BACK_HOOK):
        notes = hook(page)
        if notes:
            return notes
    return None


# How long before a campaign's first post the client's approval is due (a timedelta), asked of
# whichever app runs the approval (approvals registers it), as the sent-back notes are.
LEAD_TIME_HOOK = "campaign_approval_lead_time"


def approval_lead_time() -> dt.timedelta | None:
    """The first answer of the ``campaign_approval_lead_time`` hooks, or None."""
    for hook in hooks.get_hooks(LEAD_TIME_HOOK):
        lead = hook()
        if lead is not None:
            return lead
    return None


def deadline_warning(when: dt.datetime | None, lead: dt.timedelta | None,
                     now: dt.datetime, *, past: bool = True) -> str:
    """What to tell the editor about a post at ``when`` if it leaves the client too little time
    to approve (static/campaigns/composer.js says the same while the time is typed). ``past``:
    whether a time gone by is flagged too (not in a published campaign: those posts went out)."""
    if when is None or lead is None:
        return ""
    if when <= now:
        return "This time has passed: choose a later one." if past else ""
    if when - lead >= now:
        return ""
    hours = round(lead.total_seconds() / 3600)
    return (f"Inside the client's approval lead time: approval is due {hours} hours before the "
            f"first post, so this one needed it by {_format(when - lead)}. Move it after "
            f"{_format(now + lead)}, or agree a quicker approval with the client.")


def _format(moment: dt.datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "D j M Y, H:i")


def composer_data(channels, lead: dt.timedelta | None, *, past: bool = True) -> dict:
    """What static/campaigns/composer.js needs to preview and count a post as each network
    does, once per editor: the channels, the networks' rules, the lead time, the upload URL."""
    return {
        "channels": {str(c.pk): {"name": c.name, "handle": c.handle, "network": c.network}
                     for c in channels},
        "networks": networks.client_rules(),
        "zone": timezone.get_current_timezone_name(),
        "lead_hours": lead.total_seconds() / 3600 if lead is not None else None,
        "flag_past": past,
        "upload_url": reverse("campaign_post_image_upload"),
    }


EXCERPT_CHARS = 160


class PostsPanel(InlinePanel):
    def get_form_options(self):
        options = super().get_form_options()
        options["formsets"][self.relation_name]["form"] = PostForm
        return options

    class BoundPanel(InlinePanel.BoundPanel):
        template_name = "campaigns/panels/posts_panel.html"

        def __init__(self, **kwargs):
            # InlinePanel binds a full child panel to every post; only open posts need one.
            Panel.BoundPanel.__init__(self, **kwargs)
            self.label = self.panel.label
            self.sent_back = self.composer = None
            if self.form is None:
                return
            self.formset = self.form.formsets[self.panel.relation_name]
            self.child_edit_handler = self.panel.child_edit_handler
            closed = []
            self.children = []
            for index, subform in enumerate(self.formset.forms):
                subform.fields[DELETION_FIELD_NAME].widget = forms.HiddenInput()
                if self.formset.can_order:
                    subform.fields[ORDERING_FIELD_NAME].widget = forms.HiddenInput(
                        attrs={"value": index + 1})
                prefix = f"{self.prefix}-{index}"
                if subform.is_bound and subform.summary is None:
                    self.children.append(self.child_edit_handler.get_bound_panel(
                        instance=subform.instance, request=self.request, form=subform,
                        prefix=prefix))
                else:
                    child = ClosedPost(subform)
                    closed.append(child)
                    self.children.append(child)
            if self.formset.can_order and self.formset.is_valid():
                self.children.sort(
                    key=lambda child: child.form.cleaned_data[ORDERING_FIELD_NAME] or 1)
            self.sent_back = sent_back_notes(self.instance)
            # The posts' channel model, reached through the formset (models import this module).
            channel_model = self.formset.model._meta.get_field("channels").related_model
            channels = list(channel_model.objects.all())
            lead = approval_lead_time()
            # Past times are flagged, except in a published campaign: those posts went out.
            past = not (self.instance.pk and getattr(self.instance, "live", False))
            self.composer = composer_data(channels, lead, past=past)
            if closed:
                ClosedPost.prepare(closed, panel=self,
                                   feedback=(self.sent_back or {}).get("posts", {}),
                                   channels=channels, lead=lead, past=past)

            empty_form = self.formset.empty_form
            empty_form.fields[DELETION_FIELD_NAME].widget = forms.HiddenInput()
            if self.formset.can_order:
                empty_form.fields[ORDERING_FIELD_NAME].widget = forms.HiddenInput()
            self.empty_child = self.child_edit_handler.get_bound_panel(
                instance=empty_form.instance, request=self.request, form=empty_form,
                prefix=f"{self.prefix}-__prefix__")


class ClosedPost:
    """A post shown as a summary row, in the same child frame (header, move and delete buttons)
    as an open one, so Wagtail's InlinePanel script orders and deletes it alike.

    Rows are built in Python, not one template each: a 200-post campaign renders in a fraction
    of the time. The frame is Wagtail's own child template, rendered once with a placeholder
    prefix and stamped per row (as Wagtail itself does with ``__prefix__`` for new posts)."""

    STAMP = "posts-__closed__"
    CONTENT = "<!--closed-post-content-->"

    def __init__(self, form):
        self.form = form
        if form.is_bound:
            self.summary = form.summary
            self.summary_json = form.summary_json
        else:
            self.summary = post_summary(form.instance)
            self.summary_json = json.dumps(self.summary)
            self.summary["media"] = form.instance.media
        self.html = ""
        self.feedback: list[str] = []

    @classmethod
    def prepare(cls, closed: list[ClosedPost], panel, feedback=None, channels=(),
                lead: dt.timedelta | None = None, past: bool = True) -> None:
        """Render every row, with the brand's ``channels`` (read once) and one frame for them
        all; a row whose time leaves the client less than ``lead`` to approve is flagged."""
        channels = {str(c.pk): c.name for c in channels}
        now = timezone.now()
        stamp = SimpleNamespace(
            form=SimpleNamespace(prefix=cls.STAMP, non_field_errors=[],
                                 DELETE=SimpleNamespace(id_for_label=f"id_{cls.STAMP}-DELETE")),
            render_form_content=lambda: mark_safe(cls.CONTENT))  # noqa: S308 - a constant
        frame = render_to_string("wagtailadmin/panels/inline_panel_child.html", {
            "child": stamp, "self": panel, "can_order": panel.formset.can_order})
        editor_url = reverse("campaign_post_editor")
        for post in closed:
            post.feedback = (feedback or {}).get(int(post.form.prefix.rsplit("-", 1)[1]) + 1, [])
            chosen = set(post.summary.get("channels", []))
            names = [name for pk, name in channels.items() if pk in chosen]  # by name
            content = post.hidden_fields() + post.row(names, editor_url, lead=lead, now=now,
                                                       past=past)
            post.html = mark_safe(frame.replace(cls.STAMP, post.form.prefix)  # noqa: S308
                                  .replace(cls.CONTENT, content))

    def hidden_fields(self) -> str:
        """The formset's own fields (id, ORDER, DELETE) as hidden inputs."""
        inputs = [(f"id_{self.form.add_prefix(name)}", self.form.add_prefix(name),
                   "" if self.form[name].value() is None else self.form[name].value())
                  for name in self.form.fields if name not in SUMMARY_FIELDS]
        return format_html_join("", '<input type="hidden" id="{}" name="{}" value="{}">', inputs)

    def row(self, channel_names: list[str], editor_url: str, lead=None, now=None,
            past=True) -> str:
        when = _when(self.summary.get("publish_at", ""))
        when_html = (format_html('<time datetime="{}">{}</time>', when.isoformat(),
                                 dateformat.format(timezone.localtime(when), "D j M Y, H:i"))
                     if when else mark_safe('<span class="post-closed__unset">No time yet</span>'))
        warning = deadline_warning(when, lead, now or timezone.now(), past=past)
        deadline_html = format_html('<p class="post-deadline" data-post-deadline>{}</p>',
                                    warning) if warning else ""
        channels_html = (format_html('<span class="post-closed__channels">{}</span>',
                                     ", ".join(channel_names)) if channel_names else
                         mark_safe('<span class="post-closed__unset">No channel yet</span>'))
        copy = self.summary.get("copy", "")
        excerpt = copy if len(copy) <= EXCERPT_CHARS else copy[:EXCERPT_CHARS].rstrip() + "…"
        media = format_html_join("", "<li>{}</li>", ((item,) for item in self.media_items()))
        errors = self.errors()
        return format_html(
            '<div class="post-closed{}" data-post-closed>'
            '<input type="hidden" name="{}" value="{}" data-post-summary>'
            '<p class="post-closed__meta">{} · {}</p>{}'
            '<p class="post-closed__copy">{}</p>{}{}{}'
            '<button type="button" class="button button-small button-secondary" '
            'data-post-open="{}">Edit post</button>'
            '<span class="post-closed__status" role="status" data-post-open-status></span>'
            '<div class="post-lint" data-post-lint aria-live="polite"></div>'
            "</div>",
            " post-closed--errors" if errors else "", self.form.add_prefix("summary"),
            self.summary_json, when_html, channels_html, deadline_html,
            excerpt or "(no text)",
            format_html_join("", '<p class="post-closed__feedback"><strong>Asked to change:'
                                 '</strong> {}</p>', ((f,) for f in self.feedback)),
            format_html('<ul class="post-closed__media">{}</ul>', media) if media else "",
            format_html('<ul class="post-closed__errors">{}</ul>', format_html_join(
                "", '<li class="error-message">{}</li>', ((e,) for e in errors)))
            if errors else "",
            editor_url)

    def media_items(self) -> list[str]:
        items = []
        for block in self.summary.get("media") or []:
            if block.block_type == "image" and block.value.get("image"):
                rendition = get_rendition_or_not_found(block.value["image"], "max-165x165")
                items.append(rendition.img_tag({"alt": block.value.get("alt_text", "")}))
            elif block.block_type == "video":
                video = block.value.get("video")
                items.append(format_html('<span class="post-closed__video">Video: {}</span>',
                                         video.title if video else "missing"))
        return items

    def errors(self) -> list[str]:
        if not self.form.is_bound:
            return []
        found = [str(error) for error in self.form.non_field_errors()]
        for name, errors in self.form.errors.items():
            if name != "__all__":
                label = self.form.fields[name].label if name in self.form.fields else name
                found += [f"{label}: {error}" for error in _messages(errors)]
        return found


def _messages(errors) -> list[str]:
    """Flat messages of a field's errors (a StreamField's are nested per block)."""
    out = []
    for error in errors.as_data() if hasattr(errors, "as_data") else errors:
        messages = getattr(error, "messages", None) or [str(error)]
        out += [str(m) for m in messages]
    return out


def _when(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        return None
    return moment


def posts_panel(edit_handler) -> PostsPanel | None:
    """The PostsPanel inside a page's edit handler."""
    stack = [edit_handler]
    while stack:
        panel = stack.pop()
        if isinstance(panel, PostsPanel):
            return panel
        stack.extend(getattr(panel, "children", []))
    return None

"""Admin forms: channels with a write-only secret, campaigns checked against network rules."""

from __future__ import annotations

import json
from collections import defaultdict

from django import forms
from wagtail import blocks
from wagtail.admin.forms import WagtailAdminModelForm, WagtailAdminPageForm

from agency import signing
from campaigns import networks


def media_values(raw_lists, stream_block) -> list[blocks.StreamValue]:
    """Posts' media from their stored form (lists of ``{"type", "value", "id"}``), with the
    blocks of each type converted together: one image query for all the posts, not one each.
    ``stream_block``: the posts' media field's block (``Post._meta.get_field("media")``)."""
    raw_lists = [[item for item in raw if item.get("type") in stream_block.child_blocks]
                 for raw in raw_lists]
    pending = defaultdict(list)
    for raw in raw_lists:
        for item in raw:
            pending[item["type"]].append(item.get("value"))
    converted = {name: iter(stream_block.child_blocks[name].bulk_to_python(values))
                 for name, values in pending.items()}
    return [blocks.StreamValue(stream_block, [(item["type"], next(converted[item["type"]]),
                                               item.get("id")) for item in raw], is_lazy=False)
            for raw in raw_lists]


class ChannelForm(WagtailAdminModelForm):
    secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Access token, app password or signing secret. Stored encrypted; never shown "
                  "again. Leave blank to keep the current one.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret_hint:
            self.fields["secret"].help_text = (
                f"Stored encrypted (ends {self.instance.secret_hint}). Leave blank to keep it, "
                "or enter a new one to replace it.")

    def clean(self):
        cleaned = super().clean()
        network = cleaned.get("network")
        if network and not self.instance.secret_encrypted and not cleaned.get("secret") \
                and network != "sandbox":
            self.add_error("secret", f"{networks.get(network).label} needs its "
                                     f"{networks.get(network).credential_label.lower()}.")
        if network == "webhook" and cleaned.get("secret"):
            # Posts are signed as Standard Webhooks has it: the receiver's library takes this.
            problem = signing.secret_problem(cleaned["secret"])
            if problem:
                self.add_error("secret", f"{problem} Give a Standard Webhooks secret: whsec_ "
                                         "followed by 24 to 64 random bytes in base64 (e.g. "
                                         "from “openssl rand -base64 32”), and the same one to "
                                         "your receiver.")
        return cleaned

    def save(self, commit=True):
        secret = self.cleaned_data.get("secret")
        if secret:
            self.instance.set_secret(secret)
        return super().save(commit=commit)


def post_problems(post_form, number: int) -> list[tuple[str, str]]:
    """(field, message) for each network rule the post in ``post_form`` breaks."""
    data = post_form.cleaned_data
    if not data or data.get("DELETE"):
        return []
    draft = networks.PostDraft.from_media(copy=data.get("copy") or "",
                                          link=data.get("link") or "", media=data.get("media"))
    found = []
    for channel in data.get("channels") or []:
        for problem in channel.rules.problems(draft):
            field = "media" if ("image" in problem.lower() or "video" in problem.lower()
                                or "alt text" in problem) else "copy"
            found.append((field, f"Post {number} on {channel.name}: {problem}"))
    return found


# The post fields a closed post carries in its summary (see PostForm).
SUMMARY_FIELDS = ("copy", "link", "first_comment", "publish_at", "channels", "media")
SUMMARY_UNREADABLE = ("This post came back from the browser incomplete. Reload the page and edit "
                      "it again; nothing has been saved.")


def post_summary(post) -> dict:
    """A post's fields as the editor carries them while the post is closed."""
    return {
        "copy": post.copy, "link": post.link, "first_comment": post.first_comment,
        "publish_at": post.publish_at.isoformat() if post.publish_at else "",
        "channels": [str(channel.pk) for channel in post.channels.all()],
        "media": list(post.media.raw_data),
    }


def _media_item_ok(item, stream_block) -> bool:
    if not isinstance(item, dict) or item.get("type") not in stream_block.child_blocks:
        return False
    struct = stream_block.child_blocks[item["type"]]
    value = item.get("value")
    if not isinstance(value, dict) or not isinstance(item.get("id", ""), str | None):
        return False
    for name, child in struct.child_blocks.items():
        kind = (int, type(None)) if isinstance(child, blocks.ChooserBlock) else str
        if not isinstance(value.get(name), kind) or isinstance(value.get(name), bool):
            return False
    return True


def summary_parse(raw: str, stream_block) -> dict | None:
    """The summary a closed post sent back, or None if it is not one we could have written."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) - set(SUMMARY_FIELDS):
        return None
    if not all(isinstance(data.get(name, ""), str)
               for name in ("copy", "link", "first_comment", "publish_at")):
        return None
    channels, media = data.get("channels", []), data.get("media", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        return None
    if not isinstance(media, list) or not all(_media_item_ok(i, stream_block) for i in media):
        return None
    return data


class PostForm(WagtailAdminModelForm):
    """One post in the campaign editor.

    The editor lists posts closed, as summaries, and opens one when asked (so a campaign of
    200 posts does not render 200 editing forms). A closed post sends its values back as one
    JSON field, ``<prefix>-summary``; they are read through the same form fields and checks as
    values typed into an open post, so a summary cannot carry anything a form could not."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summary = None
        self.summary_unreadable = False
        raw = self.data.get(self.add_prefix("summary")) if self.is_bound else None
        if raw is not None:
            stream_block = self._meta.model._meta.get_field("media").stream_block
            self.summary = summary_parse(raw, stream_block)
            if self.summary is None:
                self.summary, self.summary_unreadable = {}, True
            self.summary_json = raw

    def _widget_data_value(self, widget, html_name):
        name = html_name.removeprefix(self.add_prefix(""))
        if self.summary is None or name not in SUMMARY_FIELDS:
            return super()._widget_data_value(widget, html_name)
        if name == "media":
            media = self.summary.get("media") or []
            if not isinstance(media, blocks.StreamValue):
                media = self.summary["media"] = media_values(
                    [media], self._meta.model._meta.get_field("media").stream_block)[0]
            return media
        return self.summary.get(name, [] if name == "channels" else "")

    def clean(self):
        cleaned = super().clean()
        if self.summary_unreadable:
            raise forms.ValidationError(SUMMARY_UNREADABLE)
        return cleaned


class CampaignPageForm(WagtailAdminPageForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posts = self.formsets.get("posts")
        if posts is not None:
            # Closed posts' images, for all of them in one query.
            closed = [form.summary for form in posts.forms
                      if getattr(form, "summary", None) is not None]
            if closed:
                for summary, media in zip(
                        closed, media_values([s.get("media") or [] for s in closed],
                                             posts.model._meta.get_field("media").stream_block),
                        strict=True):
                    summary["media"] = media
        # Every post offers the same channels: read them once, not once per post form.
        posts = self.formsets.get("posts")
        if posts is not None and posts.forms:
            field = posts.forms[0].fields.get("channels")
            if field is not None:
                choices = list(field.choices)
                for form in [*posts.forms, posts.empty_form]:
                    form.fields["channels"].choices = choices

    def clean(self):
        cleaned = super().clean()
        posts = self.formsets.get("posts")
        if posts is None:
            return cleaned
        number = 0
        for post_form in posts.forms:
            if not post_form.is_valid() or post_form.cleaned_data.get("DELETE"):
                continue
            number += 1
            for field, message in post_problems(post_form, number):
                post_form.add_error(field, message)
        return cleaned

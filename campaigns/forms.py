"""Admin forms: channels with a write-only secret, campaigns checked against network rules."""

from __future__ import annotations

import json
from collections import defaultdict

from django import forms
from django.core.exceptions import ValidationError
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


# --- What a network asks for beyond text and media (``networks.Option``) -------------------


def clean_network_options(value, *, which: str = "post_options") -> dict:
    """``{network: {option: value}}`` as a post (or, ``which="channel_options"``, a channel)
    keeps it: known networks and options only, values text or yes/no. Anything else is a
    ``ValidationError`` saying what to change."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError("Network options must be an object by network, e.g. "
                              '{"pinterest": {"board": "123"}}.')
    cleaned = {}
    for name, given in value.items():
        network = networks.NETWORKS.get(name)
        options = {o.name: o for o in getattr(network, which, ())} if network else {}
        if not options:
            asking = sorted(n for n, net in networks.NETWORKS.items() if getattr(net, which))
            raise ValidationError(f"“{name}” takes no options here; networks that do: "
                                  f"{', '.join(asking) or 'none'}.")
        if not isinstance(given, dict):
            raise ValidationError(f"The options for {network.label} must be an object, e.g. "
                                  f'{{"{next(iter(options))}": "…"}}.')
        kept = {}
        for key, item in given.items():
            option = options.get(key)
            if option is None:
                raise ValidationError(f"{network.label} has no option “{key}”; it takes: "
                                      f"{', '.join(options)}.")
            if option.kind == "bool":
                if not isinstance(item, bool):
                    raise ValidationError(f"“{option.label}” ({network.label}) is yes or no "
                                          "(true or false).")
            elif not isinstance(item, str):
                raise ValidationError(f"“{option.label}” ({network.label}) is text.")
            elif len(item) > 5000:
                raise ValidationError(f"“{option.label}” ({network.label}) is too long.")
            if item not in ("", None):
                kept[key] = item.strip() if isinstance(item, str) else item
        if kept:
            cleaned[name] = kept
    return cleaned


class NetworkOptionsWidget(forms.Widget):
    """Each network's options as plain inputs, one group per network (only the networks of the
    brand's channels; a post's group shows while one of its channels is chosen:
    static/campaigns/network_options.js). ``channels``: the brand's channels, set by the form;
    ``network``: for a channel's own settings, the one network whose ``channel_options`` to ask."""

    template_name = "campaigns/widgets/network_options.html"

    def __init__(self, attrs=None, *, which: str = "post_options", network: str = ""):
        super().__init__(attrs)
        self.which = which
        self.network = network
        self._channels: list | None = None
        self.channel_source = None  # a queryset read when first needed, if no list was given

    @property
    def channels(self) -> list:
        if self._channels is None:
            self._channels = list(self.channel_source) if self.channel_source is not None else []
        return self._channels

    @channels.setter
    def channels(self, value) -> None:
        self._channels = list(value)

    class Media:
        js = ["campaigns/network_options.js"]

    def groups(self):
        for name, network in networks.NETWORKS.items():
            options = getattr(network, self.which)
            if not options or (self.network and name != self.network):
                continue
            channels = [c for c in self.channels if c.network == name]
            if self.which == "post_options" and not channels:
                continue
            yield network, options, channels

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = value if isinstance(value, dict) else {}
        groups = []
        for network, options, channels in self.groups():
            given = value.get(network.name, {}) if self.which == "post_options" else value
            given = given if isinstance(given, dict) else {}
            fields = []
            for option in options:
                current = given.get(option.name, option.default)
                fields.append({"option": option, "name": f"{name}-{network.name}-{option.name}",
                               "id": f"{attrs.get('id', name)}-{network.name}-{option.name}",
                               "value": "" if current is None else current,
                               "choices": option.choices_for(channels)})
            groups.append({"network": network, "fields": fields,
                           "marker": f"{name}-{network.name}",
                           "channels": " ".join(str(c.pk) for c in channels)})
        context["groups"] = groups
        context["per_post"] = self.which == "post_options"
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates, not the form renderer's (which reads only Django's own).
        from django.template.loader import render_to_string
        from django.utils.safestring import mark_safe

        context = self.get_context(name, value, self.build_attrs(self.attrs, attrs or {}))
        return mark_safe(render_to_string(self.template_name, context))  # noqa: S308 - escaped

    def value_from_datadict(self, data, files, name):
        found, any_group = {}, False
        for network, options, _ in self.groups():
            marker = f"{name}-{network.name}"
            if marker not in data:
                continue
            any_group = True
            values = {}
            for option in options:
                key = f"{marker}-{option.name}"
                if option.kind == "bool":
                    values[option.name] = data.get(key) in ("on", "true", "1")
                else:
                    values[option.name] = str(data.get(key, "")).strip()
            found[network.name] = {k: v for k, v in values.items() if v not in ("", None)}
        if not any_group:
            return None
        if self.which == "channel_options":
            return next(iter(found.values()), {})
        return {k: v for k, v in found.items() if v}

    def value_omitted_from_data(self, data, files, name):
        return False


class NetworkOptionsField(forms.Field):
    """A post's ``network_options`` (or a channel's option settings), checked for shape here;
    whether a choice suits the channel is a network rule (``Network.problems``)."""

    def __init__(self, *, which: str = "post_options", network: str = "", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", NetworkOptionsWidget(which=which, network=network))
        super().__init__(**kwargs)
        self.which = which
        self.network = network

    def to_python(self, value):
        if value in (None, ""):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("The network options could not be read: set them "
                                      "again.") from None
        if self.which == "channel_options":
            return clean_network_options({self.network: value},
                                         which="channel_options").get(self.network, {})
        return clean_network_options(value)

    def has_changed(self, initial, data):
        return (initial or {}) != (self.to_python(data) if data is not None else {})


class ChannelForm(WagtailAdminModelForm):
    secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Access token, app password or signing secret. Stored encrypted; never shown "
                  "again. Leave blank to keep the current one.")

    network_settings = forms.Field(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = networks.NETWORKS.get(self.instance.network) if self.instance.pk else None
        if rules is not None and rules.channel_options:
            # The network's own settings for this channel (e.g. a video's privacy), kept in
            # ``Channel.settings`` beside what the connection stored.
            field = NetworkOptionsField(which="channel_options", network=rules.name,
                                        label=f"{rules.label} settings")
            field.widget.channels = [self.instance]
            field.initial = {o.name: (self.instance.settings or {}).get(o.name, o.default)
                             for o in rules.channel_options}
            self.fields["network_settings"] = field
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
        chosen = self.cleaned_data.get("network_settings")
        rules = networks.NETWORKS.get(self.instance.network)
        if isinstance(chosen, dict) and rules is not None and rules.channel_options:
            settings = dict(self.instance.settings or {})
            for option in rules.channel_options:
                if option.name in chosen:
                    settings[option.name] = chosen[option.name]
                else:
                    settings.pop(option.name, None)
            self.instance.settings = settings
        return super().save(commit=commit)


def post_problems(post_form, number: int) -> list[tuple[str, str]]:
    """(field, message) for each network rule the post in ``post_form`` breaks."""
    data = post_form.cleaned_data
    if not data or data.get("DELETE"):
        return []
    draft = networks.PostDraft.from_media(copy=data.get("copy") or "",
                                          link=data.get("link") or "", media=data.get("media"),
                                          options=data.get("network_options"))
    found = []
    for channel in data.get("channels") or []:
        for problem in channel.rules.problems(draft, channel):
            field = "media" if ("image" in problem.lower() or "video" in problem.lower()
                                or "alt text" in problem) else "copy"
            found.append((field, f"Post {number} on {channel.name}: {problem}"))
    return found


# The post fields a closed post carries in its summary (see PostForm).
SUMMARY_FIELDS = ("copy", "link", "first_comment", "publish_at", "channels", "media",
                  "network_options")
SUMMARY_UNREADABLE = ("This post came back from the browser incomplete. Reload the page and edit "
                      "it again; nothing has been saved.")


def post_summary(post) -> dict:
    """A post's fields as the editor carries them while the post is closed."""
    return {
        "copy": post.copy, "link": post.link, "first_comment": post.first_comment,
        "publish_at": post.publish_at.isoformat() if post.publish_at else "",
        "channels": [str(channel.pk) for channel in post.channels.all()],
        "media": list(post.media.raw_data),
        "network_options": post.network_options or {},
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
    if not isinstance(data.get("network_options", {}), dict):
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
        if "network_options" in self.fields:
            self.fields["network_options"] = NetworkOptionsField(label="Network options")
            if "channels" in self.fields:  # the brand's channels, read only if asked
                self.fields["network_options"].widget.channel_source = \
                    self.fields["channels"].queryset
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
        if name == "network_options":
            return self.summary.get(name) or {}
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
        if posts is not None:
            field = (posts.forms[0] if posts.forms else posts.empty_form).fields.get("channels")
            if field is not None:
                choices = list(field.choices)
                channels = list(field.queryset)
                for form in [*posts.forms, posts.empty_form]:
                    form.fields["channels"].choices = choices
                    if "network_options" in form.fields:
                        form.fields["network_options"].widget.channels = channels

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

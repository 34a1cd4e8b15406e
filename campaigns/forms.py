"""Admin forms: channels with a write-only secret, campaigns checked against network rules."""

from __future__ import annotations

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm, WagtailAdminPageForm

from campaigns import networks


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


class CampaignPageForm(WagtailAdminPageForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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

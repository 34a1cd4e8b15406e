"""Portal forms. Each error says what is wrong and how to put it right."""

from __future__ import annotations

from django import forms
from django.core.validators import validate_email

from agency.api.models import Scope
from tenants.models import Client, Role
from tenants.zones import TimeZoneField, zone_names

# The zones a new brand may have (canonical names: no "GB" or "US/Eastern"), for the API's list.
COMMON_ZONES = sorted(zone_names())
MAX_LOGO_BYTES = 2 * 1024 * 1024


class _BrandDetails(forms.Form):
    """What a client looks like and when its posts go out: shared by creating and editing."""

    name = forms.CharField(max_length=100, label="Client name",
                           help_text="The brand's name as your team says it, e.g. “Acme Coffee”.")
    time_zone = TimeZoneField(help_text="Post times are shown and entered in this zone. Choose "
                                        "the region, then the city.")
    brand_colour = forms.CharField(
        max_length=7, initial="#2F5D62", label="Brand colour",
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Shown in the campaign studio's header.")
    logo = forms.ImageField(required=False, help_text="PNG, JPEG or WebP, at most 2 MB. Shown "
                                                      "in the campaign studio's header.")

    def clean_brand_colour(self):
        colour = self.cleaned_data["brand_colour"].strip()
        for validator in Client._meta.get_field("brand_colour").validators:
            validator(colour)
        return colour

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo:
            return logo
        if logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError("The logo is larger than 2 MB. Export a smaller PNG, "
                                        "JPEG or WebP and upload it again.")
        fmt = getattr(getattr(logo, "image", None), "format", "") or ""
        if fmt.upper() not in {"PNG", "JPEG", "WEBP"}:
            raise forms.ValidationError("Upload the logo as PNG, JPEG or WebP.")
        return logo


class ClientCreateForm(_BrandDetails):
    slug = forms.CharField(max_length=40, label="Short name",
                           help_text="Lower-case letters, digits and hyphens. It becomes the "
                                     "client's web address and cannot be changed later.")
    field_order = ["name", "slug", "time_zone", "brand_colour", "logo"]

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        for validator in Client._meta.get_field("slug").validators:
            validator(slug)
        if Client.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"A client with the short name “{slug}” already exists. "
                                        "Choose another.")
        return slug


class ClientEditForm(_BrandDetails):
    """A client's name, zone, colour and logo. Its zone stays valid even if it is an older name
    than the list offers today."""

    def __init__(self, *args, client: Client, **kwargs):
        kwargs.setdefault("initial", {"name": client.name, "time_zone": client.time_zone,
                                      "brand_colour": client.brand_colour})
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].set_current(client.time_zone)
        self.fields["logo"].help_text = ("PNG, JPEG or WebP, at most 2 MB. Leave empty to keep "
                                         "the current logo.")


# A person signs in with their email, kept as the account's user name: no longer than that.
MAX_EMAIL_LENGTH = 150


class MemberAddForm(forms.Form):
    email = forms.EmailField(
        max_length=MAX_EMAIL_LENGTH,
        help_text="Their work email. New people get an email to set a password.",
        error_messages={"max_length": f"Use an email address of at most {MAX_EMAIL_LENGTH} "
                                      "characters: it is what the person signs in with."})
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)

    def __init__(self, *args, role_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if role_choices is not None:
            self.fields["role"].choices = role_choices

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        validate_email(email)
        return email


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args, role_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if role_choices is not None:
            self.fields["role"].choices = role_choices


class ConfirmDeleteForm(forms.Form):
    confirm_slug = forms.CharField(label="Type the client's short name to confirm")


# What each scope allows on the portal API (the brand API's wording speaks of drafts and media).
AGENCY_SCOPES = [
    (Scope.READ, "Read: list clients and their members"),
    (Scope.WRITE, "Write: provision, archive and restore clients; add, change and remove members"),
]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “Onboarding script”.")
    scopes = forms.MultipleChoiceField(
        choices=AGENCY_SCOPES, initial=[Scope.READ], widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope: read, write or both."})

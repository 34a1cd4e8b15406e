"""Sign-in forms for the portal and for Wagtail's admin, both under the failed sign-in limit."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from wagtail.admin.forms.auth import LoginForm

from tenants import ratelimit


class RateLimitMixin:
    rate_limit_message = (
        "Too many failed sign-ins for this account or network. Wait {minutes} minutes and try "
        "again, or reset your password."
    )

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and ratelimit.is_blocked(username=username, request=self.request):
            raise forms.ValidationError(
                self.rate_limit_message.format(minutes=ratelimit.minutes_left()),
                code="rate_limited",
            )
        return super().clean()


class PortalLoginForm(RateLimitMixin, AuthenticationForm):
    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        # Autofocus would skip the page's "Skip to content" link for keyboard users.
        self.fields["username"].widget.attrs.pop("autofocus", None)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match. Check both and try again.",
    }


class WagtailLoginForm(RateLimitMixin, LoginForm):
    pass

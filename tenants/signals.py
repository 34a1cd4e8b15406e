"""Count failed sign-ins; forget them after a success."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from tenants import ratelimit


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    if username:
        ratelimit.record_failure(username=username, request=request)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    ratelimit.clear(username=user.get_username())

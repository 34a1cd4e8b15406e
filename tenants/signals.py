"""Count failed sign-ins; forget them after a success. Keep accounts that brands' rows name."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import ProtectedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from tenants import ratelimit
from tenants.models import AuditEvent, Client, Membership


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    if username:
        ratelimit.record_failure(username=username, request=request)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    ratelimit.clear(username=user.get_username())


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def _keep_accounts_brands_name(sender, instance, **kwargs):
    """Brands' rows (pages, revisions, comments, profiles) name accounts without a foreign key
    (``tenants.clone``), so nothing in the database stops deleting one. An account that has or
    had a role at a brand that still exists is deactivated instead, and its work keeps its
    author."""
    slugs = set(Membership.objects.filter(user=instance).values_list("client__slug", flat=True))
    slugs |= set(AuditEvent.objects.filter(
        action__in=("member.added", "member.role_changed"), detail__user=instance.get_username(),
    ).values_list("client_slug", flat=True))
    brands = sorted(Client.objects.filter(slug__in=slugs).values_list("name", flat=True))
    if brands:
        raise ProtectedError(f"{instance.get_username()} has worked in {', '.join(brands)}: "
                             "deactivate the account instead of deleting it.", set())

"""The studio's sidebar, kept rendered per brand and account.

Wagtail builds the sidebar's menu on every admin page (``{% sidebar_props %}``): a permission
check per menu item, six queries and most of a light page's own time. Here it is kept in the
cache under a digest of everything the menu is made of, as the results pages keep their figures:
the same inputs draw the same menu, so a kept menu is never out of date and nothing has to be
told of a change (a role, a group's permissions, a page or collection grant, a new sandbox
channel shows on the next page). The key holds

- the brand (its schema; the cache prefixes every key with it too) and the account: id, user
  name, first name, e-mail (the avatar), superuser, active, and its Wagtail profile's avatar
  and dismissed hints; the language;
- the account's model permissions in this brand (read for the request already: ``access_admin``);
- one statement's digest of the rest: the account's page and collection grants with the pages'
  and collections' places in their trees (the explorer's start page), the locales, the campaigns
  index ("Import posts") and whether a sandbox channel exists ("Sandbox feed").

A menu item that comes to depend on anything else must add it to ``_digest``. If the cache
cannot be read or written, Wagtail's own menu is built, as without this module.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.core.cache import cache
from django.db import connection
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from wagtail.admin.templatetags import wagtailadmin_tags
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Locale, Page

from campaigns.models import CampaignIndexPage, Channel

logger = logging.getLogger(__name__)

CACHE_SECONDS = 600  # only to let unused menus go: a kept menu is never out of date


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _digest(user) -> str:
    """What the menu reads from the brand's tables besides the account's model permissions, as
    one md5 (one statement)."""
    page, collection = _table(Page), _table(Collection)
    groups = (f"SELECT group_id FROM {_table(user.groups.through)} "  # noqa: S608 - quoted names
              "WHERE user_id = %(user)s")
    sql = (
        "SELECT md5(coalesce(string_agg(part, ' ' ORDER BY part), '')) FROM ("  # noqa: S608
        f"SELECT 'page ' || g.permission_id || ' ' || p.path AS part "
        f"FROM {_table(GroupPagePermission)} g JOIN {page} p ON p.id = g.page_id "
        f"WHERE g.group_id IN ({groups}) "
        f"UNION ALL SELECT 'collection ' || g.permission_id || ' ' || c.path "
        f"FROM {_table(GroupCollectionPermission)} g JOIN {collection} c "
        f"ON c.id = g.collection_id WHERE g.group_id IN ({groups}) "
        f"UNION ALL SELECT 'locale ' || id || ' ' || language_code FROM {_table(Locale)} "
        f"UNION ALL (SELECT 'index ' || p.path FROM {_table(CampaignIndexPage)} i "
        f"JOIN {page} p ON p.id = i.page_ptr_id ORDER BY p.path LIMIT 1) "
        f"UNION ALL (SELECT 'sandbox' FROM {_table(Channel)} WHERE network = 'sandbox' LIMIT 1)"
        ") parts")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        return cursor.fetchone()[0]


def cache_key(request) -> str:
    user = request.user
    profile = getattr(user, "wagtail_userprofile", None)  # read for the request already
    made_of = [
        user.pk, user.get_username(), user.first_name, user.email, user.is_superuser,
        user.is_active, get_language(), sorted(user.get_all_permissions()),
        profile.avatar.name if profile and profile.avatar else "",
        profile.dismissibles if profile else {}, _digest(user),
    ]
    digest = hashlib.sha256(json.dumps(made_of, sort_keys=True, default=str).encode())
    return f"sidebar:{connection.schema_name}:{user.pk}:{digest.hexdigest()}"


def sidebar_props(context):
    """Wagtail's ``{% sidebar_props %}``, kept in the cache under ``cache_key``."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return wagtailadmin_tags.sidebar_props(context)
    key = cache_key(request)
    try:
        kept = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache down: Wagtail's own menu, as without it
        logger.warning("The sidebar cache cannot be read: the menu is built.", exc_info=True)
        return wagtailadmin_tags.sidebar_props(context)
    if kept is not None:
        return mark_safe(kept)  # noqa: S308 - Wagtail's own json_script output, kept
    made = wagtailadmin_tags.sidebar_props(context)
    try:
        cache.set(key, str(made), CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("The sidebar cache cannot be written.", exc_info=True)
    return made


def install() -> None:
    """Make ``{% sidebar_props %}`` in Wagtail's admin templates this one (the templates parsed
    after this: it runs as the admin's hooks load, before its URLs and pages)."""
    wagtailadmin_tags.register.simple_tag(takes_context=True, name="sidebar_props")(
        sidebar_props)

"""Short-lived, unguessable public addresses for a delivery's frozen media.

Instagram and Threads do not take uploads: they fetch each image and video from a public URL
while the post is being made. The brand's media stays private (``tenants.media`` serves it to
members only), so each send gets addresses that work for a few minutes and name nothing anyone
could guess:

- media on object storage (``agency.storage.TenantS3Storage``): a presigned GET URL of the
  bucket itself, valid ``PUBLISHING_MEDIA_LINK_SECONDS``;
- media on the file system: ``/media-link/<token>/`` on the brand's own host, ``token`` a
  ``TimestampSigner`` signature over the brand's schema and the file's name. A token that is
  forged, altered, expired, or shown on another brand's host answers 404 without saying which.

Tracked links (``pull_urls``): a network that fetches a post's media by itself after accepting
the call that makes the post (TikTok's photos) may accept it and lose the answer. Its links are
then made per send, always through the view above (so on the brand's own host, the domain such a
network asks the app to verify, whatever the storage), each a ``MediaPull`` row that the view
marks when it serves the file, and only while the row is unexpired by the database's clock.
``pull_state`` reads a send's links: every one fetched means the network took the call; one
that expired unfetched is closed (deleted, under a row lock, so a fetch racing the decision
either was marked first or answers 404) and nothing can be made from that send any more.
"""

from __future__ import annotations

import mimetypes
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Coalesce, Now
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.http import require_safe

from campaigns.publishing.models import MediaPull
from tenants.links import current_base_url

SALT = "campaigns.publishing.media_links"
DEFAULT_SECONDS = 900  # Meta fetches media while the container is made: minutes, not hours


def lifetime() -> int:
    return int(getattr(settings, "PUBLISHING_MEDIA_LINK_SECONDS", DEFAULT_SECONDS))


def public_url(name: str) -> str:
    """A public address for the stored file ``name`` of the active brand, valid for
    ``lifetime()`` seconds."""
    storage = default_storage
    if hasattr(storage, "signed_url"):  # object storage: the bucket signs it
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return storage.signed_url(name, expire=lifetime(),
                                  parameters={"ResponseContentType": content_type})
    return _view_url({"s": connection.schema_name, "f": name})


def _view_url(named: dict) -> str:
    token = signing.TimestampSigner(salt=SALT).sign_object(named, compress=True)
    return current_base_url() + reverse("publishing_media_link", args=[token])


# What ``pull_state`` says about a send's tracked links.
FETCHED = "fetched"  # every link was fetched: the network took the call
CLOSED = "closed"  # a link expired unfetched, or none exists: nothing can come of this send
OPEN = "open"  # not all fetched yet, none expired: ask again later


def new_send() -> str:
    """A name for one send's links (record it before ``pull_urls``: see ``pull_state``)."""
    return secrets.token_hex(8)


def pull_urls(delivery_id: int, send: str, names: list[str]) -> list[str]:
    """Tracked links to the active brand's stored files ``names`` for the delivery's new send
    ``send``, valid ``lifetime()`` seconds. The delivery's earlier sends' links are closed (a
    send is only made once the one before is settled)."""
    expires = ExpressionWrapper(Now() + timedelta(seconds=lifetime()),
                                output_field=MediaPull._meta.get_field("expires_at"))
    with transaction.atomic():
        MediaPull.objects.filter(delivery_id=delivery_id).delete()
        pulls = [MediaPull.objects.create(delivery_id=delivery_id, send=send, name=name,
                                          expires_at=expires) for name in names]
    return [_view_url({"s": connection.schema_name, "f": pull.name, "p": pull.pk})
            for pull in pulls]


def pull_state(delivery_id: int, send: str) -> str:
    """FETCHED, CLOSED or OPEN for the send's links (module docs), by the database's clock; a
    send found CLOSED has its unfetched links deleted before a late fetch is served. A send
    without links is CLOSED: its links were never made (the send, recorded first, stopped
    before the network was called) or were closed before; nothing can fetch them."""
    expired = ExpressionWrapper(Q(expires_at__lte=Now()), output_field=BooleanField())
    with transaction.atomic():
        pulls = list(MediaPull.objects.select_for_update()
                     .filter(delivery_id=delivery_id, send=send).annotate(expired=expired))
        if not pulls:
            return CLOSED
        if all(p.fetched_at for p in pulls):
            return FETCHED
        closed = [p.pk for p in pulls if not p.fetched_at and p.expired]
        if not closed:
            return OPEN
        MediaPull.objects.filter(pk__in=closed).delete()
        return CLOSED


@require_safe
def media_link(request, token: str):
    """The file a media link names, to anyone holding the link while it is valid."""
    try:
        named = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=lifetime())
    except signing.BadSignature:  # forged, altered or expired: the same answer for each
        raise Http404("No such file.") from None
    if not isinstance(named, dict) or named.get("s") != connection.schema_name:
        raise Http404("No such file.")
    name = str(named.get("f") or "")
    try:
        handle = default_storage.open(name, "rb")
    except (OSError, SuspiciousOperation):
        raise Http404("No such file.") from None
    if named.get("p") is not None and not MediaPull.objects.filter(
            pk=named["p"], name=name, expires_at__gt=Now()).update(
            fetched_at=Coalesce("fetched_at", Now())):
        handle.close()  # a tracked link served only once marked, and only while open
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response

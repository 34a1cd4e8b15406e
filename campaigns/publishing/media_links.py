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
"""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.http import require_safe

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
    token = signing.TimestampSigner(salt=SALT).sign_object(
        {"s": connection.schema_name, "f": name}, compress=True)
    return current_base_url() + reverse("publishing_media_link", args=[token])


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
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response

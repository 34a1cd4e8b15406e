"""Media on S3-compatible object storage, one key prefix per brand schema.

The S3 counterpart of django-tenants' ``TenantFileSystemStorage``: a file saved while a brand's
schema is active is stored under ``[AWS_LOCATION/]<schema>/<name>``, and names are resolved in the
active schema only, so one brand never opens, lists or overwrites another brand's keys.

``url()`` returns the brand host's own ``/media/<schema>/<name>`` path, exactly as on the file
system: ``tenants.media.media_serve`` checks the membership there and answers with a redirect to
a short-lived signed URL (``signed_url``). The bucket itself stays private.
"""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.db import connection
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class TenantS3Storage(S3Storage):
    # Two uploads named logo.png must not replace one another (S3Storage overwrites by default).
    file_overwrite = False
    default_acl = None  # private objects; reads go through signed URLs
    querystring_auth = True

    @property
    def location(self) -> str:
        # Raises AttributeError until S3Storage.__init__ has set the root from AWS_LOCATION.
        root = self._root_location
        schema = connection.schema_name
        return posixpath.join(root, schema) if root else schema

    @location.setter
    def location(self, value: str) -> None:
        self._root_location = (value or "").strip("/")

    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        """The app's own URL on the brand's host; the view there signs the redirect."""
        return f"{settings.MEDIA_URL}{connection.schema_name}/{filepath_to_uri(clean_name(name))}"

    def signed_url(self, name: str, *, expire: int | None = None,
                   parameters: dict | None = None) -> str:
        """A presigned GET URL for ``name`` in the active schema, valid ``expire`` seconds."""
        return super().url(name, parameters=parameters, expire=expire)


def schema_media_delete(schema: str) -> int:
    """Delete every object under a brand's prefix (its schema is being removed). Returns the
    number of objects deleted."""
    from django.core.files.storage import storages

    storage = storages["default"]
    root = storage._root_location
    prefix = (posixpath.join(root, schema) if root else schema) + "/"
    deleted = 0
    for batch in storage.bucket.objects.filter(Prefix=prefix).pages():
        keys = [{"Key": item.key} for item in batch]
        if keys:
            storage.bucket.delete_objects(Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted

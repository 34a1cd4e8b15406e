"""Files on a brand's host: only that brand's folder, only for its members.

Uploads land in MEDIA_ROOT/<schema>/ (django-tenants' TenantFileSystemStorage), or under the
<schema>/ prefix of an S3-compatible bucket (agency.storage.TenantS3Storage): then a member gets a
redirect to a short-lived signed URL. A path for another brand's folder is a 404 here, and so is
any file for someone who is not a member of this brand.
"""

from __future__ import annotations

import mimetypes
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import reverse
from wagtail.documents.views.serve import serve as wagtail_document_serve


def is_member_here(user) -> bool:
    """A member of the active client (counted by the client-scoped permission backend)."""
    return user.is_authenticated and user.has_perm("wagtailadmin.access_admin")


def members_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
        if not is_member_here(request.user):
            raise Http404("No such file.")
        return view(request, *args, **kwargs)

    return wrapper


def _is_inline(content_type: str) -> bool:
    return content_type != "image/svg+xml" and content_type.startswith(("image/", "video/"))


def serve_stored(storage, name: str):
    """A stored file, through its storage backend: on object storage a redirect to a
    short-lived signed URL, otherwise the bytes the backend opens. A name that climbs out of
    the storage's folder, or names nothing, is a 404."""
    if hasattr(storage, "signed_url"):
        return redirect_to_signed_url(storage, name)
    try:
        handle = storage.open(name, "rb")
    except (OSError, SuspiciousOperation):  # missing, a folder, or outside the storage
        raise Http404("No such file.") from None
    filename = name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if not _is_inline(content_type):
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def redirect_to_signed_url(storage, relative: str) -> HttpResponseRedirect:
    """Object storage: the bytes come from the bucket, on a URL valid for a few minutes."""
    filename = relative.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    parameters = {"ResponseContentType": content_type}
    if not _is_inline(content_type):
        parameters["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    try:
        url = storage.signed_url(relative, parameters=parameters)
    except SuspiciousOperation:  # a path that climbs out of the brand's prefix
        raise Http404("No such file.") from None
    response = HttpResponseRedirect(url)
    # The signed URL expires: the redirect may be reused only briefly, and only by this browser.
    response["Cache-Control"] = "private, max-age=60"
    return response


@members_only
def media_serve(request, path: str):
    schema, _, rest = path.partition("/")
    if schema != connection.schema_name or not rest:
        raise Http404("No such file.")
    return serve_stored(default_storage, rest)


document_serve = members_only(wagtail_document_serve)

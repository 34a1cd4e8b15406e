"""Files on a brand's host: only that brand's folder, only for its members.

Uploads land in MEDIA_ROOT/<schema>/ (django-tenants' TenantFileSystemStorage), or under the
<schema>/ prefix of an S3-compatible bucket (agency.storage.TenantS3Storage): then a member gets a
redirect to a short-lived signed URL. A path for another brand's folder is a 404 here, and so is
any file for someone who is not a member of this brand.
"""

from __future__ import annotations

import mimetypes
from functools import wraps
from pathlib import Path

from django.conf import settings
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


def serve_file(root: Path, relative: str) -> FileResponse:
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    response = FileResponse(target.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if not _is_inline(content_type):
        response["Content-Disposition"] = f'attachment; filename="{target.name}"'
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
    if hasattr(default_storage, "signed_url"):
        return redirect_to_signed_url(default_storage, rest)
    return serve_file(Path(settings.MEDIA_ROOT) / schema, rest)


document_serve = members_only(wagtail_document_serve)

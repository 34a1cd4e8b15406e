"""Files on a brand's host: only that brand's folder, only for its members.

Uploads land in MEDIA_ROOT/<schema>/ (django-tenants' TenantFileSystemStorage). A path for another
brand's folder is a 404 here, and so is any file for someone who is not a member of this brand.
"""

from __future__ import annotations

import mimetypes
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import FileResponse, Http404
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


def serve_file(root: Path, relative: str) -> FileResponse:
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    response = FileResponse(target.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if content_type == "image/svg+xml" or not content_type.startswith(("image/", "video/")):
        response["Content-Disposition"] = f'attachment; filename="{target.name}"'
    return response


@members_only
def media_serve(request, path: str):
    schema, _, rest = path.partition("/")
    if schema != connection.schema_name or not rest:
        raise Http404("No such file.")
    return serve_file(Path(settings.MEDIA_ROOT) / schema, rest)


document_serve = members_only(wagtail_document_serve)

"""Caps on request bodies, per route, enforced before a byte of the body is read.

A request whose ``Content-Length`` is over its route's cap is answered 413 at once (problem
details on ``/api/``, a page elsewhere), so a client announcing 60 MB cannot make a web process
read 60 MB first. A body sent without a length (``Transfer-Encoding: chunked``) is refused with
411: Django reads a WSGI request's body only up to its ``Content-Length``, so such a body would
otherwise arrive empty, silently. The proxy in front should refuse the same sizes
(docs/deploy.md), so that it does not buffer what the application would refuse."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import render

from agency.problems import problem_response

MB = 1024 * 1024
# Room around an uploaded file: the multipart envelope, title, alt text, tags, CSRF token.
UPLOAD_OVERHEAD = 1 * MB


@dataclass(frozen=True)
class BodyLimit:
    bytes: int
    what: str  # what the route takes, for the message
    fix: str


def body_limit(path: str) -> BodyLimit:
    """The largest body a request to ``path`` may carry."""
    image = settings.WAGTAILIMAGES_MAX_UPLOAD_SIZE
    if path.startswith(("/api/v1/media/", "/admin/images/", "/admin/campaigns/post-image/")):
        return BodyLimit(image + UPLOAD_OVERHEAD, f"an image of up to {_size(image)}",
                         "Resize or compress the image and try again.")
    if path.startswith(("/api/v1/videos/", "/admin/documents/")):
        # Posts' videos are documents: the admin's document library uploads them too.
        return BodyLimit(settings.VIDEO_MAX_MB * MB + UPLOAD_OVERHEAD,
                         f"a video or document of up to {settings.VIDEO_MAX_MB} MB",
                         "Shorten or compress the video and try again.")
    if path.startswith("/api/"):
        size = settings.API_BODY_MAX_KB * 1024
        return BodyLimit(size, f"JSON of up to {_size(size)}",
                         "Send less in one request (e.g. fewer posts).")
    size = settings.REQUEST_BODY_MAX_MB * MB
    return BodyLimit(size, f"forms and files of up to {_size(size)}",
                     "Attach a smaller file and try again.")


class RequestBodyLimitMiddleware:
    """Refuses, before reading it, a body larger than its route takes (see ``body_limit``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        announced = request.META.get("CONTENT_LENGTH") or ""
        if not announced:
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                return _refuse(request, 411, "length-required", "Length required", (
                    "Send the request with a Content-Length header: bodies sent in chunks "
                    "without a length are not accepted."))
            return self.get_response(request)
        try:
            length = int(announced)
        except ValueError:
            return _refuse(request, 400, "invalid", "Your request needs fixing",
                           f"Content-Length must be a number of bytes, not {announced[:20]!r}.")
        limit = body_limit(request.path)
        if length > limit.bytes:
            return _refuse(request, 413, "payload-too-large", "Content too large", (
                f"This request's body is {_size(length)}; {request.path} takes {limit.what} "
                f"(at most {_size(limit.bytes)} in all). {limit.fix}"))
        return self.get_response(request)


def _refuse(request, status: int, code: str, title: str, detail: str):
    if request.path.startswith("/api/"):
        response = problem_response(request, status, code, detail, title=title)
    else:
        response = render(request, "body_refused.html", {"title": title, "detail": detail},
                          status=status)
    return response


def _size(count: int) -> str:
    if count >= MB:
        return f"{count / MB:,.1f} MB".replace(".0 MB", " MB")
    if count >= 1024:
        return f"{count / 1024:,.0f} KB"
    return f"{count} bytes"

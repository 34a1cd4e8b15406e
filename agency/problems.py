"""Problem details (RFC 9457, ``application/problem+json``): the one shape of every API error,
whoever answers it: DRF's views (``agency.api.errors``), host routing (``tenants.middleware``),
body caps (``agency.limits``) and Django's 404/500 handlers for ``/api/`` addresses.

``type`` is a relative URI naming the kind of problem (``/api/v1/problems/<code>``); what each
code means is served at that address."""

from __future__ import annotations

from django.http import JsonResponse

PROBLEM_TYPES = {
    "invalid": "Your request has fields that need fixing: each entry of `errors` names one.",
    "unauthenticated": "No valid API key came with the request.",
    "forbidden": "The key (or the person it acts for) may not do this.",
    "not-found": "Nothing with that address exists for this brand.",
    "method-not-allowed": "This address does not take that method.",
    "not-acceptable": "The API answers in JSON only.",
    "unsupported-media-type": "Send JSON (or multipart form data for uploads).",
    "gone": "The brand is archived: its host answers nothing until an agency admin restores it.",
    "conflict": "The request clashes with the current state (e.g. the campaign is in review).",
    "precondition-required": "Updates need `If-Match` with the ETag you last read.",
    "precondition-failed": "Someone changed the resource since you read it: read it again.",
    "idempotency-key-reused": "The Idempotency-Key was used before with a different request.",
    "idempotency-in-progress": "The first request with this Idempotency-Key is still running.",
    "idempotency-unreadable": "The first response to this Idempotency-Key can no longer be read.",
    "throttled": "Too many requests for this key: wait for `Retry-After` seconds.",
    "payload-too-large": "The body is larger than this address takes (`detail` says how large).",
    "length-required": "Send the body with a Content-Length header, not in chunks.",
    "server-error": "Something failed on our side; nothing was changed. Try again.",
}

TITLES = {
    400: "Your request needs fixing", 401: "Authentication needed", 403: "Not allowed",
    404: "Not found", 405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    410: "Gone",
    412: "Precondition failed", 415: "Unsupported media type", 422: "Unprocessable request",
    428: "Precondition required", 429: "Too many requests", 500: "Server error",
}


def problem_body(request, status: int, code: str, detail: str, *, title: str = "") -> dict:
    """The body of a problem detail about ``request``."""
    body = {"type": f"/api/v1/problems/{code}", "title": title or TITLES.get(status, "Error"),
            "status": status, "detail": detail,
            "instance": request.path if request is not None else None}
    if getattr(request, "request_id", None):
        body["request_id"] = request.request_id
    return body


def problem_response(request, status: int, code: str, detail: str, *,
                     title: str = "") -> JsonResponse:
    """A problem detail from outside DRF (URL resolution, host routing, Django's handlers)."""
    return JsonResponse(problem_body(request, status, code, detail, title=title), status=status,
                        content_type="application/problem+json")

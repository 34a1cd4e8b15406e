"""Every API error in one shape: RFC 9457 problem details (``application/problem+json``).

``{"type", "title", "status", "detail", "instance", "errors": [{"field", "detail"}]}``: ``field``
is the path of the input at fault (``posts[0].copy``), ``detail`` says what is wrong and how to
fix it. ``type`` is a relative URI naming the kind of problem (``/api/v1/problems/<code>``)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

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


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = PROBLEM_TYPES["conflict"]
    default_code = "conflict"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = ("Send the resource's ETag in If-Match (read it first with GET), so a change "
                      "made meanwhile by someone else is not overwritten.")
    default_code = "precondition-required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = ("The resource changed since you read it (its ETag is different now). Read "
                      "it again, apply your change to the fresh copy and send it with the new "
                      "ETag.")
    default_code = "precondition-failed"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = ("This Idempotency-Key was first used with a different request (method, "
                      "address or body). Use a new key for a new request.")
    default_code = "idempotency-key-reused"


class IdempotencyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = ("The first request with this Idempotency-Key is still being processed. "
                      "Retry in a moment to get its response.")
    default_code = "idempotency-in-progress"


class IdempotencyUnreadable(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = ("The first response to this Idempotency-Key can no longer be read (the "
                      "server's encryption keys changed). Check whether the first request took "
                      "effect, then use a new key.")
    default_code = "idempotency-unreadable"


_CODES = {
    400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 406: "not-acceptable", 410: "gone", 415: "unsupported-media-type",
    429: "throttled",
}
TITLES = {
    400: "Your request needs fixing", 401: "Authentication needed", 403: "Not allowed",
    404: "Not found", 405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    410: "Gone",
    412: "Precondition failed", 415: "Unsupported media type", 422: "Unprocessable request",
    428: "Precondition required", 429: "Too many requests", 500: "Server error",
}


def field_errors(detail, path: str = "") -> list[dict]:
    """DRF's nested error detail flattened to ``[{"field": "posts[0].copy", "detail": ...}]``."""
    found = []
    if isinstance(detail, dict):
        for name, value in detail.items():
            if name in ("non_field_errors", "__all__"):
                found += field_errors(value, path)
            elif isinstance(name, int) or str(name).isdigit():  # an item of a nested list
                found += field_errors(value, f"{path}[{name}]")
            else:
                found += field_errors(value, f"{path}.{name}" if path else str(name))
    elif isinstance(detail, list):
        if detail and all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            found += [{"field": path or None, "detail": str(item)} for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    found += field_errors(item, f"{path}[{index}]")
    else:
        found.append({"field": path or None, "detail": str(detail)})
    return found


def problem(request, status_code: int, detail: str, *, code: str | None = None,
            errors: list[dict] | None = None, headers: dict | None = None) -> Response:
    code = code or _CODES.get(status_code, "server-error" if status_code >= 500 else "invalid")
    body = {"type": f"/api/v1/problems/{code}", "title": TITLES.get(status_code, "Error"),
            "status": status_code, "detail": detail,
            "instance": request.path if request is not None else None}
    if getattr(request, "request_id", None):
        body["request_id"] = request.request_id
    if errors is not None:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers,
                    content_type="application/problem+json")


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing with that address exists for this brand: check the id "
                                  "(ids of another brand are not found here).")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handling (logged, nothing half-written: atomic)
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait) + (0 if float(exc.wait).is_integer() else 1))
    code = getattr(exc, "default_code", None)
    code = code if code in PROBLEM_TYPES else None
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        fields = [e for e in errors if e["field"]]
        summary = ("; ".join(f"{e['field']}: {e['detail']}" for e in fields[:3])
                   if fields else "; ".join(e["detail"] for e in errors[:3]))
        return problem(request, exc.status_code, summary or "The request is not valid.",
                       code="invalid", errors=errors, headers=headers)
    if isinstance(exc, exceptions.NotAuthenticated):
        exc.detail = ("Send a brand API key as “Authorization: Bearer agk_...”. Account managers "
                      "create keys in the brand's admin (Settings → API keys).")
    if isinstance(exc, exceptions.Throttled):
        exc.detail = (f"Too many requests for this key. Wait {headers.get('Retry-After', 'a few')}"
                      " seconds (see Retry-After) and try again.")
    detail = exc.detail if isinstance(exc.detail, str) else "; ".join(
        e["detail"] for e in field_errors(exc.detail))
    return problem(request, exc.status_code, str(detail), code=code, headers=headers)

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

from agency.problems import PROBLEM_TYPES, problem_body

logger = logging.getLogger(__name__)



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
    body = problem_body(request, status_code, code, detail)
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

"""What every endpoint shares: cursor pages, explicit time zones, ETags, idempotent POSTs."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from agency import crypto
from agency.api import errors
from agency.api.models import ApiKey, IdempotentRequest

IDEMPOTENCY_TTL = timedelta(hours=24)
REPLAYED_HEADERS = ("Location", "ETag")


class Cursor(CursorPagination):
    """Opaque cursors: stable under inserts, and as fast on page 1,000 as on page 1."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        # A view without an ordering filter names its fixed order in ``ordering``.
        if not any(hasattr(backend, "get_ordering") for backend in view.filter_backends):
            ordering = getattr(view, "ordering", None) or self.ordering
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with its offset, in and out (out in UTC). A time without one is refused, not
    guessed."""

    default_error_messages = {
        "naive": "Give the time with its time zone offset, e.g. 2026-12-01T09:00:00+00:00 or "
                 "2026-12-01T09:00:00Z.",
        "invalid": "Give an ISO 8601 time with its offset, e.g. 2026-12-01T09:00:00+01:00.",
    }

    def __init__(self, *args, **kwargs):
        # Out in UTC ("Z"), whatever zone the brand's request runs in: one form for every
        # integrator. In with any offset.
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        value = super().to_internal_value(value)
        # Stored and compared in UTC: PostgreSQL takes offsets up to ±15:59 only.
        return value.astimezone(datetime.UTC) if isinstance(value, datetime.datetime) else value


# Model serializers use it for every DateTimeField of the API.
serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = AwareDateTimeField


# Ids in addresses: beyond int4 they are no id of ours, so a 404, not a database error.
ID = r"[0-9]{1,9}"


def query_time(request, name: str):
    """A time from the query string, read as the API reads every time (offset required, UTC)."""
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return AwareDateTimeField().run_validation(value)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None


def query_id(request, name: str, *, hint: str = "") -> int | None:
    """An object id from the query string (ids beyond int4 are no id of ours)."""
    value = request.query_params.get(name)
    if not value:
        return None
    if not (value.isdigit() and len(value) <= 9):
        raise serializers.ValidationError({name: f"Give a {name} id{hint}."})
    return int(value)


def query_text(request, name: str, *, max_length: int = 100) -> str:
    value = request.query_params.get(name, "")
    if "\x00" in value or len(value) > max_length:
        raise serializers.ValidationError({name: f"Use plain text of at most {max_length} "
                                                 "characters."})
    return value


def etag_of(*parts) -> str:
    return '"' + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32] + '"'


def check_if_match(request, current: str) -> None:
    """Refuse an update made without, or against a stale, ETag."""
    sent = request.headers.get("If-Match")
    if not sent:
        raise errors.PreconditionRequired()
    offered = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if "*" not in offered and current not in offered:
        raise errors.PreconditionFailed()


def _body_hash(request) -> str:
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n"
                          + request.body).hexdigest()


_last_purge = [0.0]


def _purge_expired() -> None:
    """Forget responses older than the TTL: once a minute per process, not on every POST."""
    now = time.monotonic()
    if now - _last_purge[0] >= 60:
        _last_purge[0] = now
        IdempotentRequest.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()


class ApiViewSet(GenericViewSet):
    """A viewset whose POSTs honour ``Idempotency-Key``: a repeat with the same key and body
    gets the first response again (with ``Idempotent-Replayed: true``); a different body with
    the same key is refused (422); a repeat while the first still runs gets 409."""

    pagination_class = Cursor
    _idempotent: IdempotentRequest | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or not isinstance(request.auth, ApiKey):
            return
        if len(key) > 255:
            raise errors.exceptions.ValidationError(
                {"Idempotency-Key": "Keep the Idempotency-Key within 255 characters (a UUID is "
                                    "usual)."})
        body_hash = _body_hash(request)
        _purge_expired()
        try:
            with transaction.atomic():
                self._idempotent = IdempotentRequest.objects.create(
                    api_key=request.auth, key=key, method=request.method,
                    path=request.path[:500], body_hash=body_hash)
            return
        except IntegrityError:
            pass
        first = IdempotentRequest.objects.filter(api_key=request.auth, key=key).first()
        if first is None or first.body_hash != body_hash:
            raise errors.IdempotencyKeyReused()
        if first.status_code is None:
            raise errors.IdempotencyInProgress()
        raise _Replay(first)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            # A crash mid-request: forget the key, so a retry runs again instead of waiting.
            if self._idempotent is not None:
                IdempotentRequest.objects.filter(pk=self._idempotent.pk).delete()
                self._idempotent = None
            raise

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            record = exc.record
            try:
                data = json.loads(crypto.decrypt(record.response_encrypted))
            except ValueError:  # encrypted with a key no longer configured
                return super().handle_exception(errors.IdempotencyUnreadable())
            response = Response(data, status=record.status_code,
                                headers={**record.headers, "Idempotent-Replayed": "true"})
            if record.status_code >= 400:
                response.content_type = "application/problem+json"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotent = self._idempotent, None
        if record is not None:
            if response.status_code >= 500 or response.status_code == 429:
                IdempotentRequest.objects.filter(pk=record.pk).delete()  # safe to try again
            else:
                IdempotentRequest.objects.filter(pk=record.pk).update(
                    status_code=response.status_code,
                    response_encrypted=crypto.encrypt(
                        json.dumps(getattr(response, "data", None), default=str)),
                    headers={h: response[h] for h in REPLAYED_HEADERS if h in response})
        return response


class _Replay(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, record):
        self.record = record

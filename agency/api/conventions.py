"""What every endpoint shares: cursor pages, explicit time zones, ETags, idempotent POSTs."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils import html
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

    def get_page_size(self, request):
        value = _sent(request, self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise serializers.ValidationError({self.page_size_query_param: (
                f"Give a whole number from 1 to {self.max_page_size} (default "
                f"{self.page_size}).")})
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size,
                                           default=self.page_size)
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = ("The `next` or `previous` address of the page you "
                                            "read holds it; an unknown cursor answers 404.")
        return parameters

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


# --- Input read as the document types it ----------------------------------------------------
# DRF turns a JSON number into text, "7" into a number and "yes" into true; the document says
# string, integer and boolean, and generated clients rely on it. These fields take exactly that.


class Text(serializers.CharField):
    """A JSON string (a number or true is refused, not turned into text). In a form, a field
    sent empty is checked as empty (DRF would take it as left out)."""

    default_error_messages = {"not_text": "Give text (a JSON string), not {kind}."}

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", kind=_kind(data))
        return super().to_internal_value(data)


class Email(Text, serializers.EmailField):
    pass


class Url(Text, serializers.URLField):
    pass


class Integer(serializers.IntegerField):
    """A JSON integer ("7", 7.0 and true are refused)."""

    default_error_messages = {"not_integer": "Give a whole number, not {kind}."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_integer", kind=_kind(data))
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """A JSON true or false ("yes", 1 and "true" are refused)."""

    default_error_messages = {"not_boolean": "Give true or false, not {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_boolean", kind=_kind(data))
        return data


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "an object"


# Ids in addresses: beyond int4 they are no id of ours, so a 404, not a database error.
ID = r"[0-9]{1,9}"
MAX_ID = 999_999_999
# What the document says of every id, in an address or a query: a positive number of ours.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# Query text: what ``query_text`` takes (NUL is no character of any text we keep).
NO_NUL = "^[^\\u0000]*$"
# Text that may not be blank: something besides spaces (the server trims them).
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


# The ETag last read, for updates: 428 without it, 412 when the resource changed since.
IF_MATCH = OpenApiParameter(
    "If-Match", {"type": "string", "minLength": 1}, OpenApiParameter.HEADER, required=True,
    description="The ETag from your last read (412 if the resource changed since; 428 without "
                "it).")


def id_parameter(name: str, description: str) -> OpenApiParameter:
    """A query parameter naming an object by its id, as ``query_id`` reads it."""
    return OpenApiParameter(name, ID_SCHEMA, description=description)


def text_parameter(name: str, description: str, *, max_length: int = 100) -> OpenApiParameter:
    """A free-text query parameter, as ``query_text`` reads it."""
    return OpenApiParameter(name, {"type": "string", "maxLength": max_length,
                                   "pattern": NO_NUL}, description=description)


def _sent(request, name: str) -> str | None:
    """The parameter as sent (None when left out); sent twice, it is refused, not guessed."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise serializers.ValidationError({name: f"Send {name} once."})
    return values[0] if values else None


def query_time(request, name: str):
    """A time from the query string, read as the API reads every time (offset required, UTC).
    Sent empty, it is refused: leave it out to mean no bound."""
    value = _sent(request, name)
    if value is None:
        return None
    try:
        return AwareDateTimeField().run_validation(value)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None


def query_id(request, name: str, *, hint: str = "") -> int | None:
    """An object id from the query string (ids beyond int4 are no id of ours)."""
    value = _sent(request, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID):
        raise serializers.ValidationError({name: f"Give a {name} id{hint} (a whole number "
                                                 f"from 1 to {MAX_ID})."})
    return int(value)


def query_text(request, name: str, *, max_length: int = 100) -> str:
    value = _sent(request, name) or ""
    if "\x00" in value or len(value) > max_length:
        raise serializers.ValidationError({name: f"Use plain text of at most {max_length} "
                                                 "characters."})
    return value


def query_choice(request, name: str, choices, *, message: str = "") -> str | None:
    """One of ``choices`` from the query string, or None when left out (sent empty, it is
    refused like any other value that is not a choice, with ``message`` if given)."""
    value = _sent(request, name)
    if value is not None and value not in choices:
        raise serializers.ValidationError(
            {name: message or f"Choose one of {', '.join(choices)}."})
    return value


class StrictOrdering(OrderingFilter):
    """``ordering`` as the document lists it: one of the fields, ascending or with ``-``
    descending. Anything else is refused (DRF would ignore it and use the default)."""

    def get_ordering(self, request, queryset, view):
        value = _sent(request, self.ordering_param)
        if value is None:
            return self.get_default_ordering(view)
        if value not in self.choices(view):
            raise serializers.ValidationError({self.ordering_param: (
                f"Order by one of {', '.join(self.choices(view))}.")})
        return [value]

    @staticmethod
    def choices(view) -> list[str]:
        return [f"{sign}{field}" for field in view.ordering_fields for sign in ("", "-")]

    def get_schema_operation_parameters(self, view):
        return [{"name": self.ordering_param, "required": False, "in": "query",
                 "description": "The order of the list (a leading - reverses it).",
                 "schema": {"type": "string", "enum": self.choices(view)}}]


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

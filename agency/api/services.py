"""Creating, revoking and checking API keys."""

from __future__ import annotations

import functools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from agency.api.models import ApiKey, Scope, key_generate, key_hash
from tenants.models import Membership

# How stale ``last_used_at`` may get before a request writes it again (one write a minute at
# most, not one per request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_create(*, name: str, scopes: list[str], user) -> tuple[ApiKey, str]:
    """A new key for the active schema (a brand's, or the agency's on the portal). Returns the
    key and its secret value, which is shown once and stored only as a hash."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the key after what will use it, e.g. "
                                       "“Reporting dashboard”."})
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope {', '.join(unknown)}; choose from "
                                         f"{', '.join(Scope.values)}."})
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope (read, write, approve)."})
    public_id, raw = key_generate()
    key = ApiKey.objects.create(name=name[:80], public_id=public_id, key_hash=key_hash(raw),
                                scopes=[s for s in Scope.values if s in scopes], created_by=user)
    return key, raw


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_find(raw: str, *, brand=None) -> ApiKey | None:
    """The active key whose secret is ``raw``, with its creator, in the active schema. With
    ``brand`` (the active brand's ``Client``), ``key.creator_is_member`` says whether its creator
    still belongs to it, read in the same query (every role of a brand may use its admin and
    API); a brand archived since is nobody's."""
    with connection.cursor() as cursor:
        cursor.execute(_find_sql(), [brand.pk if brand else None, key_hash(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    key_fields, user_fields = _find_fields()
    key = _from_row(ApiKey, key_fields, row[:len(key_fields)])
    key.created_by = _from_row(get_user_model(), user_fields, row[len(key_fields):-1])
    key.creator_is_member = bool(row[-1]) and brand is not None and not brand.archived_at
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# Every API request looks its key up: the statement is written once per process, not built and
# compiled by the ORM each time (that took two thirds of the lookup's 1.3 ms). It reads what
# ``ApiKey.objects.active().select_related("created_by")`` would, plus the creator's membership.


@functools.cache
def _find_fields():
    return ApiKey._meta.concrete_fields, get_user_model()._meta.concrete_fields


@functools.cache
def _find_sql() -> str:
    q = connection.ops.quote_name
    key_fields, user_fields = _find_fields()
    member = Membership._meta
    columns = ([f"k.{q(f.column)}" for f in key_fields]
               + [f"u.{q(f.column)}" for f in user_fields])
    # Identifiers from the models' metadata, quoted; the key and brand are parameters.
    return (
        f"SELECT {', '.join(columns)},"  # noqa: S608
        f" EXISTS (SELECT FROM {q(member.db_table)} m"
        f" WHERE m.{q(member.get_field('user').column)} = k.{q('created_by_id')}"
        f" AND m.{q(member.get_field('client').column)} = %s)"
        f" FROM {q(ApiKey._meta.db_table)} k"
        f" JOIN {q(get_user_model()._meta.db_table)} u"
        f" ON u.{q(get_user_model()._meta.pk.column)} = k.{q('created_by_id')}"
        f" WHERE k.{q('key_hash')} = %s AND k.{q('revoked_at')} IS NULL")


def _from_row(model, fields, values):
    """An instance of ``model`` from a row of ``fields``' columns, converted as the ORM would."""
    values = list(values)
    for index, field in enumerate(fields):
        for convert in field.get_db_converters(connection):
            values[index] = convert(values[index], field, connection)
    return model.from_db(connection.alias, [f.attname for f in fields], values)

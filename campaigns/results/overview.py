"""The agency portal's cross-brand results overview: per brand, posts published, interactions,
engagement rate, the change in followers and the top post over a period.

Read from what the collection stores (``PostResult``, ``FollowerCount``) in every brand's schema
with ONE statement: a branch per brand naming its schema's tables (``UNION ALL``), so 200 brands
cost one round trip and no ``search_path`` switch. The figures mean what the brand's Results page
says: interactions per 100 followers each post's channel had when last counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from psycopg import sql

from campaigns.results.selectors import rate
from tenants.models import Client

_BRANCH = """(WITH p AS (
    SELECT channel_id, interactions, text, channel_name, campaign_title, remote_url,
           published_at
      FROM {posts} WHERE published_at >= %s AND published_at < %s),
  latest AS (SELECT DISTINCT ON (channel_id) channel_id, followers FROM {followers}
              ORDER BY channel_id, day DESC),
  moved AS (SELECT (array_agg(followers ORDER BY day DESC))[1]
                   - (array_agg(followers ORDER BY day))[1] AS change
              FROM {followers} WHERE day >= %s AND day <= %s GROUP BY channel_id)
SELECT %s::bigint AS client_id,
       (SELECT count(*) FROM p) AS posts,
       (SELECT coalesce(sum(interactions), 0) FROM p) AS interactions,
       (SELECT coalesce(sum(latest.followers), 0) FROM p JOIN latest USING (channel_id))
         AS reach,
       (SELECT sum(change) FROM moved) AS followers_change,
       (SELECT row_to_json(top) FROM (
          SELECT text, interactions, channel_name, campaign_title, remote_url, published_at
            FROM p ORDER BY interactions DESC, published_at DESC LIMIT 1) top) AS top_post)"""


@dataclass
class BrandFigures:
    client: Client
    posts: int
    interactions: int
    engagement_rate: float | None
    followers_change: int | None  # last minus first count in the period; None: no count
    top_post: dict | None


def overview(clients, *, days: int, now: datetime | None = None) -> list[BrandFigures]:
    """Each of ``clients``' figures over the last ``days`` days, in one statement."""
    clients = list(clients)
    if not clients:
        return []
    now = now or timezone.now()
    since = now - timedelta(days=days)
    branches, params = [], []
    for client in clients:
        branches.append(sql.SQL(_BRANCH).format(
            posts=sql.Identifier(client.schema_name, "results_postresult"),
            followers=sql.Identifier(client.schema_name, "results_followercount")))
        params += [since, now, since.date(), now.date(), client.pk]
    statement = sql.SQL(" UNION ALL ").join(branches)
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection), params)
        rows = {row[0]: row for row in cursor.fetchall()}
    found = []
    for client in clients:
        _, posts, interactions, reach, change, top = rows[client.pk]
        found.append(BrandFigures(client=client, posts=posts, interactions=int(interactions),
                                  engagement_rate=rate(int(interactions), int(reach)),
                                  followers_change=None if change is None else int(change),
                                  top_post=_top(top)))
    return found


def _top(row: dict | None) -> dict | None:
    if row is not None and row.get("published_at"):
        row["published_at"] = datetime.fromisoformat(row["published_at"])
    return row

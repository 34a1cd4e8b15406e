"""One small client for Meta's Graph APIs (Facebook Pages, Instagram, Threads), over the
outbound guard.

Why not the ``facebook-business`` SDK: it is built for the Marketing API (ads objects), does not
know Threads (graph.threads.net), keeps its API object and base address in process-wide class
state (``FacebookAdsApi.set_default_api``, ``FacebookSession.GRAPH``), and opens its own
``requests`` session. Our three networks use a handful of plain Graph calls; one client through
``agency.outbound`` gives them the send timeout, the checked addresses, no redirects and capped
answers, and one reading of Graph's errors.

Graph's errors are ``{"error": {"message", "type", "code", "error_subcode", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}``. Read here as:

- token refused (code 190 or 102, or the session subcodes 458-467/492): ``NeedsReconnect``;
- throttled (codes 4, 17, 32, 613, 80001-80014, the content publishing limit 9/2207042):
  ``Transient`` with the wait from ``Retry-After`` or ``X-Business-Use-Case-Usage``'s
  ``estimated_time_to_regain_access`` (minutes), else ``THROTTLE_WAIT``;
- ``is_transient``, codes 1 and 2, or HTTP 5xx: ``Transient`` before anything could be posted,
  ``Unknown`` after a call that publishes;
- anything else: ``Permanent`` with Meta's own words.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import requests

from agency import outbound
from campaigns.publishing.adapters import (
    Adapter,
    AdapterError,
    Incoming,
    NeedsReconnect,
    NotificationPage,
    Outgoing,
    Permanent,
    Published,
    Transient,
    Unknown,
)

log = logging.getLogger(__name__)

USER_AGENT = "agency-platform-publisher/1 (graph)"
RECONNECT_CODES = {190, 102}
RECONNECT_SUBCODES = {458, 459, 460, 463, 464, 467, 492}
THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
PUBLISHING_LIMIT_SUBCODE = 2207042
TRANSIENT_CODES = {1, 2}
# The network could not fetch the media from our signed link. The link is ours and new: when
# this happens our media server was down for a moment (seen in the chaos run during a database
# restart), so it is worth another try; the engine's attempt limit bounds the tries.
MEDIA_FETCH_SUBCODE = 2207052
MISSING_ALIASES_CODE = 803  # "Some of the aliases you requested do not exist: a,b"
THROTTLE_WAIT = 600.0  # seconds: usage is counted over a rolling hour; try again in a while


def _seconds(value) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def usage_wait(headers) -> float | None:
    """Seconds Meta asks us to wait: ``Retry-After``, or the longest
    ``estimated_time_to_regain_access`` (minutes) in ``X-Business-Use-Case-Usage``."""
    seconds = _seconds(headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    raw = headers.get("X-Business-Use-Case-Usage")
    if raw:
        try:
            usage = json.loads(raw)
            minutes = [_seconds(entry.get("estimated_time_to_regain_access"))
                       for entries in usage.values() for entry in entries]
            minutes = [m for m in minutes if m is not None]
            if minutes and max(minutes) > 0:
                return max(minutes) * 60
        except (ValueError, AttributeError, TypeError):
            pass
    return None


def app_usage(headers) -> int:
    """The highest percentage in ``X-App-Usage`` (call count, CPU, time), 0 if not sent."""
    raw = headers.get("X-App-Usage")
    try:
        usage = json.loads(raw) if raw else {}
        return int(max((float(v) for v in usage.values()), default=0))
    except (ValueError, AttributeError, TypeError):
        return 0


def parse_time(value: str | None) -> datetime | None:
    """Graph's times: ``2026-12-03T12:00:00+0000`` (or ISO 8601 with a colon or ``Z``)."""
    if not value:
        return None
    for form in ("%Y-%m-%dT%H:%M:%S%z",):
        try:
            return datetime.strptime(value, form)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class GraphClient:
    """Calls to one Graph API (``base`` with its version, e.g. ``https://graph.facebook.com/v21.0``)
    with one access token, named ``label`` in the errors staff read."""

    def __init__(self, *, base: str, token: str, timeout: float, label: str):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.label = label
        self.session = outbound.session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.last_headers: dict = {}

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, path: str, **params) -> dict:
        return self.call("GET", path, params=params)

    def post(self, path: str, *, sends: bool = False, files=None, **data) -> dict:
        """A POST; ``sends``: this call may publish (a broken answer then means "unknown")."""
        return self.call("POST", path, data=data, files=files, sends=sends)

    def delete(self, path: str, **params) -> dict:
        return self.call("DELETE", path, params=params)

    def call(self, method: str, path: str, *, params=None, data=None, files=None,
             sends: bool = False) -> dict:
        url = f"{self.base}/{path.lstrip('/')}"
        data = {k: (json.dumps(v) if isinstance(v, (dict, list)) else
                    ("true" if v is True else "false" if v is False else v))
                for k, v in (data or {}).items() if v is not None and v != ""}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            response = self.session.request(method, url, params=params or None,
                                            data=data or None, files=files, headers=headers,
                                            timeout=self.timeout, allow_redirects=False)
        except outbound.Refused as exc:
            raise Permanent(f"{self.label}'s address is refused: {exc.message}") from exc
        except outbound.AnswerRefused as exc:
            error = Unknown if sends else Transient
            raise error(f"{self.label}: {exc.message}") from exc
        except requests.RequestException as exc:
            if outbound.never_sent(exc) or not sends:
                raise Transient(f"Could not reach {self.label}: {outbound.reason(exc)}") from exc
            if isinstance(exc, requests.ReadTimeout):
                raise Unknown(f"No answer from {self.label} within {self.timeout:g} s after the "
                              "post was sent.") from exc
            raise Unknown(f"The connection to {self.label} broke after the post was sent: "
                          f"{outbound.reason(exc)}") from exc
        self.last_headers = response.headers
        usage = app_usage(response.headers)
        if usage >= 90:
            log.warning("%s: the app has used %s%% of its hourly Graph API allowance.",
                        self.label, usage)
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= response.status_code < 300 and isinstance(body, (dict, list)):
            return body if isinstance(body, dict) else {"data": body}
        raise self.error(response.status_code, body, response.headers, response.text,
                         sends=sends)

    def error(self, status: int, body, headers, text: str, *, sends: bool) -> AdapterError:
        """Our error for a Graph answer that is not a success."""
        error = body.get("error") if isinstance(body, dict) else None
        if 300 <= status < 400:
            return Permanent(f"{self.label} answered HTTP {status}, a redirect (redirects are "
                             "not followed).")
        if not isinstance(error, dict):
            if 200 <= status < 300:
                kind = Unknown if sends else Transient
                return kind(f"{self.label} gave an answer that could not be read: "
                            f"{outbound.excerpt(text)}")
            if status >= 500 or status in (408, 429):
                if sends and status != 429:
                    return Unknown(f"{self.label} answered HTTP {status} after the post was "
                                   f"sent: {outbound.excerpt(text)}")
                return Transient(f"{self.label} answered HTTP {status}: "
                                 f"{outbound.excerpt(text)}", retry_after=usage_wait(headers))
            return Permanent(f"{self.label} refused the post (HTTP {status}): "
                             f"{outbound.excerpt(text)}")
        code = error.get("code")
        subcode = error.get("error_subcode")
        message = outbound.excerpt(error.get("error_user_msg") or error.get("message")
                                   or "no reason given")
        named = f"{message} (code {code}" + (f", subcode {subcode}" if subcode else "") + ")"
        if code == MISSING_ALIASES_CODE:  # a multi-id read naming objects that are gone
            refusal = Permanent(f"{self.label} refused the read: {named}")
            refusal.missing = [part.strip() for part in str(error.get("message") or "")
                               .rsplit(":", 1)[-1].split(",") if part.strip()]
            return refusal
        if code in RECONNECT_CODES or subcode in RECONNECT_SUBCODES:
            return NeedsReconnect(f"{self.label} no longer accepts the channel's token: {named}. "
                                  "Reconnect the account.")
        if code in THROTTLE_CODES or subcode == PUBLISHING_LIMIT_SUBCODE:
            return Transient(f"{self.label} is limiting this account's requests: {named}; "
                             "trying later.",
                             retry_after=usage_wait(headers) or THROTTLE_WAIT)
        if subcode == MEDIA_FETCH_SUBCODE and not sends:
            return Transient(f"{self.label} could not fetch the post's media from its link: "
                             f"{named}; trying again with a new link.")
        if error.get("is_transient") or code in TRANSIENT_CODES or status >= 500:
            if sends:
                return Unknown(f"{self.label} had a temporary problem after the post was sent: "
                               f"{named}")
            return Transient(f"{self.label} had a temporary problem: {named}",
                             retry_after=usage_wait(headers))
        return Permanent(f"{self.label} refused the post: {named}")


# -- insights (results) ------------------------------------------------------------------------

IDS_PER_READ = 50  # Graph reads at most 50 objects in one ``?ids=`` request
USAGE_STOP = 95  # percent of the app's hourly allowance (X-App-Usage): stop reading until later


def metric_values(insights) -> dict[str, int]:
    """``{"data": [{"name", "values": [{"value"}]}]}`` (or ``total_value``) → {name: value}."""
    values = {}
    for entry in (insights or {}).get("data") or []:
        if "total_value" in entry:
            value = (entry.get("total_value") or {}).get("value")
        else:
            value = ((entry.get("values") or [{}])[-1] or {}).get("value")
        if isinstance(value, (int, float)):
            values[str(entry.get("name"))] = int(value)
    return values


def read_many(client: GraphClient, ids: list[str], *, fields: str) -> dict[str, dict]:
    """``GET /?ids=…&fields=…``: each object by id. Graph fails the whole read when one id is
    gone (code 803, naming them): read again without those; they are left out of the answer."""
    if len(ids) > IDS_PER_READ:
        raise ValueError(f"Graph reads at most {IDS_PER_READ} ids at once, not {len(ids)}.")
    wanted = list(ids)
    while wanted:
        try:
            answer = client.get("", ids=",".join(wanted), fields=fields)
        except Permanent as exc:
            gone = set(getattr(exc, "missing", ()) or ())
            if not gone or not gone & set(wanted):
                raise
            wanted = [object_id for object_id in wanted if object_id not in gone]
            continue
        return {key: value for key, value in answer.items() if isinstance(value, dict)}
    return {}


def stop_if_near_limit(client: GraphClient, read: dict) -> None:
    """After a read: at ``USAGE_STOP`` % of the app's hourly allowance, keep what was read
    (``partial``) and make the channel wait, before Meta starts refusing (code 4)."""
    usage = app_usage(client.last_headers)
    if usage >= USAGE_STOP:
        stop = Transient(f"{client.label}: the app has used {usage}% of its hourly Graph API "
                         "allowance; reading the rest later.",
                         retry_after=usage_wait(client.last_headers) or THROTTLE_WAIT)
        stop.partial = read
        raise stop


# -- containers (Instagram and Threads) -------------------------------------------------------

# Instagram and Threads make a post in two steps: a container (the network fetches its media from
# the URLs given), then "publish". A container is asked for its state every CONTAINER_POLL
# seconds, up to CONTAINER_WAIT: with the other calls (each within the send timeout, 20 s) that
# stays inside the sending lease (send timeout + 60 s), so no other worker takes the delivery
# meanwhile. One still busy makes the attempt transient: nothing was published; it is tried
# again later with new containers (unpublished ones expire by themselves after 24 hours).
CONTAINER_WAIT = 25.0
CONTAINER_POLL = 2.0


def container_deadline() -> float:
    """One deadline for every container of a post (a carousel's items and the carousel)."""
    return time.monotonic() + CONTAINER_WAIT


def wait_for_container(client: GraphClient, container_id: str, *, field: str,
                       error_field: str, what: str, deadline: float | None = None) -> None:
    """Until the container is ready to publish, or ``deadline`` (``time.monotonic()``) passes.
    ``field`` holds its state (Instagram: ``status_code``, Threads: ``status``); ERROR and
    EXPIRED are refusals, with the network's reason from ``error_field``."""
    deadline = container_deadline() if deadline is None else deadline
    while True:
        answer = client.get(container_id, fields=f"{field},{error_field}")
        state = str(answer.get(field) or "").upper()
        if state in ("FINISHED", "PUBLISHED"):
            return
        if state in ("ERROR", "EXPIRED"):
            reason = outbound.excerpt(str(answer.get(error_field) or state))
            if state == "EXPIRED":
                raise Transient(f"{client.label}: the {what} expired before it was published "
                                f"({reason}); it will be made again.")
            raise Permanent(f"{client.label} could not use the {what}: {reason}")
        if time.monotonic() > deadline:
            raise Transient(f"{client.label} was still processing the {what} after "
                            f"{CONTAINER_WAIT:.0f} s; it will be sent again later.")
        time.sleep(CONTAINER_POLL)


def publishing_quota(client: GraphClient, path: str, *, fields: str) -> None:
    """Read the account's publishing limit before publishing; at the limit, Transient with a
    wait (the limit counts posts over a rolling window of ``quota_duration`` seconds)."""
    answer = client.get(path, fields=fields)
    entries = answer.get("data") or []
    if not entries:
        return
    entry = entries[0]
    config = entry.get("config") or {}
    used, total = entry.get("quota_usage"), config.get("quota_total")
    if isinstance(used, int) and isinstance(total, int) and used >= total:
        window = _seconds(config.get("quota_duration")) or 86400
        raise Transient(f"{client.label}: the account has published {used} of its {total} posts "
                        f"allowed per {window / 3600:g} hours; trying again in an hour.",
                        retry_after=min(3600.0, window))


def same_text(left: str | None, right: str | None) -> bool:
    """Texts compared as the networks give them back: whitespace collapsed."""
    return " ".join((left or "").split()) == " ".join((right or "").split())


# -- shared by the three Meta adapters ------------------------------------------------------------

FIND_SLACK = timedelta(minutes=5)  # server clocks differ; posts carry the network's time
PAGE_SIZE = 50
MAX_PAGES = 5


class GraphAdapter(Adapter):
    """What Facebook, Instagram and Threads do alike: each gives ``_client()`` (a GraphClient
    with the channel's token) and says where its recent posts are listed."""

    label = ""
    recent_edge = ""  # e.g. "posts": listed as /{account_id}/{recent_edge}
    recent_fields = ""
    text_key = ""
    time_key = ""
    recent_since = True  # the list takes ``since`` (Instagram's media list does not)
    recent_what = "posts"

    def _client(self) -> GraphClient:
        raise NotImplementedError

    def post_url(self, item: dict) -> str:
        return str(item.get("permalink") or "")

    def check_access(self) -> bool:
        """``/me`` with the channel's token: Meta answers code 190 once it no longer takes it."""
        with self._client() as client:
            client.get("me", fields="id")
        return True

    def find(self, post: Outgoing, *, since) -> Published | None:
        """The account's posts since the send (newest first), matched by text."""
        cutoff = (since or datetime.now(UTC)) - FIND_SLACK
        where = f"{self.channel.account_id}/{self.recent_edge}"
        with self._client() as graph:
            try:
                after = None
                for _ in range(MAX_PAGES):
                    extra = {"since": int(cutoff.timestamp())} if self.recent_since else {}
                    answer = graph.get(where, fields=self.recent_fields, limit=PAGE_SIZE,
                                       after=after, **extra)
                    for item in answer.get("data") or []:
                        created = parse_time(item.get(self.time_key))
                        if created is not None and created < cutoff:
                            return None  # newest first: everything further back is older
                        if same_text(item.get(self.text_key), post.text):
                            return Published(remote_id=str(item["id"]), url=self.post_url(item))
                    paging = answer.get("paging") or {}
                    after = (paging.get("cursors") or {}).get("after")
                    if not paging.get("next") or not after:
                        return None
            except AdapterError as exc:
                raise Unknown(f"Could not ask {self.label} whether the post is there: "
                              f"{exc.message}") from exc
        raise Unknown(f"The account shows more than {MAX_PAGES * PAGE_SIZE} {self.recent_what} "
                      "since the post was sent; cannot tell whether it is among them.")


# -- conversations: comments under the account's posts ------------------------------------------

# Meta gives no notification feed with a cursor: a poll reads the comments under the account's
# most recent posts (``COMMENT_POSTS`` of them; comments under older posts come by webhook,
# ``campaigns.conversations.push``), newest first, down to the cursor: the network's time of
# the newest comment taken (Unix seconds). Comments at that very second are read again and
# dropped by the inbox (one item per channel and remote id), so none is lost between polls.
COMMENT_POSTS = 25
COMMENT_PAGES = 5  # pages of comments read per post and poll
COMMENTS_PER_PAGE = 50
COMMENTS_PER_POLL = 200
FIRST_POLL = timedelta(days=14)  # the first poll of a channel reaches this far back


def cursor_time(cursor: str) -> datetime:
    """The time a Meta cursor holds ("" or unreadable: ``FIRST_POLL`` ago)."""
    try:
        return datetime.fromtimestamp(int(cursor), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC) - FIRST_POLL


def pages(client: GraphClient, path: str, *, max_pages: int = COMMENT_PAGES, **params):
    """The entries of a Graph list, page after page (``paging.cursors.after`` while
    ``paging.next`` says there is more), at most ``max_pages`` pages."""
    after = None
    for _ in range(max_pages):
        answer = client.get(path, after=after, **params) if after else client.get(path, **params)
        yield from answer.get("data") or []
        paging = answer.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return


class CommentsAdapter(GraphAdapter):
    """Polling comments under the account's recent posts (``notifications``), hiding one
    (``hide_reply``) and answering one once (``reply``): each network says how in
    ``_comments``, ``_hide`` and ``_send_reply`` / ``_existing_reply``."""

    def _comments(self, graph: GraphClient, post_id: str, since: datetime):
        """The post's comments (``Incoming``) from ``since`` on; the account's own left out."""
        raise NotImplementedError

    def notifications(self, cursor: str) -> NotificationPage:
        since = cursor_time(cursor)
        found: dict[str, Incoming] = {}
        with self._client() as graph:
            posts = graph.get(f"{self.channel.account_id}/{self.recent_edge}", fields="id",
                              limit=COMMENT_POSTS)
            for post in posts.get("data") or []:
                for incoming in self._comments(graph, str(post["id"]), since):
                    if incoming.created_at >= since:
                        found[incoming.remote_id] = incoming
        items = sorted(found.values(), key=lambda i: (i.created_at, i.remote_id))
        items = items[:COMMENTS_PER_POLL]
        after = str(int(items[-1].created_at.timestamp())) if items else cursor
        return NotificationPage(items=items, cursor=after, more=False)

    def can_hide(self, item) -> bool:
        return item.kind == "reply"

    def hide_reply(self, thread_root: str, remote_id: str, *, hide: bool) -> None:
        with self._client() as graph:
            answer = self._hide(graph, remote_id, hide)
        if answer.get("success") is False:
            raise Permanent(f"{self.label} did not {'hide' if hide else 'show'} the comment.")

    def _hide(self, graph: GraphClient, remote_id: str, hide: bool) -> dict:
        raise NotImplementedError

    def reply(self, text: str, *, key: str, to, created_at_us: int = 0,
              reply_id: int = 0) -> Published:
        """Once per text and comment: Meta takes no idempotency key, so the thread is read
        first and the account's own answer with the same text is taken as this one (after a
        timeout, the resend finds what the first try made)."""
        with self._client() as graph:
            try:
                existing = self._existing_reply(graph, to, text)
            except AdapterError as exc:
                raise Transient(f"{self.label}: could not read the thread before answering "
                                f"({exc.message}).") from exc
            if existing is not None:
                return existing
            return self._send_reply(graph, to, text)

    def _existing_reply(self, graph: GraphClient, to, text: str) -> Published | None:
        raise NotImplementedError

    def _send_reply(self, graph: GraphClient, to, text: str) -> Published:
        raise NotImplementedError

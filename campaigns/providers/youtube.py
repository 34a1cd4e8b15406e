"""YouTube channels: Google's OAuth 2 provider, and the YouTube Data API v3 client the provider
and the publishing adapter (``campaigns.publishing.adapters.youtube``) share.

The client is Google's own, ``google-api-python-client``, built from the discovery document it
bundles (``static_discovery=True``: nothing is fetched at start-up), with ``google-auth``
credentials carrying the channel's tokens. Its HTTP transport is ``httplib2``-shaped; here it is
``OutboundHttp``, the same interface over ``agency.outbound`` (every address checked, no
redirect followed, answers capped, an explicit timeout), so the library's requests, the
resumable upload's chunks and google-auth's token refreshes all go through the guard.

References (developers.google.com): "Using OAuth 2.0 for Web Server Applications"
(``accounts.google.com/o/oauth2/v2/auth`` with ``access_type=offline`` and ``prompt=consent``
for a refresh token, PKCE S256, ``oauth2.googleapis.com/token`` and ``/revoke``; access tokens
live an hour), YouTube Data API v3: ``channels.list`` (``mine=true``), ``videos.insert`` (the
resumable upload protocol: 308 Resume Incomplete with ``Range``), ``thumbnails.set``,
``playlistItems.list``, errors (``{error: {code, message, errors: [{reason}]}}``).

Addresses: ``connections.base_url("youtube_accounts", "https://accounts.google.com")`` for the
consent screen, ``("youtube_oauth2", "https://oauth2.googleapis.com")`` for tokens,
``("youtube_api", "https://youtube.googleapis.com")`` for the Data API and its uploads
(``/upload/youtube/v3/videos``, where the library sends them on the API's host).
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime, timedelta

import google.auth.exceptions
import google.oauth2.credentials
import google_auth_httplib2
import httplib2
import requests
from googleapiclient import discovery, discovery_cache
from googleapiclient.errors import HttpError

from agency import outbound
from campaigns import connections
from campaigns.connections import Account, ConnectionError_, Provider, Tokens

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/youtube.upload",
          "https://www.googleapis.com/auth/youtube.readonly")
TIMEOUT = 20.0


def accounts_url() -> str:
    return connections.base_url("youtube_accounts", "https://accounts.google.com")


def oauth2_url() -> str:
    return connections.base_url("youtube_oauth2", "https://oauth2.googleapis.com")


def api_url() -> str:
    return connections.base_url("youtube_api", "https://youtube.googleapis.com")


def video_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


class OutboundHttp:
    """``httplib2.Http``'s one method the Google libraries call, over ``agency.outbound``: the
    address checked at each request, no redirect followed, the answer capped, ``timeout`` on
    every request. Transport failures are raised as ``requests``' own errors (and the guard's),
    which the callers tell apart with ``outbound.never_sent``."""

    def __init__(self, *, timeout: float = TIMEOUT):
        self.timeout = timeout
        self.session = outbound.session()

    def request(self, uri, method="GET", body=None, headers=None, redirections=0,
                connection_type=None):
        if hasattr(body, "read"):  # a slice of the upload's stream
            body = body.read()
        response = self.session.request(method, uri, data=body, headers=dict(headers or {}),
                                        timeout=self.timeout, allow_redirects=False)
        info = {key.lower(): value for key, value in response.headers.items()}
        info["status"] = str(response.status_code)
        answer = httplib2.Response(info)
        answer.reason = response.reason or ""
        return answer, response.content

    def close(self) -> None:
        self.session.close()


def credentials(channel, *, with_refresh: bool = True) -> google.oauth2.credentials.Credentials:
    """google-auth credentials for the channel's tokens. ``with_refresh``: able to renew the
    access token itself (the refresh token and the installation's OAuth app), which
    ``AuthorizedHttp`` does before a request once the token has expired and after a 401."""
    app = connections.client("youtube") or {}
    expiry = channel.token_expires_at
    if expiry is not None:  # google-auth keeps naive UTC times
        expiry = expiry.astimezone(UTC).replace(tzinfo=None)
    refresh = channel.get_refresh_token() if with_refresh else ""
    return google.oauth2.credentials.Credentials(
        token=channel.get_secret() or None, refresh_token=refresh or None,
        token_uri=oauth2_url() + "/token", client_id=app.get("client_id") or None,
        client_secret=app.get("client_secret") or None, scopes=list(SCOPES), expiry=expiry)


@functools.cache
def _document() -> dict:
    """YouTube v3's discovery document as google-api-python-client bundles it (what
    ``build(..., static_discovery=True)`` reads; nothing is fetched), read once."""
    return json.loads(discovery_cache.get_static_doc("youtube", "v3"))


def service(creds, *, timeout: float = TIMEOUT):
    """The Data API (v3) for these credentials, built from the bundled discovery document with
    its ``rootUrl`` set to ``youtube_api`` (the library takes the uploads' scheme and host from
    ``rootUrl``; ``api_endpoint`` alone would move only their host). Close it with ``close``."""
    document = dict(_document(), rootUrl=api_url() + "/")
    # Without a refresh token a 401 is the answer: nothing to renew the token with.
    renew = {} if getattr(creds, "refresh_token", None) else {"refresh_status_codes": ()}
    http = google_auth_httplib2.AuthorizedHttp(creds, http=OutboundHttp(timeout=timeout),
                                               **renew)
    return discovery.build_from_document(document, http=http)


def close(api) -> None:
    http = getattr(api, "_http", None)
    inner = getattr(http, "http", None)
    if isinstance(inner, OutboundHttp):
        inner.close()


def error_reason(exc: HttpError) -> tuple[str, str]:
    """(reason, message) of Google's error body ``{error: {code, message, errors: [{reason,
    message}]}}``; the OAuth endpoints' ``{error, error_description}`` too."""
    try:
        body = json.loads(exc.content or b"{}")
    except ValueError:
        return "", outbound.excerpt(exc.content) or str(getattr(exc.resp, "reason", ""))
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reasons = [e.get("reason", "") for e in error.get("errors") or [] if isinstance(e, dict)]
        return (outbound.excerpt(reasons[0] if reasons else error.get("status", ""), 80),
                outbound.excerpt(error.get("message") or ""))
    if isinstance(error, str):
        return outbound.excerpt(error, 80), outbound.excerpt(body.get("error_description") or "")
    return "", outbound.excerpt(exc.content)


def describe_transport(exc: BaseException) -> str:
    if isinstance(exc, (outbound.Refused, outbound.AnswerRefused)):
        return exc.message
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    return outbound.reason(exc)


# -- the OAuth provider -----------------------------------------------------------------------


class YouTubeProvider(Provider):
    network = "youtube"
    label = "YouTube"
    scopes = SCOPES
    pkce = True  # Google takes S256 from web server apps too
    issues_refresh_tokens = True  # with access_type=offline
    # Google's access tokens live an hour; the adapter renews an expired one itself before a
    # send (google-auth), the hourly job only when less than this is left.
    refresh_ahead = timedelta(minutes=10)

    def authorize_url(self) -> str:
        return accounts_url() + "/o/oauth2/v2/auth"

    def token_url(self) -> str:
        return oauth2_url() + "/token"

    def authorize_params(self) -> dict:
        # A refresh token every time (prompt=consent: also when the person consented before).
        return {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

    def configured(self) -> bool:
        return connections.client("youtube") is not None

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
        if not self.configured():
            raise ConnectionError_(
                "YouTube is not set up on this installation: set OAUTH_YOUTUBE_CLIENT_ID and "
                "OAUTH_YOUTUBE_CLIENT_SECRET (a Google Cloud OAuth client of the web kind).")
        return self.fetch_tokens(code=code, redirect_uri=redirect_uri,
                                 code_verifier=code_verifier)

    def accounts(self, tokens: Tokens) -> list[Account]:
        """The person's own channels (``channels.list mine=true``, 1 quota unit)."""
        creds = google.oauth2.credentials.Credentials(token=tokens.access_token)
        api = service(creds)
        try:
            answer = api.channels().list(part="snippet,contentDetails", mine=True,
                                         maxResults=50).execute()
        except HttpError as exc:
            reason, message = error_reason(exc)
            raise ConnectionError_(f"YouTube did not list your channels (HTTP "
                                   f"{exc.resp.status} {reason}): {message}") from exc
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused,
                google.auth.exceptions.TransportError) as exc:
            raise ConnectionError_(f"Could not reach YouTube to list your channels: "
                                   f"{describe_transport(exc)}", transient=True) from exc
        finally:
            close(api)
        found = []
        for item in answer.get("items") or []:
            snippet = item.get("snippet") or {}
            uploads = ((item.get("contentDetails") or {}).get("relatedPlaylists") or {}) \
                .get("uploads", "")
            handle = snippet.get("customUrl") or ""
            found.append(Account(
                id=str(item["id"]), name=str(snippet.get("title") or item["id"]),
                handle=handle if handle.startswith("@") or not handle else f"@{handle}",
                settings={"uploads_playlist": uploads}))
        return found

    def refresh(self, channel) -> Tokens:
        return self.fetch_refreshed(channel)

    def revoke(self, channel) -> bool:
        token = channel.get_refresh_token() or channel.get_secret()
        if not token:
            return False
        session = outbound.session()
        try:
            response = session.post(oauth2_url() + "/revoke", data={"token": token},
                                    timeout=TIMEOUT, allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            log.warning("YouTube: revoking a token failed: %s", describe_transport(exc))
            return False
        finally:
            session.close()
        if response.status_code != 200:
            log.warning("Google refused to revoke a token (HTTP %s): %s", response.status_code,
                        outbound.excerpt(response.content))
            return False
        return True


def expiry_of(creds) -> datetime | None:
    """google-auth's naive UTC expiry as an aware time."""
    return creds.expiry.replace(tzinfo=UTC) if creds.expiry else None


provider = connections.register(YouTubeProvider())

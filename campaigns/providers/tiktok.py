"""TikTok creator accounts: the OAuth 2 provider (Login Kit v2), and the one small HTTP client
the provider and the publishing adapter (``campaigns.publishing.adapters.tiktok``) share.

Why a client of our own: TikTok publishes no maintained Python client for its v2 APIs (the
Content Posting API is documented as plain HTTP; the packages on PyPI named after TikTok scrape
the web app or wrap the retired v1 endpoints). So this is one client over ``agency.outbound``
(addresses checked at each request, no redirects, answers capped) with an explicit timeout,
reading TikTok's one error shape, ``{"data": ..., "error": {"code", "message", "log_id"}}``
(``code`` is ``"ok"`` on success).

References (developers.tiktok.com): Login Kit for Web (``www.tiktok.com/v2/auth/authorize/``:
``client_key``, comma-separated scopes, no PKCE for web apps), OAuth user access token
management (``open.tiktokapis.com/v2/oauth/token/``: access tokens last 24 hours, refresh
tokens 365 days; ``/v2/oauth/revoke/``), Get User Info (``/v2/user/info/``), Content Posting
API: Query Creator Info, Direct Post (video and photo), Media Transfer Guide, Get Post Status,
Rate Limits (a one-minute sliding window; 429 ``rate_limit_exceeded``, no reset header).

Addresses: ``connections.base_url("tiktok_api", "https://open.tiktokapis.com")`` and
``("tiktok_www", "https://www.tiktok.com")``.

Unaudited apps: TikTok keeps every post of an app it has not audited private (``SELF_ONLY``).
``TIKTOK_APP_AUDITED`` (default False) says whether ours was; while it is not, the channel
screen and the editor say so, and only "Only me" is offered as a post's privacy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings

from agency import outbound
from campaigns import connections
from campaigns.connections import Tokens

log = logging.getLogger(__name__)

# user.info.stats and video.list: the follower count and the videos' counts (results).
SCOPES = ("user.info.basic", "user.info.stats", "video.list", "video.publish",
          "video.upload")
TIMEOUT = 20.0

# What TikTok calls each privacy level, as its UX guidelines ask apps to show them.
PRIVACY_LABELS = {
    "PUBLIC_TO_EVERYONE": "Everyone",
    "MUTUAL_FOLLOW_FRIENDS": "Friends (followers you follow back)",
    "FOLLOWER_OF_CREATOR": "Followers",
    "SELF_ONLY": "Only me (private)",
}
PRIVATE = "SELF_ONLY"
UNAUDITED_NOTICE = ("This app can only post privately (“Only me”) until TikTok audits it; "
                    "posts stay private on TikTok until then.")


def audited() -> bool:
    """Whether TikTok has audited the installation's app (else every post is private)."""
    return bool(getattr(settings, "TIKTOK_APP_AUDITED", False))


def api_url() -> str:
    return connections.base_url("tiktok_api", "https://open.tiktokapis.com")


def www_url() -> str:
    return connections.base_url("tiktok_www", "https://www.tiktok.com")


def profile_url(username: str) -> str:
    return f"https://www.tiktok.com/@{username}" if username else "https://www.tiktok.com/"


def post_url(username: str, post_id: str, *, photo: bool = False) -> str:
    """Where people see a post (TikTok's own address for it)."""
    kind = "photo" if photo else "video"
    return f"https://www.tiktok.com/@{username}/{kind}/{post_id}" if username \
        else profile_url("")


class TikTokError(Exception):
    """TikTok answered with an error (``status`` set, ``code`` its error code), or did not
    answer (``status`` None; ``cause`` the ``requests``/guard error). ``sent``: whether the
    request may have reached TikTok."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 log_id: str = "", sent: bool = False, retry_after: float | None = None,
                 cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.log_id = log_id
        self.sent = sent
        self.retry_after = retry_after
        self.cause = cause

    @property
    def token_refused(self) -> bool:
        return self.code in ("access_token_invalid", "scope_not_authorized") \
            or (self.status == 401 and self.code != "scope_not_authorized")


def _error_of(response: requests.Response) -> tuple[str, str, str]:
    """(code, message, log_id) of TikTok's error object, or of an OAuth error answer."""
    try:
        body = response.json()
    except ValueError:
        return "", outbound.excerpt(response.content) or response.reason or "", ""
    if not isinstance(body, dict):
        return "", "", ""
    error = body.get("error")
    if isinstance(error, dict):
        return (outbound.excerpt(str(error.get("code") or ""), 80),
                outbound.excerpt(str(error.get("message") or "")),
                outbound.excerpt(str(error.get("log_id") or ""), 80))
    if error:  # the OAuth endpoints: {"error", "error_description", "log_id"}
        return (outbound.excerpt(str(error), 80),
                outbound.excerpt(str(body.get("error_description") or error)),
                outbound.excerpt(str(body.get("log_id") or ""), 80))
    return "", "", ""


def retry_after(response: requests.Response) -> float | None:
    """TikTok sends no rate-limit header; honour Retry-After should one come, else the length of
    its one-minute sliding window."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else 60.0
    except ValueError:
        return 60.0


class Client:
    """TikTok's open API for one user access token. Every call returns the answer's ``data``
    (or the ``requests`` answer for uploads), or raises ``TikTokError``. Use as a context
    manager (it closes its session)."""

    def __init__(self, token: str, *, timeout: float = TIMEOUT):
        self.token = token
        self.timeout = timeout
        self.session = outbound.session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        try:
            response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                            allow_redirects=False, **kwargs)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            raise self._transport_error(exc) from exc
        if response.status_code >= 300:
            code, message, log_id = _error_of(response)
            text = message or code or f"HTTP {response.status_code}"
            if code and code not in text:
                text = f"{code}: {text}"
            if 300 <= response.status_code < 400:
                text += " (a redirect, not followed)"
            raise TikTokError(text, status=response.status_code, code=code, log_id=log_id,
                              sent=True, retry_after=retry_after(response)
                              if response.status_code == 429 else None)
        return response

    def call(self, path: str, *, json_body: dict | None = None, params: dict | None = None,
             method: str = "POST") -> dict:
        """One API call under ``/v2/``; the answer's ``data``."""
        response = self.request(method, api_url() + path, params=params,
                                json=json_body if method == "POST" else None,
                                headers={"Content-Type": "application/json; charset=UTF-8"})
        try:
            body = response.json()
        except ValueError:
            raise TikTokError("TikTok's answer could not be read (not JSON).", status=200,
                              sent=True) from None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("code") not in (None, "", "ok"):
            raise TikTokError(f"{error.get('code')}: {error.get('message') or ''}".rstrip(": "),
                              status=response.status_code, code=str(error.get("code")),
                              log_id=str(error.get("log_id") or ""), sent=True)
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def _transport_error(self, exc: BaseException) -> TikTokError:
        if isinstance(exc, outbound.Refused):
            return TikTokError(f"TikTok's address is refused: {exc.message}", cause=exc)
        if isinstance(exc, outbound.AnswerRefused):
            return TikTokError(exc.message, sent=True, cause=exc)
        if isinstance(exc, requests.ReadTimeout):
            return TikTokError(f"no answer from TikTok within {self.timeout:g} s", sent=True,
                               cause=exc)
        return TikTokError(f"could not reach TikTok: {outbound.reason(exc)}",
                           sent=not outbound.never_sent(exc), cause=exc)

    # -- what the provider and the adapter read ---------------------------------------------

    def user(self) -> dict:
        return self.call("/v2/user/info/", method="GET",
                         params={"fields": "open_id,union_id,avatar_url,display_name"}
                         ).get("user") or {}

    def creator_info(self) -> dict:
        """The creator's posting options now (TikTok asks apps to read them before each
        post): privacy levels, the interactions switched off, the longest video."""
        return self.call("/v2/post/publish/creator_info/query/", json_body={})


def creator_settings(info: dict) -> dict:
    """What a channel keeps of the creator's options (``Channel.settings``): the privacy levels
    as choices for the editor, the interactions the creator switched off, the longest video."""
    levels = [str(level) for level in info.get("privacy_level_options") or []]
    return {
        "username": str(info.get("creator_username") or ""),
        "privacy_levels": [{"id": level, "name": PRIVACY_LABELS.get(level, level)}
                           for level in levels],
        "comment_disabled": bool(info.get("comment_disabled")),
        "duet_disabled": bool(info.get("duet_disabled")),
        "stitch_disabled": bool(info.get("stitch_disabled")),
        "max_video_post_duration_sec": int(info.get("max_video_post_duration_sec") or 0),
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- the OAuth provider -----------------------------------------------------------------------


def _app() -> dict:
    app = connections.client("tiktok")
    if app is None:
        raise connections.ConnectionError_(
            "TikTok is not set up on this installation: set OAUTH_TIKTOK_CLIENT_ID and "
            "OAUTH_TIKTOK_CLIENT_SECRET (your TikTok app's client key and secret).")
    return app


def _tokens(answer: dict) -> Tokens:
    now = datetime.now(UTC)
    access = str(answer.get("access_token") or "")
    if not access:
        raise connections.ConnectionError_("TikTok answered without an access token; try "
                                           "connecting again.")
    expires_in = answer.get("expires_in")
    refresh_in = answer.get("refresh_expires_in")
    return Tokens(
        access_token=access, refresh_token=str(answer.get("refresh_token") or ""),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        scopes=" ".join(str(answer.get("scope") or "").replace(",", " ").split()))


class TikTokProvider(connections.Provider):
    network = "tiktok"
    label = "TikTok"
    scopes = SCOPES
    scope_separator = ","
    pkce = False  # TikTok's web Login Kit takes no PKCE (it is for desktop and mobile apps)
    issues_refresh_tokens = True
    refresh_ahead = timedelta(hours=2)  # access tokens last 24 hours

    def authorize_url(self) -> str:
        return www_url() + "/v2/auth/authorize/"

    def token_url(self) -> str:
        return api_url() + "/v2/oauth/token/"

    def revoke_url(self) -> str:
        return api_url() + "/v2/oauth/revoke/"

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        """TikTok names the app ``client_key`` (not RFC 6749's ``client_id``)."""
        app = self.oauth_client() or {}
        return self.authorize_url() + "?" + urlencode({
            "client_key": app.get("client_id", ""), "response_type": "code",
            "scope": ",".join(self.scopes), "redirect_uri": redirect_uri, "state": state})

    def _token_call(self, form: dict, *, what: str) -> dict:
        app = _app()
        return connections.post_token_form(
            "TikTok", self.token_url(), {**form, "client_key": app["client_id"],
                                         "client_secret": app.get("client_secret", "")},
            what=what, reason=lambda response: _error_of(response)[:2], timeout=TIMEOUT,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Cache-Control": "no-cache"})

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str = "") -> Tokens:
        answer = self._token_call({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect_uri},
                                  what="trade the consent for a token")
        granted = set(str(answer.get("scope") or "").replace(",", " ").split())
        if "video.publish" not in granted:
            raise connections.ConnectionError_(
                "TikTok did not grant permission to post (video.publish): connect again and "
                "leave “Post content to TikTok” ticked on TikTok's consent screen.")
        return _tokens(answer)

    def accounts(self, tokens: Tokens) -> list[connections.Account]:
        """The one creator account that consented, with its posting options."""
        try:
            with Client(tokens.access_token) as api:
                user = api.user()
                info = api.creator_info()
        except TikTokError as exc:
            raise connections.ConnectionError_(
                f"TikTok did not say which account consented: {exc.message}") from exc
        open_id = str(user.get("open_id") or "")
        if not open_id:
            raise connections.ConnectionError_("TikTok answered without the account's id; try "
                                               "connecting again.")
        found = creator_settings(info)
        username = found["username"]
        name = info.get("creator_nickname") or user.get("display_name") or username or "TikTok"
        return [connections.Account(id=open_id, name=str(name),
                                    handle=f"@{username}" if username else "",
                                    settings=found)]

    def refresh(self, channel) -> Tokens:
        refresh_token = channel.get_refresh_token()
        if not refresh_token:
            raise connections.ConnectionError_("The TikTok channel has no refresh token: "
                                               "reconnect it.")
        tokens = _tokens(self._token_call({"grant_type": "refresh_token",
                                           "refresh_token": refresh_token},
                                          what="refresh the channel's token"))
        if not tokens.refresh_token:
            tokens = Tokens(access_token=tokens.access_token, refresh_token=refresh_token,
                            expires_at=tokens.expires_at,
                            refresh_expires_at=tokens.refresh_expires_at, scopes=tokens.scopes)
        return tokens

    def revoke(self, channel) -> bool:
        token = channel.get_secret()
        if not token:
            return False
        app = _app()
        session = outbound.session()
        try:
            response = session.post(self.revoke_url(), data={
                "client_key": app["client_id"], "client_secret": app.get("client_secret", ""),
                "token": token}, timeout=TIMEOUT, allow_redirects=False)
        except (requests.RequestException, outbound.Refused, outbound.AnswerRefused) as exc:
            log.warning("TikTok: revoking a token failed: %s", getattr(exc, "message", None)
                        or outbound.reason(exc))
            return False
        finally:
            session.close()
        code, message, _ = _error_of(response)
        if response.status_code != 200 or code:
            log.warning("TikTok refused to revoke a token (HTTP %s %s): %s",
                        response.status_code, code, message)
            return False
        return True

    def notice(self, channel) -> str:
        return "" if audited() else UNAUDITED_NOTICE


provider = connections.register(TikTokProvider())

"""The one way the platform calls an address someone gave it (the guard against server-side
request forgery).

Every server-side request to a user-given address goes through here: outbound webhooks, the
channel adapters (webhook endpoint, Mastodon server, Bluesky service) and any future network,
OAuth or media fetch. ``session()`` gives a ``requests`` session and ``httpx_client()`` an
``httpx`` client that:

- take only ``https`` on a public address: never loopback, a private network, link-local (cloud
  metadata services live there), multicast or reserved, also when written as an IPv6-mapped or
  6to4 address;
- resolve the name at every request and connect to the very address that was checked (a name
  re-pointed at an internal address after it was saved, DNS rebinding, reaches nothing), with
  TLS verified against the name itself (SNI and certificate);
- follow no redirect (a redirect answer is handed back as it is);
- read at most ``max_bytes`` of an answer, refusing a longer one without reading the rest.

``OUTBOUND_ALLOW_PRIVATE`` lifts the address and https rules for development and tests (local
servers); unset, it follows ``DEBUG``. ``WEBHOOKS_ALLOW_PRIVATE`` is its former name, still read.

This module is shared infrastructure: it imports nothing of tenants, campaigns or approvals.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import unicodedata
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

# An API's JSON answer is a few kilobytes; media listings stay far below this.
ANSWER_LIMIT_BYTES = 4 * 1024 * 1024
EXCERPT_CHARS = 200


class Refused(Exception):  # noqa: N818 - a refusal, with the message a person sees
    """The address is not one the platform calls; nothing was sent."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AnswerRefused(Exception):  # noqa: N818 - a refusal, with the message a person sees
    """The request went out, but its answer was refused unread (too large)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def private_allowed() -> bool:
    allowed = getattr(settings, "OUTBOUND_ALLOW_PRIVATE", None)
    if allowed is None:  # the former name, kept working
        allowed = getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", None)
    return settings.DEBUG if allowed is None else bool(allowed)


def ca_bundle() -> str | None:
    """A CA bundle to trust instead of the usual ones (tests with their own authority)."""
    return (getattr(settings, "OUTBOUND_CA_BUNDLE", None)
            or getattr(settings, "WEBHOOKS_CA_BUNDLE", None) or None)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return _public(embedded)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private or ip.is_unspecified)


def split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL, or Refused saying what is wrong."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        raise Refused("That is not a valid address. Give the full URL, e.g. "
                      "https://hooks.example.com/agency.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise Refused("Give the full URL starting with https://, e.g. "
                      "https://hooks.example.com/agency.")
    if scheme == "http" and not private_allowed():
        raise Refused("Use an https:// address: what goes there carries your brand's data and "
                      "must be encrypted on the way. Give the service's https:// URL.")
    if parts.username or parts.password:
        raise Refused("Leave the user name and password out of the address: requests carry "
                      "their own credentials or signature.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, every one of them public (unless private addresses
    are allowed), or Refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # unknown name, or one no resolver takes
        raise Refused(f"The name “{host}” does not resolve to any address. Check the spelling, "
                      "or save the address once its DNS record exists.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not _public(ip):
                raise Refused(
                    f"“{host}” resolves to {address}, a private, loopback or otherwise internal "
                    "address; the platform calls only public internet addresses. Give the "
                    "service's public https:// URL.")
    return addresses


def check(url: str) -> None:
    """Refused, with what to change, unless the platform would send to ``url`` now."""
    _, host, port, _ = split(url)
    resolve(host, port)


def excerpt(text: str | bytes | None, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line, printable excerpt of what a server said, for errors staff read."""
    if isinstance(text, bytes):
        text = text[:limit * 4].decode("utf-8", "replace")
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in (text or ""))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def reason(exc: BaseException) -> str:
    """The innermost reason of a connection failure, short (no answer's body is in it)."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    exc = getattr(exc, "reason", None) or exc
    return excerpt(str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc), 300)


def host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"


def _too_large(host: str, limit: int) -> AnswerRefused:
    return AnswerRefused(f"{host} answered with more than {limit // 1024} KB; the answer was "
                         "refused unread.")


# -- requests -------------------------------------------------------------------------------


class PinnedAdapter(HTTPAdapter):
    """A ``requests`` adapter that checks the address of every request and connects to the
    checked address itself; answers are read up front, at most ``max_bytes`` (unless the
    caller streams, and then reads a bounded part itself with ``read_at_most``)."""

    def __init__(self, *, max_bytes: int = ANSWER_LIMIT_BYTES):
        super().__init__(max_retries=0)
        self.max_bytes = max_bytes

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        scheme, host, port, _ = split(request.url)
        candidates = resolve(host, port)
        request.headers["Host"] = host_header(host, port, scheme)
        response = None
        for number, address in enumerate(candidates, start=1):
            request.outbound_pin = (address, host)  # read by build_connection_pool_key_...
            try:
                response = super().send(request, stream=True, timeout=timeout, verify=verify,
                                        cert=cert, proxies=None)
                break
            except requests.ConnectionError as exc:  # the name's next address may answer
                if number == len(candidates) or not _before_sending(exc):
                    raise
            finally:
                del request.outbound_pin
        if not stream:
            self._read(response, host)
        return response

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        pin = getattr(request, "outbound_pin", None)
        if pin is None:  # never connect to an address that was not checked
            raise Refused("The address was not checked before connecting.")
        address, host = pin
        host_params["host"] = address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = host  # SNI and the certificate: the name
        return host_params, pool_kwargs

    def _read(self, response, host: str) -> None:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            response.close()
            raise _too_large(host, self.max_bytes)
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > self.max_bytes:
                response.close()
                raise _too_large(host, self.max_bytes)
        response._content = bytes(body)  # as requests keeps a body it has read


def never_sent(exc: BaseException | None) -> bool:
    """Whether a failed request certainly never reached the server: refused by this guard, no
    connection made (refused, timed out connecting, TLS or proxy failure), or a bad address.
    Adapters tell "try again" from "ask the network whether it went out" with it."""
    if isinstance(exc, (Refused, requests.ConnectTimeout, requests.exceptions.SSLError,
                        requests.exceptions.ProxyError, requests.exceptions.InvalidURL)):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                                   urllib3.exceptions.ConnectTimeoutError))
    return False


def _before_sending(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                               urllib3.exceptions.ConnectTimeoutError))


class Session(requests.Session):
    """A ``requests`` session through the guard: no redirects followed, nothing taken from the
    environment (proxies, .netrc credentials)."""

    def __init__(self, *, max_bytes: int = ANSWER_LIMIT_BYTES):
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle() or True
        adapter = PinnedAdapter(max_bytes=max_bytes)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def get_redirect_target(self, resp):
        return None  # a redirect answer is handed back as it is, never followed


def session(*, max_bytes: int = ANSWER_LIMIT_BYTES) -> Session:
    return Session(max_bytes=max_bytes)


def read_at_most(response: requests.Response, limit: int) -> bytes | None:
    """For a streamed ``requests`` answer: its body if it has at most ``limit`` bytes, else
    None, having read no more than ``limit + 1`` bytes. The answer is closed either way."""
    try:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            return None
        body = bytearray()
        for chunk in response.iter_content(min(limit + 1, 64 * 1024)):
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)
    finally:
        response.close()


# -- httpx ----------------------------------------------------------------------------------


class _CheckedNetwork(httpcore.NetworkBackend):
    """httpcore's own sockets, opened only to checked addresses: the name is resolved here,
    and TLS (started by httpcore afterwards) still uses the name for SNI and the certificate."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        candidates = resolve(host, port)
        for number, address in enumerate(candidates, start=1):
            try:
                return self._backend.connect_tcp(address, port, timeout=timeout,
                                                 local_address=local_address,
                                                 socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if number == len(candidates):
                    raise
        raise Refused(f"The name “{host}” does not resolve to any address.")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise Refused("Unix sockets are not an outbound address.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """An ``httpx`` transport through the guard (see the module's docs)."""

    def __init__(self, *, max_bytes: int = ANSWER_LIMIT_BYTES):
        context = ssl.create_default_context(cafile=ca_bundle() or certifi.where())
        super().__init__(verify=context, trust_env=False)
        # httpx's transport takes no network backend: its connection pool is replaced by one
        # with ours (httpcore's public API), the rest of the transport stays httpx's own.
        self._pool.close()
        self._pool = httpcore.ConnectionPool(ssl_context=context, max_connections=10,
                                             max_keepalive_connections=5, keepalive_expiry=5.0,
                                             network_backend=_CheckedNetwork())
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _, host, _, _ = split(str(request.url))
        # Compressed answers would grow past the cap only once decoded: ask for none.
        request.headers["Accept-Encoding"] = "identity"
        response = super().handle_request(request)
        declared = response.headers.get("Content-Length", "").strip()
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if (declared.isdigit() and int(declared) > self.max_bytes) \
                or encoding not in ("", "identity"):
            response.close()
            raise _too_large(host, self.max_bytes)
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Capped(response.stream, self.max_bytes, host),
                              extensions=response.extensions, request=request)


class _Capped(httpx.SyncByteStream):
    def __init__(self, stream, limit: int, host: str):
        self._stream, self._limit, self._host = stream, limit, host

    def __iter__(self):
        seen = 0
        for chunk in self._stream:
            seen += len(chunk)
            if seen > self._limit:
                raise _too_large(self._host, self._limit)
            yield chunk

    def close(self) -> None:
        self._stream.close()


def httpx_client(*, max_bytes: int = ANSWER_LIMIT_BYTES, **kwargs) -> httpx.Client:
    """An ``httpx.Client`` through the guard; ``kwargs`` as httpx takes them (``timeout``…)."""
    return httpx.Client(transport=PinnedTransport(max_bytes=max_bytes), follow_redirects=False,
                        trust_env=False, **kwargs)

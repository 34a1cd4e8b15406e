"""One POST of a signed event to an endpoint, and what came back.

The request goes to an address checked by ``addresses.resolve`` (not to whatever the name
resolves to a moment later), with TLS verified against the endpoint's own host name, no
redirects followed and a short timeout: a slow or hostile receiver cannot hold a worker long
or steer it elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from agency.webhooks import addresses

USER_AGENT = "agency-platform-webhooks/1"
KEEP_BODY_CHARS = 500


@dataclass
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: float | None = None
    refused: bool = False  # the address is not allowed: trying again changes nothing

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> Outcome:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, path = addresses.split(url)
        candidates = addresses.resolve(host, port)
    except addresses.Refused as exc:
        return Outcome(None, exc.message, took(), refused=True)
    headers = {**headers, "Host": _host_header(host, port, scheme), "User-Agent": USER_AGENT,
               "Content-Type": "application/json"}
    last = ""
    for address in candidates:
        pool = _pool(scheme, address, port, host, timeout)
        try:
            return _exchange(pool, path, body, headers, host, timeout, took)
        except _NextAddress as exc:
            last = f"Could not connect to {host} ({address}): {exc}"
        finally:
            pool.close()
    return Outcome(None, last or f"Could not connect to {host}.", took())


class _NextAddress(Exception):  # noqa: N818 - control flow: the name's next address may answer
    pass


def _exchange(pool, path, body, headers, host, timeout, took) -> Outcome:
    try:
        response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False,
                                retries=False, preload_content=False, assert_same_host=False)
    except (NewConnectionError, ConnectTimeoutError) as exc:
        raise _NextAddress(_reason(exc)) from exc
    except SSLError as exc:
        return Outcome(None, f"TLS failed with {host}: {_reason(exc)}. The endpoint needs a "
                             "valid certificate for its name.", took())
    except ReadTimeoutError:
        return Outcome(None, f"No answer within {timeout:g} s.", took())
    except HTTPError as exc:
        return Outcome(None, f"The connection to {host} broke: {_reason(exc)}", took())
    try:
        text = response.read(KEEP_BODY_CHARS * 4).decode("utf-8", "replace")
    except HTTPError:
        text = ""
    finally:
        response.release_conn()
    status = response.status
    error = ""
    if not 200 <= status < 300:
        hint = (" Redirects are not followed: register the final address."
                if 300 <= status < 400 else "")
        error = (f"HTTP {status}: {text.strip()[:KEEP_BODY_CHARS]}".strip().rstrip(":")
                 + hint)
    return Outcome(status, error, took(),
                   retry_after=_retry_after(response.headers.get("Retry-After")))


def _pool(scheme: str, address: str, port: int, host: str, timeout: float):
    limits = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, port, timeout=limits, maxsize=1, retries=False, server_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=getattr(settings, "WEBHOOKS_CA_BUNDLE", None) or certifi.where())
    return urllib3.HTTPConnectionPool(address, port, timeout=limits, maxsize=1, retries=False)


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).split(": ", 1)[-1][:300]

"""One POST of a signed event to an endpoint, and what came back.

The request goes through the outbound guard (``agency.outbound``): to an address checked at this
very send, with TLS verified against the endpoint's own host name, no redirects followed, a short
timeout and only the first bytes of the answer read: a slow or hostile receiver cannot hold a
worker long or steer it elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from agency import outbound

USER_AGENT = "agency-platform-webhooks/1"
# Only the start of an answer is read, for the delivery log; the rest is never downloaded.
READ_BYTES = 2048


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


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> Outcome:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        _, host, _, _ = outbound.split(url)
    except outbound.Refused as exc:
        return Outcome(None, exc.message, took(), refused=True)
    headers = {**headers, "User-Agent": USER_AGENT, "Content-Type": "application/json"}
    with outbound.session() as session:
        try:
            response = session.post(url, data=body, headers=headers, stream=True,
                                    timeout=(min(timeout, 5.0), timeout))
        except outbound.Refused as exc:
            return Outcome(None, exc.message, took(), refused=True)
        except requests.exceptions.SSLError as exc:
            return Outcome(None, f"TLS failed with {host}: {outbound.reason(exc)}. The endpoint "
                                 "needs a valid certificate for its name.", took())
        except requests.ConnectTimeout:
            return Outcome(None, f"Could not connect to {host} within {min(timeout, 5.0):g} s.",
                           took())
        except requests.ReadTimeout:
            return Outcome(None, f"No answer within {timeout:g} s.", took())
        except requests.ConnectionError as exc:
            return Outcome(None, f"Could not connect to {host}, or the connection broke: "
                                 f"{outbound.reason(exc)}", took())
        except requests.RequestException as exc:
            return Outcome(None, f"The request to {host} failed: {outbound.reason(exc)}", took())
        status = response.status_code
        try:
            text = response.raw.read(READ_BYTES, decode_content=True) or b""
        except Exception:  # noqa: BLE001 - the log only misses the answer's first words
            text = b""
        finally:
            response.close()
    error = ""
    if not 200 <= status < 300:
        hint = (" Redirects are not followed: register the final address."
                if 300 <= status < 400 else "")
        error = f"HTTP {status}: {outbound.excerpt(text)}".strip().rstrip(":") + hint
    return Outcome(status, error, took(),
                   retry_after=_retry_after(response.headers.get("Retry-After")))


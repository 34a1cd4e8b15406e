"""Which endpoint addresses the platform will call (the guard against server-side request
forgery).

An endpoint must be ``https`` on a public address: never loopback, a private network, link-local
(cloud metadata services live there), multicast or reserved. The name is resolved when the
endpoint is registered (a clear message then) and again at every send, and the request goes to
the very address that was checked, so a name re-pointed at an internal address after
registration (DNS rebinding) reaches nothing. ``WEBHOOKS_ALLOW_PRIVATE`` lifts the rule for
development and tests (plain ``http`` and local receivers); unset, it follows ``DEBUG``.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class Refused(Exception):  # noqa: N818 - a refusal, with the message a person sees
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def private_allowed() -> bool:
    allowed = getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", None)
    return settings.DEBUG if allowed is None else bool(allowed)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return _public(embedded)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private or ip.is_unspecified)


def split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an endpoint URL, or Refused saying what is
    wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused("That is not a valid address. Give the full URL, e.g. "
                      "https://hooks.example.com/agency.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise Refused("Give the full URL starting with https://, e.g. "
                      "https://hooks.example.com/agency.")
    if scheme == "http" and not private_allowed():
        raise Refused("Use an https:// address: events carry your brand's data and must be "
                      "encrypted on the way. Put TLS in front of your receiver and register "
                      "its https:// URL.")
    if parts.username or parts.password:
        raise Refused("Leave the user name and password out of the address: requests are "
                      "signed instead (check the webhook-signature header with your secret).")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, every one of them public (unless private addresses
    are allowed), or Refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # unknown name, or one no resolver takes (too long, NUL)
        raise Refused(f"The name “{host}” does not resolve to any address. Check the spelling, "
                      "or register the endpoint once its DNS record exists.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not _public(ip):
                raise Refused(
                    f"“{host}” resolves to {address}, a private, loopback or otherwise internal "
                    "address; webhooks go only to public internet addresses. Give your "
                    "receiver's public https:// URL.")
    return addresses


def check(url: str) -> None:
    """Refused, with what to change, unless the platform would send to ``url``."""
    _, host, port, _ = split(url)
    resolve(host, port)

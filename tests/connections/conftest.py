"""Fixtures for connected accounts: a fake Mastodon server that answers OAuth as Mastodon does,
and a consent step driven over HTTP as a browser would (the browser test does it in chromium)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from agency.demo.fakes import FakeMastodon
from tests.publishing.conftest import kit  # noqa: F401 - publishing's fixture, used here too


@pytest.fixture
def mastodon():
    with FakeMastodon(username="acmecoffee") as fake:
        yield fake


def consent(authorize_url: str, *, approve: bool = True) -> str:
    """Open the network's consent screen, answer it, and give the address the network sends
    the person back to (the brand's callback, with its query)."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)}
    parts = urlsplit(authorize_url)
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/oauth/authorize",
                           data={**fields, "decision": "approve" if approve else "deny"},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def consent_link(response) -> str:
    """The consent screen's address on the page "Connect" answers with (it moves on by itself;
    the studio's forms may only send to the brand's host, so it is no redirect)."""
    assert response.status_code == 200, response.content.decode()[:2000]
    found = re.search(r'id="consent" href="([^"]+)"', response.content.decode())
    assert found, response.content.decode()[:2000]
    return unescape(found.group(1))


def local(url: str) -> str:
    """The path and query of an address on a brand host (for the Django test client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

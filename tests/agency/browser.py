"""Shared Playwright helpers: Debian's chromium, one browser per session, a fresh context per test.

A test module gets the fixtures (browser, context, page, signed_in) with::

    pytest_plugins = ["tests.agency.browser"]

and may import the helpers too; nothing here asserts, so pytest need not rewrite it
(PYTEST_DONT_REWRITE), which it could not do once the test module imported it.

Pages are on the portal (``portal_url(port, "/login/")``) or on a brand's own host
(``brand_url("acme", port, "/admin/")``); Chromium resolves every ``*.localhost`` to 127.0.0.1
itself, so no hosts file is needed.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # a step that takes longer than this is a failure, not a slow machine
FAILURE_DIR = Path(tempfile.gettempdir()) / "portal-browser-failures"


def portal_url(port: int, path: str = "/") -> str:
    return f"http://{settings.AGENCY_BASE_DOMAIN}:{port}{path}"


def brand_url(slug: str, port: int, path: str = "/") -> str:
    return f"http://{slug}.{settings.AGENCY_BASE_DOMAIN}:{port}{path}"


@pytest.fixture(scope="session")
def browser(live_server_url):
    """Headless Debian chromium, started once per test session (after the test server, so the
    server's environment stays as conftest makes it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio loop running in this thread. Django then refuses
        # every ORM call (the test's own and pytest-django's transaction per test) as "async
        # unsafe", though nothing here runs concurrently...
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
            # ...and keeps the connections opened meanwhile apart from the thread's usual ones.
            # Close them while the loop still runs, or they outlive the session and the test
            # database cannot be dropped ("being accessed by other users").
            connections.close_all()


@pytest.fixture
def context(browser, request):
    """A fresh browser context (no cookies, no storage) for each test; on failure the open pages
    are saved as PNGs under <tmp>/portal-browser-failures/."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    failed_before = request.session.testsfailed
    yield ctx
    if request.session.testsfailed > failed_before:
        FAILURE_DIR.mkdir(parents=True, exist_ok=True)
        from playwright.sync_api import Error

        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, open_page in enumerate(ctx.pages):
            try:
                open_page.screenshot(path=str(FAILURE_DIR / f"{name}-{number}.png"),
                                     full_page=True)
            except Error:  # a crashed or closed page: the failure report says enough
                pass
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, port: int, username: str, password: str) -> None:
    """Sign in through the portal's form, as a person would, and wait for the next page."""
    page.goto(portal_url(port, "/login/"))
    page.get_by_label("Email").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="session")
def _portal_cookies() -> dict[str, list[dict]]:
    return {}


@pytest.fixture
def signed_in(browser, context, live_server_url, _portal_cookies):
    """``signed_in(user)`` gives this test's fresh context ``user``'s portal session. Each account
    signs in through the real form once per session; tests about signing in use `sign_in`."""

    def sign(user, password: str = PASSWORD) -> None:
        username = user.get_username()
        if username not in _portal_cookies:
            scratch = browser.new_context()
            scratch.set_default_timeout(TIMEOUT_MS)
            sign_in(scratch.new_page(), live_server_url, username, password)
            cookies = scratch.cookies()
            scratch.close()
            if not any(c["name"] == settings.SESSION_COOKIE_NAME for c in cookies):
                raise RuntimeError(f"{username} could not sign in to the portal")
            _portal_cookies[username] = cookies
        context.add_cookies(_portal_cookies[username])

    return sign


def axe_violations(page, *, impacts: tuple[str, ...] | None = None) -> list[dict]:
    """Run axe-core (bundled by the ``axe-playwright-python`` package, no network) on the page.

    Returns the violations, limited to ``impacts`` (e.g. ("serious", "critical")) if given."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    if impacts is not None:
        violations = [v for v in violations if v["impact"] in impacts]
    return violations


def describe_violations(violations: list[dict]) -> str:
    """One readable line per violation and element, for an assertion message."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} "
                         f"at {' '.join(map(str, node['target']))}: {node['failureSummary']}")
    return "\n".join(lines)

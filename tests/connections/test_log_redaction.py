"""A connected account's callback carries the network's authorization code and our state in
its query: neither reaches a log line."""

from __future__ import annotations

import pytest

from agency.logging import redact_secret_paths


@pytest.mark.parametrize("line", [
    '"GET /admin/channels/connect/callback/?code={code}&state={state} HTTP/1.1" 302 0',
    "http://acme.agency.localhost:8000/admin/channels/connect/callback/?state={state}"
    "&code={code}",
    '"GET /admin/channels/connect/callback/%3Fcode%3D{code}%26state%3D{state} HTTP/1.1" 400',
])
def test_the_callbacks_code_and_state_never_reach_a_log_line(line):
    written = redact_secret_paths(line.format(code="c0de5ecret", state="st4te5ecret"))
    assert "c0de5ecret" not in written and "st4te5ecret" not in written
    assert "/admin/channels/connect/callback/" in written

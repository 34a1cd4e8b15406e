"""``manage.py runplatform``, what ``bin/demo`` ends in: it says when the platform is up, and
Ctrl+C stops the web server, the workers, the dispatcher and the embedded PostgreSQL."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_until

READY = "Sign in as ada@agency.test"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _started_for(data: Path) -> list[int]:
    """Processes (other than PostgreSQL's) started with ``data`` as their data folder."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes()
        except (OSError, ValueError):
            continue
        if f"AGENCY_DATA_DIR={data}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def data_dir():
    """A data folder outside pytest's own temporary folders: when root runs the tests, PostgreSQL
    runs as another user, and another pytest session closes those folders to other users."""
    folder = Path(tempfile.mkdtemp(prefix="runplatform-"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def test_ctrl_c_stops_the_platform_and_its_embedded_postgresql(data_dir):
    data, port = data_dir, free_port()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="agency.settings.dev", AGENCY_DATA_DIR=str(data))
    # Its own session, as a terminal runs a command; the database is a fresh, empty one.
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runplatform", "--addr", f"127.0.0.1:{port}",
         "--ready-message", READY],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                              daemon=True)
    reader.start()
    output = []
    try:
        deadline = time.monotonic() + 180
        while READY not in "".join(output) and time.monotonic() < deadline:
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, "".join(output)[-3000:]
        text = "".join(output)
        assert READY in text, text[-3000:]
        assert "Ctrl+C stops them and the embedded PostgreSQL." in text
        assert _answers(port)
        postmaster = int((data / "pgdata" / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster)

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: the terminal signals the whole group
        code = proc.wait(timeout=120)
        reader.join(timeout=10)  # all it wrote
        while not lines.empty():
            output.append(lines.get())
        assert code == 0, "".join(output)[-3000:]
        assert wait_until(lambda: not _alive(postmaster), timeout=10)
        assert not _answers(port)
        assert wait_until(lambda: not _started_for(data), timeout=10), _started_for(data)
        assert "Embedded PostgreSQL stopped" in "".join(output)
    finally:
        for pid in [proc.pid, *_started_for(data)]:  # whatever is left, after a failure
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if (data / "pgdata" / "postmaster.pid").exists():  # whatever the test left running
            subprocess.run([sys.executable, "manage.py", "embedded_db", "stop"], cwd=ROOT,
                           env=env, capture_output=True, timeout=120)

"""The demo's sandbox networks: ``python -m agency.demo.fakes`` runs every registered fake
(``FAKES``) on its fixed local port until interrupted; ``--env`` prints, as JSON, the
environment that points the platform at them (``NETWORK_BASE_URLS``, ``OAUTH_*``), which
``manage.py runplatform --fakes`` (``bin/demo``) gives its processes."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from agency.demo.fakes import FAKES, demo_env, load_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agency.demo.fakes", description=__doc__)
    parser.add_argument("--env", action="store_true", help="print the environment as JSON")
    options = parser.parse_args(argv)
    load_all()
    if options.env:
        sys.stdout.write(json.dumps(demo_env()) + "\n")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running = []
    try:
        for fake in FAKES.values():
            running.append(fake.make().start(fake.port))
            sys.stdout.write(f"Fake {fake.name} on {fake.url}\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        for server in running:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

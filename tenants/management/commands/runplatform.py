"""Run the web server, the django-q2 workers and the publishing dispatcher (development, demos).

Production runs them as separate services (see the README): gunicorn for the web, ``manage.py
qcluster`` for the workers, ``manage.py dispatcher`` for the dispatcher.

Ctrl+C (or SIGTERM) stops all three and then the embedded PostgreSQL, when that is the database
(``DATABASE_URL`` unset), unless ``--keep-db``: it starts again with the next command.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from agency.database import embedded_stop

READY_WAIT_SECONDS = 60  # for the web server to listen before the ready message is shown
SETTLE_SECONDS = 1.5  # for the workers' and dispatcher's start-up lines to come out first
STOP_WAIT_SECONDS = 30  # for each to finish what it is doing (django-q2 waits for its tasks)


class Command(BaseCommand):
    help = "Run the web server and the background workers until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("AGENCY_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--keep-db", action="store_true",
                            help="Leave the embedded PostgreSQL running when stopping.")
        parser.add_argument("--fakes", action="store_true",
                            help="Also run the sandbox's fake networks (python -m "
                                 "agency.demo.fakes) and point the platform at them, so "
                                 "accounts can be connected without real networks.")
        parser.add_argument("--ready-message", default="",
                            help="Text to print once the web server answers (bin/demo: the "
                                 "addresses and sign-ins), after the start-up lines.")

    def handle(self, *args, **options):
        # Ctrl+C (SIGINT) stops the platform even when a shell started it in the background with
        # SIGINT ignored; the processes it starts then take it by default as well.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        manage = [sys.executable, "manage.py"]
        commands = [("web", [*manage, "runserver", options["addr"], "--noreload"]),
                    ("workers", [*manage, "qcluster"]), ("dispatcher", [*manage, "dispatcher"])]
        env = dict(os.environ)
        if options["fakes"]:
            # Run as a program, not imported: the fakes belong to the demo, above this layer.
            fakes = [sys.executable, "-m", "agency.demo.fakes"]
            env.update(json.loads(subprocess.run([*fakes, "--env"], check=True, text=True,
                                                 capture_output=True).stdout))
            commands.insert(0, ("fake networks", fakes))
        # Each in a process group of its own: Ctrl+C reaches this command alone, which asks each
        # of them once to stop, and whatever one of them started stops with it.
        procs = {name: subprocess.Popen(command, start_new_session=True, env=env)
                 for name, command in commands}
        stop_db = not options["keep_db"] and not os.environ.get("DATABASE_URL")

        def stop(*_):
            for proc in procs.values():
                if proc.poll() is None:
                    _signal_group(proc, signal.SIGINT)
            for proc in procs.values():
                try:
                    proc.wait(timeout=STOP_WAIT_SECONDS)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                _signal_group(proc, signal.SIGKILL)  # anything it left behind
            if stop_db:
                connections.close_all()
                if embedded_stop(settings.DATA_DIR / "pgdata"):
                    self.stdout.write("Embedded PostgreSQL stopped (the next command starts "
                                      "it again).")

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        exited = {}  # a process that stopped by itself, before being asked to
        try:
            if _listening(options["addr"], procs.values()):
                time.sleep(SETTLE_SECONDS)
                self.stdout.write(f"\nWeb server on {options['addr']}, workers and dispatcher "
                                  "running. Ctrl+C stops them"
                                  + (" and the embedded PostgreSQL." if stop_db else "."))
                if options["ready_message"]:
                    self.stdout.write(options["ready_message"])
                self.stdout.flush()
            while all(proc.poll() is None for proc in procs.values()):
                time.sleep(0.5)
            exited = {name: proc.returncode for name, proc in procs.items()
                      if proc.returncode is not None}
        except KeyboardInterrupt:
            pass
        finally:
            stop()
        # How each of them ends once asked to stop is no error of theirs.
        failed = [name for name, code in exited.items() if code != 0]
        if failed:
            self.stderr.write(f"Stopped because {', '.join(failed)} exited with an error.")
            sys.exit(1)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:  # nothing left of it
        pass


def _listening(addr: str, procs) -> bool:
    """Wait until something listens on ``addr`` (False if a process exits or time runs out)."""
    host, _, port = addr.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 - listening everywhere; ask on this machine
        host = "127.0.0.1"
    deadline = time.monotonic() + READY_WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            return False
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False

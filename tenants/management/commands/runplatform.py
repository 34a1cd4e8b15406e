"""Run the web server, the django-q2 workers and the publishing dispatcher (development, demos).

Production runs them as separate services (see the README): gunicorn for the web, ``manage.py
qcluster`` for the workers, ``manage.py dispatcher`` for the dispatcher.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and the background workers until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("AGENCY_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, **options):
        manage = [sys.executable, "manage.py"]
        procs = {
            "web": subprocess.Popen([*manage, "runserver", options["addr"], "--noreload"]),
            "workers": subprocess.Popen([*manage, "qcluster"]),
            "dispatcher": subprocess.Popen([*manage, "dispatcher"]),
        }
        self.stdout.write(f"Web server on {options['addr']}, workers and dispatcher started. "
                          "Ctrl+C stops both.")

        def stop(*_):
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        try:
            while all(proc.poll() is None for proc in procs.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
        failed = [name for name, proc in procs.items() if proc.returncode not in (0, None, -2)]
        if failed:
            self.stderr.write(f"Stopped because {', '.join(failed)} exited with an error.")
            sys.exit(1)

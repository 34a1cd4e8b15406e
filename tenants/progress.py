"""A plain progress bar for long commands: count, percentage, rate and time left."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int, *, label: str = "", stream=None, width: int = 30):
        self.total, self.label, self.width = max(total, 0), label, width
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()

    def advance(self, step: int = 1, note: str = "") -> None:
        self.done += step
        elapsed = time.monotonic() - self.started
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"\r{self.label} [{bar}] {self.done}/{self.total} {fraction:4.0%} "
                f"{rate:5.1f}/s, {left:4.0f}s left {note[:30]:<30}")
        self.stream.write(line)
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()

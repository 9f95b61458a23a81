"""Progress of long work (a batch script, an ``.import``): one self-erasing
line on stderr, ``[#####     ] 1200/5000 rows  830 rows/s  eta 0:04``.

Shown only when stderr is a terminal and the work has already run for a
moment, so short runs and redirected output stay clean. It only writes: it
never reads the terminal, so keys typed meanwhile wait for the next prompt
(prompt_toolkit's ProgressBar read them, and type-ahead was lost).
``clear()`` erases the line before anything else is written to the terminal
(a confirmation question); the next ``update`` draws it again.
"""
from __future__ import annotations

import os
import time
from typing import TextIO

# seconds before the line appears (CQL_PROGRESS_DELAY overrides, e.g. 0 in tests)
DELAY = float(os.environ.get("CQL_PROGRESS_DELAY") or 1.0)
INTERVAL = 0.1   # seconds between redraws
BAR = 30         # characters of the bar


def duration(seconds: float) -> str:
    """0:07, 12:34, 1:02:03."""
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Work of ``total`` units (statements, rows) done ``done`` at a time."""

    def __init__(self, total: int, stream: TextIO, unit: str = "statements", label: str = ""):
        self.total = total
        self.stream = stream
        self.unit = unit
        self.label = label
        self.start = time.monotonic()
        self.last = 0.0
        self.done = 0
        self.shown = False
        try:
            self.enabled = stream.isatty()
        except (ValueError, AttributeError):
            self.enabled = False

    def update(self, done: int) -> None:
        """``done`` units are finished; redraw when it is time."""
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < DELAY or now - self.last < INTERVAL:
            return
        self.last = now
        self.stream.write("\r" + self.line(now - self.start) + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def line(self, elapsed: float) -> str:
        """The text of the line after ``elapsed`` seconds: the rate and the time
        left come from the units done so far, not from batches."""
        filled = int(BAR * self.done / max(self.total, 1))
        text = f"{self.label}[{'#' * filled}{' ' * (BAR - filled)}] {self.done}/{self.total} {self.unit}"
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            text += f"  {rate:.0f} {self.unit}/s  eta {duration((self.total - self.done) / rate)}"
        return text

    def clear(self) -> None:
        """Erase the line (it comes back at the next update)."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
            self.last = 0.0

    close = clear

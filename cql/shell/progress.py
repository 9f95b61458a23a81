"""Progress for long batch scripts: one self-erasing line on stderr.

Shown only when stderr is a terminal and the script has already run for a
moment, so short runs and redirected output stay clean. (Interactive
``.import`` uses prompt_toolkit's progress bar instead; see transfer.py.)
"""
from __future__ import annotations

import os
import time
from typing import TextIO

# seconds before the line appears (CQL_PROGRESS_DELAY overrides, e.g. 0 in tests)
DELAY = float(os.environ.get("CQL_PROGRESS_DELAY") or 1.0)
INTERVAL = 0.1   # seconds between redraws


class BatchProgress:
    """``[#####     ] 120/500 statements`` on stderr, erased by close()."""

    def __init__(self, total: int, stream: TextIO, what: str = "statements"):
        self.total = total
        self.stream = stream
        self.what = what
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False
        try:
            self.enabled = stream.isatty()
        except (ValueError, AttributeError):
            self.enabled = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < DELAY or now - self.last < INTERVAL:
            return
        self.last = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{self.total} {self.what}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

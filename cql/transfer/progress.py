"""Progress of a copy: one bar per class on a terminal (objects, rate, ETA),
redrawn in place and left as a one-line summary when the class is done.
Nothing when the stream is not a terminal (the copy's report says it all)."""
from __future__ import annotations

import time
from typing import Optional, TextIO

INTERVAL = 0.2   # seconds between redraws


class Progress:
    """Where a copy reports progress (``stream`` None: nowhere)."""

    def __init__(self, stream: Optional[TextIO]):
        self.stream = stream
        try:
            self.tty = bool(stream is not None and stream.isatty())
        except (ValueError, AttributeError):
            self.tty = False

    def bar(self, name: str, total: Optional[int], what: str = "objects") -> "Bar":
        return Bar(self, name, total, what)

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write(text + "\n")
            self.stream.flush()


class Bar:
    """``Todo  [#########           ]  4,500/10,000  3,100/s  ETA 2s``"""

    def __init__(self, progress: Progress, name: str, total: Optional[int], what: str):
        self.progress = progress
        self.name = name
        self.total = total
        self.what = what
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.progress.tty and now - self.last >= INTERVAL:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.name}  "
        if self.total:
            width = 24
            filled = min(width, int(width * self.done / self.total))
            text += f"[{'#' * filled}{' ' * (width - filled)}] {self.done:,}/{self.total:,}"
            if rate > 0 and self.done < self.total:
                text += f"  {rate:,.0f}/s  ETA {_duration((self.total - self.done) / rate)}"
            else:
                text += f"  {rate:,.0f}/s"
        else:
            text += f"{self.done:,} {self.what}  {rate:,.0f}/s"
        stream = self.progress.stream
        stream.write("\r\x1b[K" + text)
        stream.flush()

    def finish(self, summary: str) -> None:
        """Replace the bar by its final line."""
        elapsed = time.monotonic() - self.start
        rate = f", {self.done / elapsed:,.0f}/s" if elapsed > 0.05 and self.done else ""
        if self.progress.tty:
            self.progress.stream.write("\r\x1b[K")
            self.progress.line(f"{self.name}: {summary} ({_duration(elapsed)}{rate})")


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 90:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

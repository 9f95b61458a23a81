"""Ask a yes/no question on the user's terminal, even when stdin is a pipe.

Policy (decided, like litecli for piped input and mycli's re-opened /dev/tty):
an update or delete that does not pin one objectId asks first whenever a person
can answer: in the REPL, and in batch runs (``-e``, ``-f``, stdin) when the
process has a terminal (stdin, else ``/dev/tty``). With no terminal at all
(CI, cron, ``setsid``) nothing is asked and the statement runs. ``--yes``
skips the question everywhere. Only "y" or "yes" proceeds.
"""
from __future__ import annotations

import sys
from typing import Optional, TextIO


def _answer_yes(text: str) -> bool:
    return text.strip().lower() in ("y", "yes")


def ask(question: str, stdin: Optional[TextIO] = None, stderr: Optional[TextIO] = None) -> Optional[bool]:
    """Ask ``question`` ("... Continue? [y/N] "); True/False for the answer,
    None when there is no terminal to ask on. EOF or Ctrl-C count as no."""
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    try:
        if stdin.isatty():
            stderr.write(question)
            stderr.flush()
            line = stdin.readline()
            if not line:
                stderr.write("\n")
            return _answer_yes(line)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        # Two streams: a text "r+" stream on a tty is refused (not seekable).
        tty_in = open("/dev/tty", "r", encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        tty_out = open("/dev/tty", "w", encoding="utf-8")
    except OSError:
        tty_in.close()
        return None
    with tty_in, tty_out:
        try:
            tty_out.write(question)
            tty_out.flush()
            line = tty_in.readline()
        except KeyboardInterrupt:
            tty_out.write("\n")
            return False
        if not line:
            tty_out.write("\n")
        return _answer_yes(line)

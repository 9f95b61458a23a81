"""Batch mode: ``-e``, ``-f FILE`` and a script on stdin.

Each script is split lexically first (cql/splitter.py), so the statements
before a syntax error still run. Errors go to stderr as
``NAME:LINE:COL: error NNN: message`` plus the source line and a caret, with
LINE/COL counted in the whole file (NAME is the file, ``<command line>`` for
``-e``, ``<stdin>`` for stdin). The run stops at the first error unless
``--continue-on-error``. Exit status: 0 all succeeded, 1 a statement failed.
"""
from __future__ import annotations

from typing import List, Tuple

from .session import Session

EXPR_NAME = "<command line>"
STDIN_NAME = "<stdin>"


def run_batch(session: Session, scripts: List[Tuple[str, str]]) -> int:
    """Run ``(name, text)`` scripts in order; the exit status."""
    ok = True
    for name, text in scripts:
        if not session.run_script(text, name):
            ok = False
            if not session.continue_on_error:
                break
        if session.quit_requested:
            break
    return 0 if ok else 1

"""Lexical script splitter: cut CQL text into statements at ``;``.

Why lexical and not the parser: a script with a syntax error in statement 5 must
still run statements 1-4, and the REPL must know whether Enter should run the
buffer before anything is parsed. The splitter knows only what hides a ``;``:
quotes ('...' and "..." with doubled or backslash escapes), backticked names,
and comments (``--``, ``//`` to the end of the line, ``/* ... */``). A ``\\G``
outside quotes also ends a statement (vertical output, as in mysql).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple


@dataclass(frozen=True)
class Piece:
    """One statement of a script.

    ``text`` runs from the statement's first significant character up to (not
    including) its terminator; ``offset``/``line``/``column`` (1-based) locate
    that first character in the script. ``terminated`` is False for a trailing
    statement without ``;``; ``vertical`` is True when it ended with ``\\G``.
    """
    text: str
    offset: int
    line: int
    column: int
    terminated: bool = True
    vertical: bool = False
    dot: bool = False


def _scan(text: str, dot_commands: bool = False) -> Tuple[List[Tuple[int, int, str]], Optional[str]]:
    """Walk ``text``; return the statement spans (start, end, terminator) where
    start is the first significant character and end follows the last one
    (trailing comments and blanks excluded), and the construct left open at the
    end (None, or "'", '"', '`', '/*')."""
    spans: List[Tuple[int, int, str]] = []
    n = len(text)
    i = 0
    start = -1  # first significant char of the current statement
    last = -1   # index after its last significant char
    while i < n:
        ch = text[i]
        if dot_commands and ch == "." and start < 0:
            j = text.find("\n", i)
            j = n if j < 0 else j
            spans.append((i, len(text[:j].rstrip()), "\n"))
            i = j + 1
            continue
        if ch in "'\"`":
            if start < 0:
                start = i
            j = i + 1
            closed = False
            while j < n:
                c = text[j]
                if c == "\\" and ch != "`":
                    j += 2
                    continue
                if c == ch:
                    if j + 1 < n and text[j + 1] == ch:  # doubled quote
                        j += 2
                        continue
                    closed = True
                    break
                j += 1
            if not closed:
                spans.append((start, n, ""))
                return spans, ch
            i = last = j + 1
            continue
        if ch == "-" and text.startswith("--", i) or ch == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if ch == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                if start >= 0:
                    spans.append((start, last, ""))
                return spans, "/*"
            i = j + 2
            continue
        if ch == ";" or ch == "\\" and text.startswith("\\G", i):
            term = ";" if ch == ";" else "\\G"
            if start >= 0:
                spans.append((start, last, term))
            start = -1
            i += len(term)
            continue
        if not ch.isspace():
            if start < 0:
                start = i
            last = i + 1
        i += 1
    if start >= 0:
        spans.append((start, last, ""))
    return spans, None


def _position(text: str, offset: int) -> Tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def split(text: str, dot_commands: bool = False) -> List[Piece]:
    """The statements of a script, in order, with their positions. Pieces that
    hold only whitespace or comments are dropped. With ``dot_commands``, a line
    that starts with ``.`` where a statement could start is a shell command
    (one line, no ``;`` needed): its piece has ``dot=True``."""
    pieces = []
    for start, end, term in _scan(text, dot_commands)[0]:
        line, column = _position(text, start)
        pieces.append(Piece(text[start:end], start, line, column,
                            terminated=bool(term), vertical=term == "\\G", dot=term == "\n"))
    return pieces


def is_complete(text: str, dot_commands: bool = False) -> bool:
    """True when the text ends with a terminated statement: the last ``;`` (or
    ``\\G``) lies outside quotes and comments and only whitespace or comments
    follow it. Empty text is not complete. With ``dot_commands``, a final
    shell-command line counts as complete."""
    spans, open_ = _scan(text, dot_commands)
    if open_ is not None:
        return False
    if not spans:
        return False
    return bool(spans[-1][2])


def open_construct(text: str) -> Optional[str]:
    """What is left open at the end of ``text`` (a quote or ``/*``), or None."""
    return _scan(text)[1]

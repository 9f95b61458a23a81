"""Lexical script splitter: cut CQL text into statements at ``;``.

Why lexical and not the parser: a script with a syntax error in statement 5 must
still run statements 1-4, and the REPL must know whether Enter should run the
buffer before anything is parsed. The splitter knows only what hides a ``;``:
quotes ('...' and "..." with doubled or backslash escapes), backticked names,
and comments (``--``, ``//`` to the end of the line, ``/* ... */``). A ``\\G``
outside quotes also ends a statement (vertical output, as in mysql).

With ``dot_commands`` (the shell), a line that starts where a statement could
start and begins with ``.`` or ``\\``, or with one of ``COMMAND_WORDS``
(mysql's ``help``, ``show tables``, ``describe C``; ``exit``), is one shell
command: it ends at the end of the line, ``;`` or not.
"""
from __future__ import annotations

import re
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


_SPECIAL = re.compile(r"['\"`;]|--|//|/\*|\\G")
#: Words that begin a shell command line (no CQL statement begins with one).
COMMAND_WORDS = ("help", "exit", "quit", "show", "describe", "desc")
_COMMAND_LINE = re.compile(r"[.\\]|(?i:%s)(?![\w.(])" % "|".join(COMMAND_WORDS))


def scan(text: str, dot_commands: bool = False) -> Tuple[List[Tuple[int, int, str]], Optional[str]]:
    """Walk ``text``; return the statement spans (start, end, terminator) where
    start is the first significant character and end follows the last one
    (trailing comments and blanks excluded), and the construct left open at the
    end (None, or "'", '"', '`', '/*'). Jumps from one special token to the
    next with a regex, so long scripts split in linear time."""
    spans: List[Tuple[int, int, str]] = []
    n = len(text)
    i = 0
    start = -1  # first significant char of the current statement
    last = -1   # index after its last significant char
    search = _SPECIAL.search
    while i < n:
        m = search(text, i)
        j = m.start() if m else n
        if j > i:  # plain text between specials
            chunk = text[i:j]
            stripped = chunk.strip()
            if stripped:
                if start < 0:
                    first = i + (len(chunk) - len(chunk.lstrip()))
                    if dot_commands and _COMMAND_LINE.match(text, first):
                        eol = text.find("\n", first)
                        eol = n if eol < 0 else eol
                        spans.append((first, first + len(text[first:eol].rstrip()), "\n"))
                        i = eol + 1
                        continue
                    start = first
                last = i + len(chunk.rstrip())
        if m is None:
            break
        tok = m.group()
        if tok in ("'", '"', "`"):
            if start < 0:
                start = j
            k = j + 1
            closed = False
            while True:
                q = text.find(tok, k)
                bs = text.find("\\", k, q if q >= 0 else n) if tok != "`" else -1
                if bs >= 0:
                    k = bs + 2
                    continue
                if q < 0:
                    break
                if q + 1 < n and text[q + 1] == tok:  # doubled quote
                    k = q + 2
                    continue
                closed = True
                break
            if not closed:
                spans.append((start, n, ""))
                return spans, tok
            i = last = q + 1
            continue
        if tok in ("--", "//"):
            e = text.find("\n", j)
            i = n if e < 0 else e + 1
            continue
        if tok == "/*":
            e = text.find("*/", j + 2)
            if e < 0:
                # Unclosed: the piece runs to the end, so the parser reports
                # "unterminated comment" instead of the rest vanishing silently.
                spans.append((start if start >= 0 else j, n, ""))
                return spans, "/*"
            i = e + 2
            continue
        # ";" or "\\G"
        if start >= 0:
            spans.append((start, last, tok))
        start = -1
        i = j + len(tok)
    if start >= 0:
        spans.append((start, last, ""))
    return spans, None


def split(text: str, dot_commands: bool = False) -> List[Piece]:
    """The statements of a script, in order, with their positions. Pieces that
    hold only whitespace or comments are dropped. With ``dot_commands``, a line
    that starts with ``.`` where a statement could start is a shell command
    (one line, no ``;`` needed): its piece has ``dot=True``."""
    pieces = []
    line, line_start, pos = 1, 0, 0  # counted incrementally: linear in the text
    for start, end, term in scan(text, dot_commands)[0]:
        nl = text.count("\n", pos, start)
        if nl:
            line += nl
            line_start = text.rfind("\n", pos, start) + 1
        pos = start
        column = start - line_start + 1
        pieces.append(Piece(text[start:end], start, line, column,
                            terminated=bool(term), vertical=term == "\\G", dot=term == "\n"))
    return pieces


def is_complete(text: str, dot_commands: bool = False) -> bool:
    """True when the text ends with a terminated statement: the last ``;`` (or
    ``\\G``) lies outside quotes and comments and only whitespace or comments
    follow it. Empty text is not complete. With ``dot_commands``, a final
    shell-command line counts as complete."""
    spans, open_ = scan(text, dot_commands)
    if open_ is not None:
        return False
    if not spans:
        return False
    return bool(spans[-1][2])


def open_construct(text: str) -> Optional[str]:
    """What is left open at the end of ``text`` (a quote or ``/*``), or None."""
    return scan(text)[1]

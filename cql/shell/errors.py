"""What the shell says when something goes wrong: ``CommandError`` (a dot
command used wrongly), strict UTF-8 decoding of scripts and data files, and
the ``NAME:LINE:COL: error NNN: message`` layout with the source line and a
caret. A leaf module: the session, the dot commands and ``.import``/``.export``
all use it, and it uses none of them.
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from .. import errors
from ..redact import redact_url
from ..splitter import Piece


class CommandError(Exception):
    """A dot command used wrongly (unknown name, bad argument)."""


def closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> Optional[str]:
    """The known name ``name`` was most likely meant to be: the same but for
    case, else the closest spelling (difflib), else None."""
    import difflib
    known = list(known)
    by_case = [k for k in known if k.lower() == name.lower()]
    if by_case:
        return by_case[0]
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[close[0]] if close else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``; did you mean Todo2?`` for the closest known name, else ''."""
    guess = closest(name, known)
    return f"; did you mean {guess}?" if guess else ""


def decode_text(data: bytes, name: str) -> str:
    """A script or data file as text: strict UTF-8 (a byte that is not UTF-8 is
    an error at its line and column, never a silently altered value), a leading
    byte-order mark dropped (Windows editors write one)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        raise CommandError(f"{name}:{line}:{column}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           "convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    return text[1:] if text.startswith("\ufeff") else text


def absolute_position(exc: errors.CQLError, piece: Optional[Piece]) -> tuple:
    """(line, column) of an error inside ``piece``, counted in the whole script."""
    if piece is None:
        return exc.line, exc.column
    if exc.line is None:
        return piece.line, piece.column
    line = piece.line + exc.line - 1
    column = exc.column if exc.line > 1 else (exc.column or 1) + piece.column - 1
    return line, column


def format_error(exc: BaseException, piece: Optional[Piece], source: str, name: Optional[str],
                 internal: bool = False) -> str:
    """``NAME:LINE:COL: error NNN: message``, then the source line and a caret
    (batch); without NAME the location is left out of the head (REPL)."""
    if internal:
        head = f"internal error: {type(exc).__name__}: {exc}"
    elif isinstance(exc, errors.CQLError):
        head = f"error {exc.code}: {exc.message}"
    elif isinstance(exc, OSError):
        head = f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        head = f"error: {exc}"
    lines: List[str] = []
    line = column = None
    if isinstance(exc, errors.CQLError):
        line, column = absolute_position(exc, piece)
    elif piece is not None:
        line, column = piece.line, piece.column
    if name is not None and line is not None:
        head = f"{name}:{line}:{column}: {head}"
    lines.append(head)
    if isinstance(exc, errors.CQLError) and exc.line is not None and line is not None:
        src_lines = source.splitlines()
        if 1 <= line <= len(src_lines):
            text = src_lines[line - 1]
            lines.append(text)
            lines.append(errors.caret_under(text, column))
    return "\n".join(lines)


def open_error(target: Optional[str], exc: errors.Error) -> str:
    """The message for a target that could not be opened (naming it once)."""
    msg = exc.message if isinstance(exc, errors.CQLError) else str(exc)
    if target and repr(target) in msg:  # the message names the file already
        return msg
    return f"cannot open {redact_url(target) or 'a transient database'}: {msg}"

"""Errors: the PEP 249 hierarchy, with CQLError (LeanCloud codes) fitted into it.

Every failure a user can cause is a CQLError with a LeanCloud-style ``code``.
Syntax errors also carry ``line``/``column`` (1-based) and render the source
line with a caret under the spot, like sqlite3 and cqlsh do.
"""
from __future__ import annotations

from typing import Any, Optional


class Warning(Exception):  # noqa: A001 - name fixed by PEP 249
    """PEP 249 Warning."""


class Error(Exception):
    """PEP 249 base class of every error this package raises."""


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class CQLError(DatabaseError):
    """A failure with a LeanCloud error code and a message a person can act on.

    ``line``/``column`` are 1-based and set when the error points into CQL text;
    ``source`` is that text, so ``str()`` can show the line with a caret.
    """

    code = 1

    def __init__(self, message: str, code: Optional[int] = None, *,
                 line: Optional[int] = None, column: Optional[int] = None,
                 source: Optional[str] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.line = line
        self.column = column
        self.source = source

    @property
    def error(self) -> str:
        """The message (the LeanCloud SDK's LeanCloudError spelling)."""
        return self.message

    def with_position(self, line: Optional[int], column: Optional[int],
                      source: Optional[str]) -> "CQLError":
        """Attach a position unless one is already set; returns self."""
        if self.line is None and line is not None:
            self.line, self.column = line, column
        if self.source is None:
            self.source = source
        return self

    @property
    def source_line(self) -> Optional[str]:
        if self.source is None or self.line is None:
            return None
        lines = self.source.splitlines() or [""]
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return None

    def caret(self) -> str:
        """The offending source line and a caret under the column ('' if unknown)."""
        text = self.source_line
        if text is None or self.column is None:
            return ""
        return f"{text}\n{caret_under(text, self.column)}"

    def location(self) -> str:
        if self.line is None:
            return ""
        return f"line {self.line}, column {self.column}"

    def __str__(self) -> str:
        head = self.message
        if self.line is not None:
            head = f"{head} (at {self.location()})"
        caret = self.caret()
        return f"{head}\n{caret}" if caret else head

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r})"


class CQLSyntaxError(CQLError, ProgrammingError):
    """Text that is not CQL (code 300)."""
    code = 300


class UnsupportedError(CQLError, NotSupportedError):
    """SQL that CQL does not have: joins, group by, aliases, ... (code 300)."""
    code = 300


class ParameterError(CQLError, ProgrammingError):
    """Wrong number or kind of ``?`` parameters (code 300)."""
    code = 300


class InvalidGeoPoint(CQLError, DataError):
    code = 302


class InvalidClassName(CQLError, ProgrammingError):
    code = 103


class InvalidKey(CQLError, ProgrammingError):
    code = 105


class MissingObjectId(CQLError, ProgrammingError):
    code = 104


class ObjectNotFound(CQLError, DatabaseError):
    code = 101


class ConditionNotMet(CQLError, IntegrityError):
    """A conditional write whose where did not match (code 305)."""
    code = 305


class InvalidJSON(CQLError, DataError):
    code = 107


class TypeMismatch(CQLError, DataError):
    """An op or a value that does not fit the stored type (code 111)."""
    code = 111


class ServerError(CQLError, OperationalError):
    """An error answered by a server; keeps the server's code and text."""


class ConnectionFailed(CQLError, OperationalError):
    """The server could not be reached (LeanCloud's code 100)."""
    code = 100


class OutcomeUnknown(ConnectionFailed, ServerError):
    """A write whose answer was lost after the request may have reached the
    server (a dropped connection, a read timeout, a gateway's 502/504): it may
    or may not have been applied. Never "failed": sending it again may apply it
    twice. The message says what to check."""
    code = 100


class StorageError(CQLError, OperationalError):
    """The embedded database file could not be read or written."""
    code = 1


class InvalidOption(CQLError, InterfaceError):
    """A connection option that does not exist or has a value it cannot take."""
    code = 1


class QueryTimeout(CQLError, OperationalError):
    """A statement ran out of its time budget (LeanCloud's code 124)."""
    code = 124


def describe(value: Any, limit: int = 200) -> str:
    """``repr(value)`` for a message, never raising and at most ``limit``
    characters: a caller's value may have a ``__repr__`` that raises, be an int
    too long to print (ValueError past 4,300 digits) or nest too deeply."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - whatever a hostile __repr__ raises
        if isinstance(value, int):
            text = f"<an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits>"
        else:
            try:
                text = f"<a {type(value).__name__} value that cannot be shown>"
            except Exception:  # noqa: BLE001
                text = "<a value that cannot be shown>"
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def error_at(cls: type, message: str, where: Any, source: Optional[str]) -> CQLError:
    """A ``cls`` error pointing into CQL text: at ``where`` (anything with 1-based
    ``line``/``column``, such as an AST node or position; None for no position)
    of ``source``. Every positioned error of the parser and planner is made here."""
    if where is None:
        return cls(message, source=source)
    return cls(message, line=where.line, column=where.column, source=source)


def caret_under(text: str, column: int) -> str:
    """A caret under ``column`` (1-based) of the source line ``text``: tabs are
    kept and a wide (CJK) character gets two spaces, so the caret lines up on
    the terminal."""
    prefix = text[: max(column - 1, 0)]
    if prefix.isascii():
        return "".join("\t" if ch == "\t" else " " for ch in prefix) + "^"
    from wcwidth import wcwidth
    return "".join("\t" if ch == "\t" else " " * max(wcwidth(ch), 1) for ch in prefix) + "^"


class BadValueError(CQLError, DataError):
    """A cql.Model property given a value it does not take, or a required one
    left empty; raised before anything is sent (code 142, a validation error;
    111 for a value of the wrong type)."""
    code = 142


class BatchWriteError(CQLError, DatabaseError):
    """Some writes of ``save_all``/``destroy_all``/``put_multi``/``delete_multi``
    failed. ``failures`` lists ``(item, CQLError)`` for every one that failed
    (not only the first); every other item was written."""

    def __init__(self, what: str, failures: list, total: int):
        codes = {err.code for _, err in failures}
        lines = "; ".join(f"{_describe(item)}: code {err.code} {err.message}" for item, err in failures[:20])
        more = f"; and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"{len(failures)} of {total} {what} failed ({total - len(failures)} succeeded): "
                         f"{lines}{more}", codes.pop() if len(codes) == 1 else 1)
        self.failures = failures


def _describe(item: object) -> str:
    label = getattr(item, "describe", None)
    return label() if callable(label) else repr(item)

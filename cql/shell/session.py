"""Session: one connection plus the shell's settings; runs statements and
scripts and prints their results. The REPL and the batch runner both drive a
Session, so a statement behaves the same typed, piped or ``.read``.

Statements run through ``Connection.execute`` (so a LeanCloud connection with
cloudQuery sends the text as is); an update or delete of many objects is
planned first only to count what it touches and ask. Dot commands are
dispatched by cql.shell.commands. The shell knows Results, not parse trees.
"""
from __future__ import annotations

import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from .. import errors
from ..splitter import Piece, split
from . import formats
from .config import Settings
from .errors import CommandError, closest, format_error

# SELECT and INSERT never change existing objects: no need to plan one first to ask.
_READ_OR_INSERT = re.compile(r"(?i)(select|insert)\b")
RED = "\x1b[31m"
YELLOW = "\x1b[33m"
RESET = "\x1b[0m"


def debug() -> bool:
    """CQL_DEBUG=1: let unexpected exceptions through (tests use it)."""
    return os.environ.get("CQL_DEBUG", "") not in ("", "0")


class Session:
    """A connection and the settings the dot commands change."""

    def __init__(self, target: Optional[str] = None, options: Optional[Dict[str, Any]] = None, *,
                 settings: Optional[Settings] = None, fmt: Optional[str] = None, interactive: bool = False,
                 color: bool = False, yes: bool = False, continue_on_error: bool = False,
                 stdout: Optional[TextIO] = None, stderr: Optional[TextIO] = None):
        settings = settings or Settings()
        self.target = target
        self.options = dict(options or {})
        self.format = fmt or settings.format
        self.interactive = interactive
        self.color = color
        self.yes = yes
        self.continue_on_error = continue_on_error
        self.timing = settings.timing
        self.pager = settings.pager != "off"
        self.pager_command = None if settings.pager in ("on", "off") else settings.pager
        self.headers = settings.headers
        self.auto_vertical = settings.auto_vertical
        #: an update/delete touching more objects than this asks first
        self.confirm_threshold = settings.confirm_threshold
        #: shell variables (.set NAME VALUE), bound where a statement says :NAME
        self.variables: Dict[str, Any] = {}
        #: the progress line of the script running (cleared before a question)
        self.progress: Optional[Any] = None
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.out: TextIO = self.stdout
        self._out_file: Optional[TextIO] = None
        self.conn = None
        self.quit_requested = False
        #: real paths of the files .read is running (to refuse a .read loop)
        self.reading: List[str] = []
        #: called after anything that may change the schema (completion refresh)
        self.on_schema_change: Optional[Callable[[], None]] = None
        self.ask: Callable[[str], Optional[bool]] = self._ask_terminal

    # -- connection --------------------------------------------------------------
    def connect(self, target: Optional[str] = None, options: Optional[Dict[str, Any]] = None) -> None:
        """Open ``target`` (None: transient), closing the current connection
        only once the new one is open."""
        from ..connection import connect
        opts = self.options if options is None else options
        is_url = bool(target) and str(target).startswith(("http://", "https://"))
        conn = connect(target, **(opts if is_url else {}))
        if self.conn is not None:
            self.conn.close()
        self.conn, self.target = conn, target
        if options is not None:
            self.options = dict(options)
        self.schema_changed()

    def connection(self):
        if self.conn is None:
            self.connect(self.target)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        try:
            self.set_output(None)
        except OSError as exc:
            self.echo(self.paint(f"error: {exc.strerror}"), err=True)

    def schema_changed(self) -> None:
        if self.on_schema_change is not None:
            self.on_schema_change()

    # -- output --------------------------------------------------------------------
    def set_output(self, path: Optional[str]) -> None:
        """Send results to ``path`` (None or "stdout": back to the terminal)."""
        if path not in (None, "stdout", "-"):
            from .transfer import refuse_database_file
            refuse_database_file(path, getattr(self.conn, "target", None))
        old, self._out_file, self.out = self._out_file, None, self.stdout
        failed: Optional[OSError] = None
        if old is not None:
            try:
                old.close()
            except OSError as exc:  # the last buffered results did not reach the file
                failed = OSError(exc.errno, f"could not finish writing {old.name}: {exc.strerror}")
        if path not in (None, "stdout", "-"):
            self._out_file = open(path, "w", encoding="utf-8")
            self.out = self._out_file
        if failed is not None:
            raise failed

    def echo(self, text: str, *, err: bool = False) -> None:
        stream = self.stderr if err else self.out
        self.clear_progress()
        stream.write(text + "\n")
        stream.flush()

    def clear_progress(self) -> None:
        """Erase the progress line before anything else reaches the terminal
        (it is drawn again at the next statement)."""
        if self.progress is not None:
            self.progress.clear()

    def message(self, text: str) -> None:
        """A status line: stdout in the REPL (it is the conversation), stderr in batch."""
        self.echo(text, err=not self.interactive)

    def paint(self, text: str, colour: str = RED) -> str:
        return f"{colour}{text}{RESET}" if self.color else text

    def warn(self, text: str) -> None:
        self.echo(self.paint(text, YELLOW), err=True)

    # -- running ---------------------------------------------------------------------
    def run_script(self, text: str, name: str) -> bool:
        """Run every statement and dot command of ``text``; errors are reported
        as ``name:line:col``. Stops at the first error unless continue_on_error.
        True when everything succeeded."""
        pieces = split(text, dot_commands=True)
        ok = True
        outer, progress = self.progress, None
        if not self.interactive and len(pieces) > 1:
            from .progress import Progress
            progress = self.progress = Progress(len(pieces), self.stderr, "statements")
        try:
            for i, piece in enumerate(pieces):
                if progress is not None:
                    progress.update(i)
                if not self.run_piece(piece, text, name):
                    ok = False
                    if not self.continue_on_error:
                        break
                if self.quit_requested:
                    break
        finally:
            if progress is not None:
                progress.close()
            self.progress = outer
        return ok

    def run_piece(self, piece: Piece, source: str, name: Optional[str]) -> bool:
        """One statement or dot command; True when it succeeded."""
        try:
            if piece.dot:
                from .commands import dispatch
                dispatch(self, piece.text)
            else:
                self.run_statement(piece.text, vertical=piece.vertical)
            return True
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except errors.CQLError as exc:
            self.report(exc, piece, source, name)
        except errors.Error as exc:
            self.report(exc, piece, source, name)
        except CommandError as exc:
            self.report(exc, piece, source, name)
        except OSError as exc:
            self.report(exc, piece, source, name)
        except Exception as exc:  # a bug: one line, never a traceback (unless CQL_DEBUG)
            if debug():
                raise
            self.report(exc, piece, source, name, internal=True)
        return False

    def run_statement(self, text: str, vertical: bool = False, args: Sequence[Any] = (),
                      show: bool = True) -> Optional[Any]:
        """Execute one CQL statement (``:name`` variables and ``args`` bound to
        its placeholders) and print its result; None when the user declined
        the confirmation."""
        from .values import bind
        conn = self.connection()
        text, params = bind(text, args, self.variables)
        if not self.yes and not _READ_OR_INSERT.match(text):
            from ..plan import Delete, Update
            plan = conn.plan(text, *params)
            if isinstance(plan, (Update, Delete)) and not plan.pinned and not self.confirm_write(plan):
                self.message("cancelled; nothing changed")
                return None
        start = time.perf_counter()
        result = conn.execute(text, *params)
        elapsed = time.perf_counter() - start
        if show:
            self.show(result, elapsed if self.timing else None, vertical=vertical)
            self.note_missing_class(result)
        if result.kind != "select":
            self.schema_changed()
        return result

    def confirm_write(self, plan: Any) -> bool:
        """Ask before an update/delete of more objects than confirm_threshold
        (one, unless the config file says otherwise); True to go on."""
        from ..plan import Update
        count = self.connection().backend.run(plan.matching()).count or 0
        if count <= self.confirm_threshold:
            return True
        verb = "update" if isinstance(plan, Update) else "delete"
        question = (f"This will {verb} {formats.plural(count, 'object')} in {plan.class_name}. "
                    "Continue? [y/N] ")
        self.clear_progress()  # the question starts a clean line
        answer = self.ask(question)
        return True if answer is None else answer

    def note_missing_class(self, result: Any) -> None:
        """A read or write that found nothing in a class that does not exist,
        while one with a close name does, says so (``todo2`` for ``Todo2``):
        a note on stderr, not an error, since the class may be a new one."""
        if result.kind == "insert" or result.objects or result.rowcount or result.count:
            return
        if str(self.target or "").startswith(("http://", "https://")) and not self.options.get("master_key"):
            return  # without the master key a server's schema lists only some classes
        try:
            schema = self.connection().schema()
        except errors.Error:
            return
        guess = closest(result.class_name, schema) if result.class_name not in schema else None
        if guess is not None:
            self.warn(f"note: no class {result.class_name} (did you mean {guess}?)")

    def _ask_terminal(self, question: str) -> Optional[bool]:
        from .confirm import ask
        return ask(question, stderr=self.stderr)

    # -- printing results -----------------------------------------------------------------
    def show(self, result: Any, elapsed: Optional[float] = None, vertical: bool = False) -> None:
        """Print a result: on the terminal, table cells are cut to its width
        and (auto_vertical) a table wider than it turns vertical; elsewhere
        values are whole."""
        mode = "vertical" if vertical and self.format in formats.HUMAN else self.format
        on_terminal = mode == "table" and self.interactive and self.out is self.stdout
        cols = _terminal_size()[0] if on_terminal else 0
        text = formats.render(result, mode, limit=max(cols - 4, 8) if on_terminal else None,
                              headers=self.headers)
        if on_terminal and self.auto_vertical and text and formats.text_width(text) > cols:
            text = formats.render(result, "vertical")
        if mode in formats.HUMAN:
            status = formats.status_line(result, elapsed)
            text = f"{text}\n{status}" if text else status
            self.write_paged(text)
        else:
            # Machine formats carry select results only, so a script that
            # writes and then queries still yields one clean document stream.
            if text and result.kind == "select":
                self.clear_progress()
                self.out.write(text + "\n")
                self.out.flush()
            if result.kind == "select" and result.truncated:
                self.warn(f"note: limit 100 reached ({result.class_name}); add LIMIT n or LIMIT skip, n to see more")
            if elapsed is not None:
                self.echo(f"Time: {formats.format_time(elapsed)}", err=True)

    def write_paged(self, text: str) -> None:
        """Write ``text``; through the pager when interactive, on the terminal,
        and taller than the screen."""
        if self.interactive and self.pager and self.out is self.stdout:
            _cols, rows = _terminal_size()
            if text.count("\n") + 1 > rows - 2:
                from .pager import page
                if page(text, self.pager_command):
                    return
        self.clear_progress()
        self.out.write(text + "\n")
        self.out.flush()

    # -- errors -----------------------------------------------------------------------
    def report(self, exc: BaseException, piece: Optional[Piece], source: str, name: Optional[str],
               internal: bool = False) -> None:
        self.echo(self.paint(format_error(exc, piece, source, name, internal=internal)), err=True)


def _terminal_size():
    import shutil
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines

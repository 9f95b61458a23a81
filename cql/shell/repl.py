"""The interactive shell: prompt_toolkit prompt, highlighting, completion,
history, and the read-run-print loop over a Session."""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, Optional

from .. import errors
from ..splitter import is_complete, split
from .errors import open_error
from .session import Session, debug

PROMPT = "cql> "
CONTINUATION = "...> "
QUIT_WORDS = ("exit", "quit", "\\q")


def history_path() -> str:
    """$CQL_HISTORY, else $XDG_DATA_HOME/cql/history (~/.local/share/cql/history)."""
    explicit = os.environ.get("CQL_HISTORY")
    if explicit:
        return os.path.expanduser(explicit)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "cql", "history")


def private_history(file_history: Any) -> Any:
    """The history file, readable by its owner only (it may hold statements with
    customer data): the file 0600 and the directory cql creates for it 0700
    (the default one is tightened if it exists); URL passwords (``.open
    http://bob:secret@host``) are written as ``***``. ``file_history``:
    prompt_toolkit's FileHistory (passed in: this module imports it lazily)."""
    from ..redact import redact_text
    path = history_path()
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
        os.chmod(directory, 0o700)  # makedirs' mode is masked by the umask
    elif not os.environ.get("CQL_HISTORY"):
        os.chmod(directory, os.stat(directory).st_mode & 0o700)  # our own directory: private
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)

    class PrivateHistory(file_history):  # type: ignore[misc, valid-type]
        def store_string(self, string: str) -> None:
            super().store_string(redact_text(string))

    return PrivateHistory(path)


def buffer_complete(text: str) -> bool:
    """Enter runs the buffer when this is True, else it inserts a newline:
    empty input, a dot command, quit/exit, or statements ending in ``;``/``\\G``
    outside quotes and comments."""
    stripped = text.strip()
    if not stripped or stripped.lower().rstrip(";") in QUIT_WORDS:
        return True
    return is_complete(text, dot_commands=True)


def banner(session: Session) -> str:
    from .. import __version__
    what = session.conn.description if session.conn is not None else ""
    what = what or (session.target or "transient in-memory database")
    if session.target is None and "open" not in what:
        what += "; use .open FILE to persist"
    return (f"cql {__version__}: {what}\n"
            "End statements with ; (\\G for vertical output). .help lists the commands, Ctrl-D exits.")


def make_prompt(session: Session, vi: bool, completer: Any):
    """The PromptSession: multi-line, highlighted, completing, with history."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.lexers import PygmentsLexer

    try:
        history: Any = private_history(FileHistory)
    except OSError:
        history = InMemoryHistory()

    lexer = None
    if session.color:
        from .lexer import CQLLexer
        lexer = PygmentsLexer(CQLLexer)

    multiline = Condition(lambda: not buffer_complete(get_app().current_buffer.text))
    return PromptSession(
        message=PROMPT,
        prompt_continuation=lambda width, line_number, is_soft_wrap: CONTINUATION.rjust(width),
        multiline=multiline,
        lexer=lexer,
        completer=completer,
        complete_while_typing=True,
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        enable_history_search=False,
        vi_mode=vi,
        include_default_pygments_style=True,
        color_depth=None if session.color else _mono(),
    )


def _mono():
    from prompt_toolkit.output import ColorDepth
    return ColorDepth.MONOCHROME


def run_buffer(session: Session, text: str) -> None:
    """Run everything in one accepted buffer (pasted scripts run in full; the
    first error stops the rest)."""
    if text.strip().lower().rstrip(";") in QUIT_WORDS:
        session.quit_requested = True
        return
    for piece in split(text, dot_commands=True):
        if not session.run_piece(piece, text, None):
            break
        if session.quit_requested:
            break


def run_repl(target: Optional[str], options: Dict[str, Any], *, fmt: str = "table", color: bool = True,
             yes: bool = False, vi: bool = False) -> int:
    """The interactive loop; returns the exit status."""
    session = Session(target, options, fmt=fmt, interactive=True, color=color, yes=yes,
                      continue_on_error=False)
    try:
        session.connect(target)
    except errors.Error as exc:
        sys.stderr.write(f"cql: error: {open_error(target, exc)}\n")
        return 1
    from .completer import CQLCompleter
    completer = CQLCompleter(lambda: session.connection().schema())
    session.on_schema_change = completer.mark_stale

    prompt = make_prompt(session, vi, completer)
    print(banner(session))
    try:
        while not session.quit_requested:
            try:
                text = prompt.prompt()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            try:
                run_buffer(session, text)
            except KeyboardInterrupt:
                session.echo(session.paint("interrupted"), err=True)
            except Exception as exc:  # never a traceback at the prompt
                if debug():
                    raise
                session.echo(session.paint(f"internal error: {type(exc).__name__}: {exc}"), err=True)
    finally:
        session.close()
    return 0

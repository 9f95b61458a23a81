"""The interactive shell: prompt_toolkit prompt, highlighting, completion,
history, and the read-run-print loop over a Session."""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, Optional

from .. import errors
from ..splitter import is_complete, open_construct, split
from .config import Settings
from .errors import open_error
from .session import Session, debug

PROMPT = "cql> "
CONTINUATION = "...> "
#: what the continuation prompt shows while a quote or comment is open (as mysql's '>)
OPEN = {"'": "'> ", '"': '"> ', "`": "`> ", "/*": "*/> "}


def history_path(configured: str = "") -> str:
    """$CQL_HISTORY, else the config file's history_file, else
    $XDG_DATA_HOME/cql/history (~/.local/share/cql/history)."""
    explicit = os.environ.get("CQL_HISTORY") or configured
    if explicit:
        return os.path.expanduser(explicit)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "cql", "history")


def private_history(file_history: Any, path: Optional[str] = None) -> Any:
    """The history file, readable by its owner only (it may hold statements with
    customer data): the file 0600 and the directory cql creates for it 0700
    (the default one is tightened if it exists); URL passwords (``.open
    http://bob:secret@host``) are written as ``***``. ``file_history``:
    prompt_toolkit's FileHistory (passed in: this module imports it lazily);
    ``path``: a history_file of the config file (default: history_path())."""
    from ..redact import redact_text
    own = path is None and not os.environ.get("CQL_HISTORY")  # the default place: cql's own directory
    path = path or history_path()
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
        os.chmod(directory, 0o700)  # makedirs' mode is masked by the umask
    elif own:
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


def trim_history(path: str, size: int) -> None:
    """Keep the last ``size`` entries of a prompt_toolkit history file (each
    starts with a ``# time`` line); rewritten, with the file's permissions,
    only when it holds more."""
    import re
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return
    starts = [m.start() for m in re.finditer(r"^# ", text, re.M)]
    if len(starts) <= size:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text[max(starts[-size] - 1, 0):] if size else "")  # from the blank line before
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.remove(tmp)


def buffer_complete(text: str) -> bool:
    """Enter runs the buffer when this is True, else it inserts a newline:
    empty input, a shell command line (``.schema``, ``\\d``, ``help``,
    ``exit``...), or statements ending in ``;``/``\\G`` outside quotes and
    comments."""
    if not text.strip():
        return True
    return is_complete(text, dot_commands=True)


def continuation(text: str, line_number: int, wrap_count: int, width: int) -> str:
    """The prompt before line ``line_number`` (0-based) of ``text``: nothing
    on a line the terminal wrapped, ``'> `` (right-aligned) while a quote is
    open, ``...> `` otherwise."""
    if wrap_count:
        return ""
    lines = text.split("\n")
    opened = open_construct("\n".join(lines[:line_number]) + "\n") if line_number else None
    return OPEN.get(opened or "", CONTINUATION).rjust(width)


def open_hint(text: str) -> str:
    """The way out of an open quote or comment (shown beside the input)."""
    opened = open_construct(text)
    if opened is None:
        return ""
    closer = "*/" if opened == "/*" else opened
    return f"open {opened}: close it with {closer}, or Ctrl-C to cancel "


def banner(session: Session) -> str:
    from .. import __version__
    what = session.conn.description if session.conn is not None else ""
    what = what or (session.target or "transient in-memory database")
    if session.target is None and "open" not in what:
        what += "; use .open FILE to persist"
    return (f"cql {__version__}: {what}\n"
            "End statements with ; (\\G for vertical output). .help lists the commands, Ctrl-D exits.")


def make_prompt(session: Session, settings: Settings, completer: Any):
    """The PromptSession: multi-line, highlighted, completing, with history."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.lexers import PygmentsLexer

    path = history_path(settings.history_file)
    trim_history(path, settings.history_size)
    try:
        history: Any = private_history(FileHistory, path if settings.history_file else None)
    except OSError:
        history = InMemoryHistory()

    lexer = style = None
    if session.color:
        from .lexer import CQLLexer
        lexer = PygmentsLexer(CQLLexer)
        if settings.syntax_style != "default":
            from prompt_toolkit.styles import style_from_pygments_cls
            from pygments.styles import get_style_by_name
            style = style_from_pygments_cls(get_style_by_name(settings.syntax_style))

    prompt: Any = None

    def text() -> str:
        # The input line's text, also while Ctrl-R searches (the app's
        # current buffer is then the search text: reading it hid the match).
        return prompt.default_buffer.text if prompt is not None else ""

    prompt = PromptSession(
        message=PROMPT,
        prompt_continuation=lambda width, line, wraps: continuation(text(), line, wraps, width),
        multiline=Condition(lambda: not buffer_complete(text())),
        rprompt=lambda: open_hint(text()),
        lexer=lexer,
        style=style,
        completer=completer,
        complete_while_typing=True,
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        enable_history_search=False,
        vi_mode=settings.key_bindings == "vi",
        include_default_pygments_style=style is None,
        color_depth=None if session.color else _mono(),
    )
    return prompt


def _mono():
    from prompt_toolkit.output import ColorDepth
    return ColorDepth.MONOCHROME


def run_buffer(session: Session, text: str) -> None:
    """Run everything in one accepted buffer (pasted scripts run in full; the
    first error stops the rest)."""
    for piece in split(text, dot_commands=True):
        if not session.run_piece(piece, text, None):
            break
        if session.quit_requested:
            break


def run_repl(target: Optional[str], options: Dict[str, Any], *, settings: Optional[Settings] = None,
             fmt: Optional[str] = None, color: bool = True, yes: bool = False) -> int:
    """The interactive loop; returns the exit status."""
    settings = settings or Settings()
    session = Session(target, options, settings=settings, fmt=fmt, interactive=True, color=color, yes=yes,
                      continue_on_error=False)
    try:
        session.connect(target)
    except errors.Error as exc:
        sys.stderr.write(f"cql: error: {open_error(target, exc)}\n")
        return 1
    from .completer import CQLCompleter
    completer = CQLCompleter(lambda: session.connection().schema())
    session.on_schema_change = completer.mark_stale

    prompt = make_prompt(session, settings, completer)
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

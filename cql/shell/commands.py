"""Dot commands: ONE registry, filled by a decorator, so ``.help``, dispatch
and completion all read the same table (the litecli/pgspecial pattern).
``Session.run_piece`` hands every dot-command line to ``dispatch``; a handler
gets the session and its argument text."""
from __future__ import annotations

import difflib
import json
import os
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from .errors import CommandError, decode_text
from .formats import plural

if TYPE_CHECKING:  # the session calls dispatch(); this module never imports it at run time
    from .session import Session

Handler = Callable[["Session", str], None]


@dataclass(frozen=True)
class Command:
    """A dot command. ``args`` is the usage text; ``complete`` names what each
    argument is ("file", "class", "format", "onoff", "statement", "command")
    so the completer can offer candidates."""
    name: str
    func: Handler
    aliases: Tuple[str, ...] = ()
    args: str = ""
    description: str = ""
    complete: Tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        return f"{self.name} {self.args}".rstrip()


_COMMANDS: List[Command] = []
_BY_NAME: Dict[str, Command] = {}


def command(name: str, *, aliases: Sequence[str] = (), args: str = "", description: str = "",
            complete: Sequence[str] = ()) -> Callable[[Handler], Handler]:
    """Register ``func(session, argument_text)`` as the dot command ``name``."""
    def register(func: Handler) -> Handler:
        cmd = Command(name, func, tuple(aliases), args, description, tuple(complete))
        for key in (name, *aliases):
            if key in _BY_NAME:
                raise ValueError(f"dot command {key} registered twice")
            _BY_NAME[key] = cmd
        _COMMANDS.append(cmd)
        return func
    return register


def all_commands() -> List[Command]:
    return list(_COMMANDS)


def names() -> List[str]:
    """Every name and alias."""
    return sorted(_BY_NAME)


def lookup(name: str) -> Command:
    """The command called ``name`` (with its dot); CommandError with a
    suggestion when there is none."""
    cmd = _BY_NAME.get(name) or _BY_NAME.get(name.lower())
    if cmd is not None:
        return cmd
    close = difflib.get_close_matches(name.lower(), names(), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise CommandError(f"unknown command {name}{hint} (.help lists the commands)")


def dispatch(session: Session, line: str) -> None:
    """Run one dot-command line. A trailing ';' (a habit from statements, as in
    mycli) is dropped: ``.open app.db;`` must not create a file named 'app.db;'."""
    line = line.strip().rstrip(";").rstrip()
    name, _, rest = line.partition(" ")
    if "\t" in name:
        name, _, more = name.partition("\t")
        rest = more + " " + rest
    lookup(name).func(session, rest.strip())


def _words(arg: str) -> List[str]:
    try:
        return shlex.split(arg)
    except ValueError as exc:
        raise CommandError(f"cannot read the arguments: {exc}") from None


def _exact_words(arg: str, count: int, usage: str) -> List[str]:
    """The arguments of a command that takes exactly ``count`` of them."""
    words = _words(arg)
    if len(words) != count:
        raise CommandError(f"usage: {usage}")
    return words


def _optional_word(arg: str, usage: str) -> Optional[str]:
    """The one argument of a command that takes at most one (None without it)."""
    words = _words(arg)
    if len(words) > 1:
        raise CommandError(f"usage: {usage}")
    return words[0] if words else None


def _on_off(value: str, usage: str) -> bool:
    v = value.strip().lower()
    if v in ("on", "yes", "true", "1"):
        return True
    if v in ("off", "no", "false", "0"):
        return False
    raise CommandError(f"usage: {usage}")


# -- the commands ---------------------------------------------------------------

@command(".help", aliases=(".h", "\\?"), args="[COMMAND]", description="List the commands, or show one",
         complete=("command",))
def _help(session: Session, arg: str) -> None:
    if arg:
        cmd = lookup(arg if arg.startswith(".") else "." + arg)
        aliases = f" (also {', '.join(cmd.aliases)})" if cmd.aliases else ""
        session.echo(f"{cmd.usage}{aliases}\n    {cmd.description}")
        return
    width = max(len(c.usage) for c in _COMMANDS)
    lines = [f"{c.usage.ljust(width)}  {c.description}" for c in _COMMANDS]
    lines.append("")
    lines.append("End a statement with ; (or \\G for vertical output). Ctrl-R searches history, Ctrl-D exits.")
    session.echo("\n".join(lines))


@command(".quit", aliases=(".exit", ".q"), description="Leave the shell")
def _quit(session: Session, arg: str) -> None:
    session.quit_requested = True


@command(".open", args="[TARGET]", complete=("file",),
         description="Open a database file, an http(s):// URL, or (no argument) a transient one")
def _open(session: Session, arg: str) -> None:
    session.connect(_optional_word(arg, ".open [TARGET]"))
    session.message(f"connected to {session.conn.description or session.target}")


@command(".classes", aliases=(".tables",), description="List the classes")
def _classes(session: Session, arg: str) -> None:
    schema = session.connection().schema()
    if schema:
        session.echo("\n".join(sorted(schema)))
    else:
        session.message("no classes yet")


@command(".check", description="Check the open database file's integrity (reads the whole file)")
def _check(session: Session, arg: str) -> None:
    _exact_words(arg, 0, ".check")
    conn = session.connection()
    from .. import errors
    try:
        problems = conn.check()
    except errors.NotSupportedError as exc:
        raise CommandError(str(exc)) from None
    if problems:
        shown = "\n".join(problems[:20]) + (f"\n... ({len(problems)} in all)" if len(problems) > 20 else "")
        raise CommandError(f"{session.target}: the file is damaged ({len(problems)} problem"
                           f"{'s' if len(problems) != 1 else ''} found by SQLite's integrity check):\n{shown}\n"
                           "restore it from a backup; sqlite3 FILE .recover may save the rest")
    session.message(f"ok: {session.target or 'the transient database'} passed SQLite's integrity check")


@command(".schema", args="[CLASS]", complete=("class",), description="Show the fields of every class, or of one")
def _schema(session: Session, arg: str) -> None:
    schema = session.connection().schema()
    words = _words(arg)
    if words:
        missing = [w for w in words if w not in schema]
        if missing:
            close = difflib.get_close_matches(missing[0], list(schema), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise CommandError(f"no class {missing[0]}{hint}")
        names_ = words
    else:
        names_ = sorted(schema)
    out = []
    for name in names_:
        fields = schema[name]
        out.append(name)
        width = max((len(f) for f in fields), default=0)
        for field, kind in fields.items():
            out.append(f"  {field.ljust(width)}  {kind}")
    session.echo("\n".join(out) if out else "no classes yet")


@command(".format", aliases=(".mode",), args="[MODE]", complete=("format",),
         description="Output format: table, vertical, json, jsonl, csv, markdown")
def _format(session: Session, arg: str) -> None:
    from .formats import FORMATS
    mode = arg.strip().lower()
    if not mode:
        session.echo(f"format: {session.format}")
        return
    if mode not in FORMATS:
        close = difflib.get_close_matches(mode, FORMATS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise CommandError(f"unknown format {mode}{hint} (one of: {', '.join(FORMATS)})")
    session.format = mode


@command(".timing", aliases=(".timer",), args="on|off", complete=("onoff",),
         description="Show how long each statement took")
def _timing(session: Session, arg: str) -> None:
    session.timing = _on_off(arg, ".timing on|off")


@command(".pager", args="on|off", complete=("onoff",), description="Page output taller than the screen")
def _pager(session: Session, arg: str) -> None:
    session.pager = _on_off(arg, ".pager on|off")


@command(".explain", args="STATEMENT", complete=("statement",),
         description="Show the REST requests a statement makes (it is not run)")
def _explain(session: Session, arg: str) -> None:
    text = arg.strip().rstrip(";").strip()
    if not text:
        raise CommandError("usage: .explain STATEMENT")
    requests = session.connection().explain(text)
    session.echo(json.dumps(requests, ensure_ascii=False, indent=2))


@command(".read", aliases=(".source",), args="FILE", complete=("file",), description="Run the statements in FILE")
def _read(session: Session, arg: str) -> None:
    path, = _exact_words(arg, 1, ".read FILE")
    key = os.path.realpath(path)
    if key in session.reading:
        raise CommandError(f".read {path}: the file is already being read (a .read loop); not read again")
    with open(path, "rb") as f:
        text = decode_text(f.read(), path)
    session.reading.append(key)
    try:
        ok = session.run_script(text, path)
    finally:
        session.reading.pop()
    if not ok:
        raise CommandError(f"{path} stopped at an error")


@command(".output", aliases=(".o",), args="[FILE|stdout]", complete=("file",),
         description="Send results to FILE (none or stdout: the screen)")
def _output(session: Session, arg: str) -> None:
    session.set_output(_optional_word(arg, ".output [FILE|stdout]"))


@command(".import", args="FILE CLASS", complete=("file", "class"),
         description="Insert the objects of a JSON array (or {\"results\": [...]}), JSON lines, or CSV "
                     "(a header line, or LeanCloud's typed CSV) file as new objects")
def _import(session: Session, arg: str) -> None:
    path, class_name = _exact_words(arg, 2, ".import FILE CLASS")
    from .transfer import import_file
    n = import_file(session.connection(), path, class_name, warn=session.warn,
                    progress_bar=session.interactive)
    session.schema_changed()
    session.message(f"{plural(n, 'object')} imported into {class_name}")


@command(".export", args="CLASS FILE", complete=("class", "file"),
         description="Write every object of CLASS to FILE (.json array, .csv, else JSON lines)")
def _export(session: Session, arg: str) -> None:
    class_name, path = _exact_words(arg, 2, ".export CLASS FILE")
    from .transfer import export_class
    n = export_class(session.connection(), class_name, path)
    session.message(f"{plural(n, 'object')} exported to {path}")


@command(".copy", args="SOURCE [TARGET] [--class C] [--where COND] [--accept LOSS] [--rename OLD=NEW]",
         complete=("file", "file"),
         description="Copy an app (LeanCloud export, database file, server URL) into TARGET (default: the "
                     "open database), then verify; server keys come from CQL_SOURCE_*/CQL_TARGET_* variables")
def _copy(session: Session, arg: str) -> None:
    _transfer(session, "copy", arg)


@command(".verify", args="SOURCE [TARGET] [--class C] [--where COND] [--accept LOSS]", complete=("file", "file"),
         description="Compare TARGET (default: the open database) with SOURCE, object by object")
def _verify(session: Session, arg: str) -> None:
    _transfer(session, "verify", arg)


def _transfer(session: Session, command_name: str, arg: str) -> None:
    """cql copy / cql verify with the open database as the default target.
    No key flags here: keys typed in the shell would land in its history."""
    from ..transfer.command import UsageError, build_parser, run
    parser = build_parser(command_name, keys=False, target_optional=True)
    try:
        args = parser.parse_args(_words(arg))
    except UsageError as exc:
        raise CommandError(str(exc)) from None

    def endpoint(spec):
        if spec is None or spec == session.target:
            return session.connection()
        return spec

    ok = run(command_name, args, source=endpoint(args.source), target=endpoint(args.target),
             stdout=session.out, stderr=session.stderr)
    session.schema_changed()
    if not ok:
        raise CommandError(f".{command_name}: not complete: see the differences above")


def completion_kinds(name: str) -> Optional[Tuple[str, ...]]:
    cmd = _BY_NAME.get(name)
    return None if cmd is None else cmd.complete

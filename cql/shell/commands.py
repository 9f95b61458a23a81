"""Dot commands: ONE registry, filled by a decorator, so ``.help``, dispatch
and completion all read the same table (the litecli/pgspecial pattern).
``Session.run_piece`` hands every command line to ``dispatch``; a handler
gets the session and its argument text.

The habits users bring are aliases in the same table: psql's ``\\?``,
``\\d``, ``\\dt``, ``\\x``, ``\\q``, ``\\n``; mysql's ``help``, ``show tables``,
``describe C``; sqlite3's ``.tables``, ``.mode``, ``.headers``, ``.dump``.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from .. import errors
from .config import on_off
from .errors import CommandError, closest, decode_text, did_you_mean
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
    suggestion when there is none. Suggestions are names of the same kind
    (dot names for a dot name, backslash ones for a backslash one) long enough to be told apart:
    never a one-letter alias such as ``.o`` for ``.show``."""
    cmd = _BY_NAME.get(name) or _BY_NAME.get(name.lower())
    if cmd is not None:
        return cmd
    same_kind = [n for n in _BY_NAME if n[:1] == name[:1] and (len(n) >= 4 or n[:1] == "\\")]
    raise CommandError(f"unknown command {name}{did_you_mean(name, same_kind)} (.help lists the commands)")


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
    try:
        return on_off(value)
    except ValueError:
        raise CommandError(f"usage: {usage}") from None


# -- the commands ---------------------------------------------------------------

STATEMENTS = {
    "select": "select [count(*),] * | field, ... | include path, ... from Class [where COND]\n"
              "       [limit [skip,] n] [order by [-]field, ... [asc|desc]]",
    "insert": "insert into Class (field, ...) values (value, ...), ...",
    "update": "update Class set field = value | op('Increment', {'amount': n}), ... [where COND]",
    "delete": "delete from Class [where COND]",
}


HELP_COLUMN = 26  # where the descriptions start in .help


@command(".help", aliases=(".h", "\\?", "help"), args="[COMMAND | STATEMENT]",
         description="List the commands, or show one (or a statement's syntax)", complete=("command",))
def _help(session: Session, arg: str) -> None:
    word = arg.strip().rstrip(";").strip()
    if word.lower() in STATEMENTS:
        session.echo(STATEMENTS[word.lower()])
        return
    if word:
        cmd = _BY_NAME.get(word) or _BY_NAME.get(word.lower()) or lookup("." + word.lstrip("."))
        aliases = f" (also {', '.join(cmd.aliases)})" if cmd.aliases else ""
        session.echo(f"{cmd.usage}{aliases}\n    {cmd.description}")
        return
    import textwrap
    lines = []
    for c in _COMMANDS:  # usage, then what it does wrapped beside it (below a long usage)
        also = f" (also {', '.join(c.aliases)})" if c.aliases else ""
        text = textwrap.wrap(c.description + also, 78 - HELP_COLUMN)
        head = [c.usage] if len(c.usage) >= HELP_COLUMN - 1 else []
        lines.extend(head)
        for i, part in enumerate(text):
            first = not head and i == 0
            lines.append((c.usage if first else "").ljust(HELP_COLUMN) + part)
    lines.append("")
    lines.append("End a statement with ; (or \\G for vertical output); help select shows its syntax.")
    lines.append("Ctrl-R searches the history, Ctrl-C cancels the input, Ctrl-D exits.")
    session.write_paged("\n".join(lines))  # taller than a screen: paged, as psql's \?


@command(".quit", aliases=(".exit", ".q", "\\q", "exit", "quit"), description="Leave the shell")
def _quit(session: Session, arg: str) -> None:
    session.quit_requested = True


@command(".open", args="[TARGET]", complete=("file",),
         description="Open a database file, an http(s):// URL, or (no argument) a transient one")
def _open(session: Session, arg: str) -> None:
    session.connect(_optional_word(arg, ".open [TARGET]"))
    session.message(f"connected to {session.conn.description or session.target}")


@command(".classes", aliases=(".tables", "\\dt"), description="List the classes")
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


def _schema_of(session: Session, names_: Sequence[str]) -> None:
    """The fields of each class in ``names_`` (every class when empty)."""
    schema = session.connection().schema()
    for name in names_:
        if name not in schema:
            raise CommandError(f"no class {name}{did_you_mean(name, schema)}")
    out = []
    for name in names_ or sorted(schema):
        fields = schema[name]
        out.append(name)
        width = max((len(f) for f in fields), default=0)
        for field, kind in fields.items():
            out.append(f"  {field.ljust(width)}  {kind}")
    session.echo("\n".join(out) if out else "no classes yet")


@command(".schema", args="[CLASS]", complete=("class",), description="Show the fields of every class, or of one")
def _schema(session: Session, arg: str) -> None:
    _schema_of(session, _words(arg))


@command(".describe", aliases=("\\d", "describe", "desc"), args="[CLASS]", complete=("class",),
         description="The fields of CLASS; without one, the list of classes")
def _describe(session: Session, arg: str) -> None:
    name = _optional_word(arg, ".describe [CLASS]")
    if name is None:
        _classes(session, "")
    else:
        _schema_of(session, [name])


@command(".show", aliases=("show",), args="[tables | classes]",
         description="The shell's settings; show tables (or classes) lists the classes")
def _show(session: Session, arg: str) -> None:
    what = _optional_word(arg, "show [tables | classes]")
    if what is not None:
        if what.lower() not in ("tables", "classes"):
            raise CommandError(f"show {what}: say show tables or show classes (.show alone: the settings)")
        _classes(session, "")
        return
    conn = session.conn
    settings = [
        ("target", (conn.description if conn is not None else "") or session.target or "transient database"),
        ("format", session.format),
        ("headers", "on" if session.headers else "off"),
        ("auto_vertical", "on" if session.auto_vertical else "off"),
        ("timing", "on" if session.timing else "off"),
        ("pager", (session.pager_command or "on") if session.pager else "off"),
        ("confirm_threshold", str(session.confirm_threshold)),
        ("output", "stdout" if session.out is session.stdout else getattr(session.out, "name", "a file")),
        ("variables", ", ".join(f":{n}" for n in sorted(session.variables)) or "none"),
    ]
    width = max(len(k) for k, _ in settings)
    session.echo("\n".join(f"{k.rjust(width)}: {v}" for k, v in settings))


# sqlite3's .mode names for the formats they match
MODE_NAMES = {"line": "vertical", "column": "table", "box": "table"}


@command(".format", aliases=(".mode",), args="[MODE]", complete=("format",),
         description="Output format: table, vertical, json, jsonl, csv, markdown (sqlite3's line, box too)")
def _format(session: Session, arg: str) -> None:
    from .formats import FORMATS
    mode = arg.strip().lower()
    if not mode:
        session.echo(f"format: {session.format}")
        return
    mode = MODE_NAMES.get(mode, mode)
    if mode not in FORMATS:
        raise CommandError(f"unknown format {mode}{did_you_mean(mode, FORMATS)} (one of: {', '.join(FORMATS)})")
    session.format = mode


@command(".headers", args="on|off", complete=("onoff",),
         description="Print the column names in table, csv and markdown output")
def _headers(session: Session, arg: str) -> None:
    session.headers = _on_off(arg, ".headers on|off")


@command(".expanded", aliases=("\\x",), args="[on|off|auto]", complete=("onoff",),
         description="Vertical output: toggle, on, off, or auto (vertical when a table is too wide)")
def _expanded(session: Session, arg: str) -> None:
    word = arg.strip().lower()
    if word == "auto":
        session.format, session.auto_vertical = "table", True
    elif word:
        session.format = "vertical" if _on_off(word, ".expanded [on|off|auto]") else "table"
    else:
        session.format = "table" if session.format == "vertical" else "vertical"
    state = "auto" if word == "auto" else "on" if session.format == "vertical" else "off"
    session.message(f"vertical output is {state}")


@command(".print", args="TEXT", description="Print TEXT (sqlite3's .print; marks places in a script's output)")
def _print(session: Session, arg: str) -> None:
    session.echo(arg)


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
    from .values import bind
    text = arg.strip().rstrip(";").strip()
    if not text:
        raise CommandError("usage: .explain STATEMENT")
    text, params = bind(text, (), session.variables)
    requests = session.connection().explain(text, *params)
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
    session.clear_progress()  # the import draws its own line
    n = import_file(session.connection(), path, class_name, warn=session.warn, progress=session.stderr)
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


@command(".dump", args="[CLASS ...]", complete=("class",),
         description="A CQL script that recreates the objects (every class, or those named)")
def _dump(session: Session, arg: str) -> None:
    from .dump import dump
    conn = session.connection()
    dump(conn, _words(arg), session.out, source=conn.description or session.target or "a transient database")


# -- variables and named queries ---------------------------------------------------

def _value_text(value: object) -> str:
    from .values import literal
    return literal(value)


@command(".set", args="[NAME [VALUE | select ... | insert ...]]",
         description="Set a variable, used as :NAME in statements (a select's first field, an insert's "
                     "objectId); without arguments, list them")
def _set(session: Session, arg: str) -> None:
    from .values import VARIABLE
    name, _, rest = arg.strip().partition(" ")
    if not name:
        variables = session.variables
        session.echo("\n".join(f":{n} = {_value_text(v)}" for n, v in sorted(variables.items()))
                     if variables else "no variables (.set NAME VALUE sets one)")
        return
    if not VARIABLE.match(name):
        raise CommandError(f"invalid variable name {name!r}: use letters, digits and '_'")
    rest = rest.strip()
    if not rest:
        if name not in session.variables:
            raise CommandError(f"no variable :{name}")
        session.echo(f":{name} = {_value_text(session.variables[name])}")
        return
    keyword = rest.split(None, 1)[0].lower()
    if keyword in ("select", "insert"):
        session.variables[name] = _statement_value(session, rest)
    else:
        from .values import literal_value
        session.variables[name] = literal_value(rest, session.variables)


def _statement_value(session: Session, text: str) -> object:
    """The value a select (exactly one row: its first selected field, or
    objectId for *) or an insert (one row: the new objectId) gives."""
    from ..result import column_value
    result = session.run_statement(text, show=False)
    if result is None:
        raise CommandError("cancelled; the variable is not set")
    if result.kind == "insert":
        if len(result.objects) != 1:
            raise CommandError(f".set takes the objectId of one inserted object, not {len(result.objects)}")
        return result.objects[0]["objectId"]
    if result.count_only:
        return result.count
    if len(result.objects) != 1:
        raise CommandError(f"the select gave {plural(len(result.objects), 'row')}; .set needs exactly one")
    field = next((c for c in (result.selected or ()) if c != "*"), "objectId")
    return column_value(result.objects[0], field)


@command(".unset", args="NAME", description="Forget a variable")
def _unset(session: Session, arg: str) -> None:
    name, = _exact_words(arg, 1, ".unset NAME")
    if session.variables.pop(name.lstrip(":"), None) is None:
        raise CommandError(f"no variable :{name.lstrip(':')}")


@command(".save", aliases=("\\ns",), args="NAME STATEMENT",
         description="Save a statement (with ? placeholders) as a named query in your config directory")
def _save(session: Session, arg: str) -> None:
    from . import named
    from ..parser import parse
    from .values import unbound
    name, _, text = arg.strip().partition(" ")
    text = text.strip().rstrip(";").strip()
    if not name or not text:
        raise CommandError("usage: .save NAME STATEMENT")
    try:
        if len(parse(unbound(text))) != 1:
            raise CommandError("a named query is one statement")
    except errors.CQLError as exc:
        raise CommandError(f"not saved: error {exc.code}: {exc.message}") from None
    from .values import placeholders
    replaced = named.save(name, text)
    session.message(f"{'replaced' if replaced else 'saved'} {name}: .run {name}" + " ARG" * placeholders(text))


@command(".run", aliases=("\\n",), args="[NAME [ARG ...]]", complete=("query",),
         description="Run a named query, its ? bound to the ARGs (10, 'text', date('...'), :variable); "
                     "without NAME, list them")
def _run(session: Session, arg: str) -> None:
    from . import named
    from .values import literal_value, split_args
    words = split_args(arg)
    if not words:
        _queries(session, "")
        return
    text = named.get(words[0])
    args = [literal_value(w, session.variables) for w in words[1:]]
    try:
        session.run_statement(text, args=args)
    except errors.CQLError as exc:
        caret = exc.caret() if exc.line is not None else ""
        raise CommandError(f"{words[0]}: error {exc.code}: {exc.message}" + (f"\n{caret}" if caret else "")) \
            from None


@command(".queries", description="List the named queries")
def _queries(session: Session, arg: str) -> None:
    from . import named
    queries = named.load()
    if not queries:
        session.message(f"no named queries yet (.save NAME STATEMENT saves one in {named.path()})")
        return
    width = max(len(n) for n in queries)
    session.echo("\n".join(f"{n.ljust(width)}  {q}" for n, q in sorted(queries.items())))


@command(".dropquery", aliases=("\\nd",), args="NAME", complete=("query",), description="Delete a named query")
def _dropquery(session: Session, arg: str) -> None:
    from . import named
    name, = _exact_words(arg, 1, ".dropquery NAME")
    named.delete(name)
    session.message(f"deleted {name}")


@command(".index", args="CLASS FIELD", complete=("class",),
         description="Build an index of CLASS.FIELD in the database file (else built on its first query)")
def _index(session: Session, arg: str) -> None:
    class_name, field = _exact_words(arg, 2, ".index CLASS FIELD")
    info = session.connection().create_index(class_name, field)
    session.message(_index_line(info))


@command(".indexes", args="[CLASS]", complete=("class",), description="List the indexes, with their sizes")
def _indexes(session: Session, arg: str) -> None:
    words = _words(arg)
    if len(words) > 1:
        raise CommandError("usage: .indexes [CLASS]")
    found = session.connection().indexes(words[0] if words else None)
    session.echo("\n".join(_index_line(i) for i in found) if found else "no indexes yet")


@command(".dropindex", args="CLASS FIELD", complete=("class",), description="Drop the index of CLASS.FIELD")
def _dropindex(session: Session, arg: str) -> None:
    class_name, field = _exact_words(arg, 2, ".dropindex CLASS FIELD")
    if not session.connection().drop_index(class_name, field):
        raise CommandError(f"no index of {class_name}.{field} (.indexes lists them)")
    session.message(f"index of {class_name}.{field} dropped")


def _index_line(info: dict) -> str:
    size = info.get("bytes")
    shown = "" if size is None else f", {size / 2 ** 20:,.1f} MiB" if size >= 2 ** 20 else f", {size // 1024:,} KiB"
    return f"{info['class']}.{info['field']} ({info['kind']}): {info['entries']:,} entries{shown}"


def completion_kinds(name: str) -> Optional[Tuple[str, ...]]:
    cmd = _BY_NAME.get(name) or _BY_NAME.get(name.lower())
    return None if cmd is None else cmd.complete

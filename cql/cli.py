"""The ``cql`` command: argument parsing and the choice between the REPL and
batch mode. Imports stay lazy: ``cql -e ... db`` never loads prompt_toolkit,
and an embedded target never loads requests."""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "vertical", "json", "jsonl", "csv", "markdown")

EPILOG = """\
TARGET is nothing (a transient in-memory database), a file (a persistent
embedded database, created if missing) or an http(s):// URL (a Parse Server,
or a LeanCloud app with --flavor leancloud).

Keys: prefer the environment (CQL_APP_ID, CQL_REST_KEY, CQL_MASTER_KEY) to the
command line, where other users can see them.

Confirmation: an update or delete that touches more than one object (the
config file's confirm_threshold) and does not pin one objectId asks first
when a terminal can answer (also for piped scripts, through /dev/tty); with no
terminal at all it runs without asking; --yes never asks.

Config file: ~/.config/cql/config ($XDG_CONFIG_HOME/cql/config), or --config
FILE: an INI [main] section with format, pager, timing, headers,
auto_vertical, key_bindings, syntax_style, history_file, history_size,
confirm_threshold. Flags win over it.

Exit status: 0 when every statement succeeded, 1 when one failed, 2 for a
usage error.

Moving data: cql copy SOURCE TARGET and cql verify SOURCE TARGET (see
cql copy --help): LeanCloud exports, database files, Parse Server and
LeanCloud apps, in any direction. (A database file named copy or verify:
write ./copy.)

examples:
  cql                                   shell on a transient database
  cql app.db                            shell on a database file
  cql -e "select * from Todo" app.db    one statement, table on stdout
  cql -f schema.cql -f data.cql app.db  scripts in order
  cql --format json app.db < q.cql      a script on stdin, JSON out
  cql copy export.tar.gz app.db         a LeanCloud export into a database file
"""


class _Script(argparse.Action):
    """-e/-f append to one ordered list, so they run in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, "scripts", None) or [])
        items.append(("expr" if self.dest == "expr" else "file", values))
        namespace.scripts = items


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cql", description="An interpreter and shell for CQL, LeanCloud's Cloud Query Language.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="?", metavar="TARGET",
                   help="database file or http(s):// URL (default: transient in-memory database)")
    p.add_argument("-e", "--execute", dest="expr", action=_Script, metavar="STATEMENT",
                   help="run STATEMENT(s) and exit (repeatable)")
    p.add_argument("-f", "--file", dest="file", action=_Script, metavar="FILE",
                   help="run the script FILE ('-' = stdin) and exit (repeatable)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: table)")
    p.add_argument("--app-id", help="application id (env CQL_APP_ID)")
    p.add_argument("--rest-key", help="REST API key (env CQL_REST_KEY)")
    p.add_argument("--master-key", help="master key (env CQL_MASTER_KEY)")
    p.add_argument("--flavor", choices=("parse", "leancloud"), default=None,
                   help="server flavor of a URL target (default: parse)")
    p.add_argument("-y", "--yes", action="store_true",
                   help="never ask before updating or deleting many objects")
    p.add_argument("--continue-on-error", action="store_true",
                   help="in batch mode, go on after a failed statement")
    p.add_argument("--no-color", action="store_true", help="no colours (also env NO_COLOR)")
    p.add_argument("--vi", action="store_true", help="vi key bindings in the shell")
    p.add_argument("--config", metavar="FILE",
                   help="read settings from FILE (default: ~/.config/cql/config if it exists)")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.set_defaults(scripts=[])
    return p


def _version() -> str:
    from . import __version__
    return __version__


def rest_options(args: argparse.Namespace, stderr=None) -> dict:
    """Connection options for a URL target, from flags or the environment;
    warns when a key came on the command line."""
    stderr = stderr or sys.stderr
    opts = {}
    for flag, env, key, secret in (("app_id", "CQL_APP_ID", "app_id", False),
                                   ("rest_key", "CQL_REST_KEY", "rest_key", True),
                                   ("master_key", "CQL_MASTER_KEY", "master_key", True)):
        value = getattr(args, flag)
        if value is not None and secret:
            stderr.write(f"cql: warning: --{flag.replace('_', '-')} on the command line is visible to other "
                         f"users of this machine; prefer the environment variable {env}\n")
        if value is None:
            value = os.environ.get(env) or None
        if value is not None:
            opts[key] = value
    if args.flavor:
        opts["flavor"] = args.flavor
    return opts


def _use_color(args: argparse.Namespace) -> bool:
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stderr.isatty() and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False


def _read_scripts(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Optional[List[tuple]]:
    """The (name, text) scripts to run in batch mode; None for the REPL."""
    from .shell.batch import EXPR_NAME, STDIN_NAME
    from .shell.errors import CommandError, decode_text
    scripts = []
    try:
        for kind, value in args.scripts:
            if kind == "expr":
                scripts.append((EXPR_NAME, value))
            elif value == "-":
                scripts.append((STDIN_NAME, _read_stdin(STDIN_NAME)))
            else:
                try:
                    with open(value, "rb") as f:
                        data = f.read()
                except OSError as exc:
                    parser.exit(EXIT_USAGE, f"cql: error: cannot read {value}: {exc.strerror or exc}\n")
                scripts.append((value, decode_text(data, value)))
        if scripts:
            return scripts
        try:
            if sys.stdin.isatty():
                return None
        except (ValueError, AttributeError):
            pass
        return [(STDIN_NAME, _read_stdin(STDIN_NAME))]
    except CommandError as exc:
        parser.exit(EXIT_FAILED, f"cql: error: {exc}\n")
    return None  # pragma: no cover (parser.exit raised)


def _read_stdin(name: str) -> str:
    """All of stdin, decoded strictly (see decode_text)."""
    from .shell.errors import decode_text
    if sys.stdin is None:  # started with stdin closed (cql <&-): nothing to read
        return ""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream put in place by a caller (tests)
        text = sys.stdin.read()
        return text[1:] if text.startswith("\ufeff") else text
    return decode_text(buffer.read(), name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The console script ``cql`` and ``python -m cql``; returns the exit status."""
    if sys.stdout is None:  # started with stdout closed (cql ... >&-): results go nowhere, quietly
        sys.stdout = open(os.devnull, "w")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["copy"], ["verify"]):  # cql copy SOURCE TARGET / cql verify SOURCE TARGET
        from .transfer.command import main as transfer_main
        return transfer_main(argv[0], argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    target = args.target
    is_url = bool(target) and target.startswith(("http://", "https://"))
    options = rest_options(args) if is_url else {}
    if not is_url and (args.app_id or args.rest_key or args.master_key or args.flavor):
        sys.stderr.write("cql: warning: --app-id/--rest-key/--master-key/--flavor only apply to URL targets\n")
    if target and not is_url and os.path.isdir(target):
        sys.stderr.write(f"cql: error: {target} is a directory, not a database file\n")
        return EXIT_USAGE
    try:
        scripts = _read_scripts(args, parser)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    settings = _settings(args)
    if settings is None:
        return EXIT_USAGE
    color = _use_color(args)
    if scripts is None:
        from .shell.repl import run_repl
        return run_repl(target, options, settings=settings, fmt=args.format, color=color, yes=args.yes)
    return _run_batch(target, options, scripts, args, color, settings)


def _settings(args: argparse.Namespace):
    """The config file's settings (flags win); None when --config FILE
    cannot be read. A bad key or value is a warning: the shell still starts."""
    from .shell.config import load
    from .shell.errors import CommandError
    try:
        settings, warnings = load(args.config)
    except CommandError as exc:
        sys.stderr.write(f"cql: error: {exc}\n")
        return None
    for warning in warnings:
        sys.stderr.write(f"cql: warning: {warning}\n")
    if args.vi:
        settings.key_bindings = "vi"
    return settings


def _run_batch(target, options, scripts, args, color, settings) -> int:
    from . import errors
    from .shell.batch import run_batch
    from .redact import redact_url
    from .shell.errors import open_error
    from .shell.session import Session, debug
    session = Session(target, options, settings=settings, fmt=args.format, interactive=False, color=color,
                      yes=args.yes, continue_on_error=args.continue_on_error)
    try:
        session.connect(target)
    except errors.Error as exc:
        sys.stderr.write(f"cql: error: {open_error(target, exc)}\n")
        return EXIT_FAILED
    except Exception as exc:
        if debug():
            raise
        sys.stderr.write(f"cql: internal error: cannot open {redact_url(target)}: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    try:
        return run_batch(session, scripts)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``cql ... | head``): stop quietly; the rest of
        # the script did not run, so the status says so.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_FAILED
    finally:
        session.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

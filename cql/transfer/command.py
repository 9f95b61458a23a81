"""The ``cql copy`` / ``cql verify`` command lines (also the shell's ``.copy``
and ``.verify``, which take no keys: those come from the environment there,
so they never reach the shell's history)."""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, Optional, Sequence, TextIO

from .canonical import LOSSES

EPILOG = """\
SOURCE and TARGET are each one of:
  a LeanCloud export: a .tar.gz/.tgz/.zip archive, a folder, or a .jsonl/.json/.csv file
  an embedded database file (created if missing, as a target)
  a server URL: http(s)://host/parse (Parse Server) or a LeanCloud app (--*-flavor leancloud)
A TARGET ending in / (or an existing folder, or an archive name) is written as an export.

Keys, per side, from flags or (better: flags are visible to other users) the
environment: CQL_SOURCE_APP_ID, CQL_SOURCE_MASTER_KEY, CQL_TARGET_APP_ID,
CQL_TARGET_MASTER_KEY, CQL_TARGET_MAINTENANCE_KEY (each falls back to
CQL_APP_ID, CQL_MASTER_KEY, CQL_MAINTENANCE_KEY).

What a target cannot keep stops the copy before anything is written; --accept
names what to go on without:
""" + "".join(f"  {name:<11} {text}\n" for name, text in LOSSES.items()) + """
A copy keeps objectIds and upserts by them (with --accept new-ids, on a server
that assigns its own: by each new object's cqlSourceId, its source objectId,
and pointers, relation rows and ACL users are rewritten to the new ids; verify
needs the same --accept to pair them): run it again after an interruption
and it continues; a second run changes nothing. It never deletes on the target;
its final verify checks that every source object is on the target (objects
only on the target are listed, not errors). cql verify compares both ways
unless --allow-extra.
Exit status: 0 when the copy is complete and verify is clean, 1 otherwise.
"""


class UsageError(Exception):
    """The arguments of copy/verify are wrong; the message says how."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


def build_parser(command: str, *, keys: bool = True, target_optional: bool = False) -> argparse.ArgumentParser:
    prog = f"cql {command}" if keys else f".{command}"
    what = ("Copy an app's classes, objects and relations from SOURCE to TARGET, then verify."
            if command == "copy" else "Compare TARGET with SOURCE, object by object.")
    p = _Parser(prog=prog, description=what, epilog=EPILOG if keys else None,
                                formatter_class=argparse.RawDescriptionHelpFormatter, add_help=keys)
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("target", metavar="TARGET", nargs="?" if target_optional else None,
                   help="default: the open database" if target_optional else None)
    p.add_argument("--class", dest="classes", action="append", metavar="CLASS",
                   help="only this class (repeatable)")
    p.add_argument("--exclude", action="append", default=[], metavar="CLASS", help="leave this class out")
    p.add_argument("--where", metavar="COND", help="only objects matching this CQL condition")
    p.add_argument("--accept", action="append", default=[], metavar="LOSS",
                   help=f"go on without what the target cannot keep: {', '.join(LOSSES)}, all")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="copy class OLD as NEW (e.g. _File=LeanCloudFile for Parse Server)")
    if command == "verify":
        p.add_argument("--allow-extra", action="store_true",
                       help="objects only on the target are fine (e.g. after copying a delta export)")
    if command == "copy":
        p.add_argument("--no-verify", action="store_true", help="skip the final verify")
        p.add_argument("--workers", type=int, default=4, metavar="N",
                       help="/batch requests in flight to a server (default 4)")
    p.add_argument("--page-size", type=int, default=None, metavar="N",
                   help="objects per read from a server (default 1000)")
    if keys:
        for side in ("source", "target"):
            p.add_argument(f"--{side}-app-id", metavar="ID")
            p.add_argument(f"--{side}-master-key", metavar="KEY")
            p.add_argument(f"--{side}-flavor", choices=("parse", "leancloud"))
        p.add_argument("--target-maintenance-key", metavar="KEY",
                       help="Parse Server's maintenance key (keeps createdAt/updatedAt)")
    return p


def side_flags(args: argparse.Namespace, side: str, stderr: TextIO) -> Dict[str, Any]:
    """The flags given for one side (keys on the command line get a warning)."""
    out: Dict[str, Any] = {}
    for name in ("app_id", "master_key", "flavor", "maintenance_key"):
        value = getattr(args, f"{side}_{name}", None)
        if value is None:
            continue
        if name.endswith("key"):
            env = f"CQL_{side.upper()}_{name.upper()}"
            stderr.write(f"cql: warning: --{side}-{name.replace('_', '-')} on the command line is visible to "
                         f"other users of this machine; prefer the environment variable {env}\n")
        out[name] = value
    if args.page_size:
        out["page_size"] = args.page_size
    return out


def run(command: str, args: argparse.Namespace, *, source: Any = None, target: Any = None,
        source_options: Optional[Dict[str, Any]] = None, target_options: Optional[Dict[str, Any]] = None,
        stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> bool:
    """Run a parsed copy/verify; prints the report (stdout) and progress
    (stderr); True when complete and clean. Errors propagate (CQLError)."""
    from . import copy as do_copy, verify as do_verify
    common = dict(classes=args.classes, exclude=args.exclude, where=args.where, accept=args.accept,
                  rename=args.rename, source_options=source_options, target_options=target_options,
                  progress=stderr)
    source = args.source if source is None else source
    target = args.target if target is None else target
    if command == "copy":
        report = do_copy(source, target, verify=not args.no_verify, workers=args.workers, **common)
        stdout.write(str(report) + "\n")
        if report.ok:
            stdout.write("copy: done\n")
        return report.ok
    result = do_verify(source, target, allow_extra=args.allow_extra, **common)
    stdout.write(str(result) + "\n")
    return result.clean


def main(command: str, argv: Sequence[str]) -> int:
    """``cql copy ...`` / ``cql verify ...``; the exit status."""
    from .. import errors
    parser = build_parser(command)
    try:
        args = parser.parse_args(list(argv))
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    src_opts = side_flags(args, "source", sys.stderr)
    dst_opts = side_flags(args, "target", sys.stderr)
    try:
        ok = run(command, args, source_options=src_opts or None, target_options=dst_opts or None)
    except KeyboardInterrupt:
        sys.stderr.write(f"\ncql {command}: interrupted; run the same command again to continue (objects "
                         "already copied are kept, none is copied twice)\n" if command == "copy"
                         else f"\ncql {command}: interrupted\n")
        return 130
    except errors.CQLError as exc:
        sys.stderr.write(f"cql {command}: error {exc.code}: {exc.message}\n")
        return 1
    except errors.Error as exc:
        sys.stderr.write(f"cql {command}: error: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"cql {command}: error: {exc.strerror or exc}"
                         f"{': ' + str(exc.filename) if exc.filename else ''}\n")
        return 1
    return 0 if ok else 1

"""IPython/Jupyter magics (``pip install 'cql[notebook]'``)::

    %load_ext cql
    %cql app.db                                   connect (any cql TARGET)
    %cql https://api.example.com --flavor leancloud --app-id ID --master-key KEY
    %cql select * from Todo where done = false    one statement
    %%cql min_priority owner_id                   a cell of statements; the
    select * from Todo where priority > ? and owner = pointer('_User', ?)

``%cql TARGET`` sets cql's default connection (``cql.init``), so cql.Query,
cql.Object and cql.Model in the notebook use it too; without it the default
applies (CQL_TARGET, else a transient database). The names on the ``%%cql``
line are notebook variables, bound in order to the cell's ``?`` placeholders.
A select comes back as a DataFrame when pandas is installed (else its
cql.Result), any other statement as its cql.Result. A CQL error is shown as
one line (no traceback) and fails the cell.
"""
from __future__ import annotations

import argparse
import os
import shlex
from typing import Any, List, Optional

from IPython.core.magic import Magics, line_cell_magic, magics_class

from .connection import Connection, default_connection, execute, init
from .errors import CQLError
from .result import Result

STATEMENT_WORDS = ("select", "insert", "update", "delete")


class CellError(Exception):
    """A failed %cql/%%cql: IPython shows it as its one line (no traceback) and
    the cell fails, so a notebook run headlessly stops there."""

    def _render_traceback_(self) -> List[str]:
        return [f"{type(self).__name__}: {self}"]




def _connect_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%cql", add_help=False, exit_on_error=False)
    p.add_argument("target")
    p.add_argument("--app-id")
    p.add_argument("--rest-key")
    p.add_argument("--master-key")
    p.add_argument("--flavor", choices=("parse", "leancloud"))
    p.add_argument("--dialect", help="server dialect, e.g. parse-postgres (default: from the flavor)")
    return p


@magics_class
class CQLMagics(Magics):
    """``%cql`` (connect, or one statement) and ``%%cql`` (a cell of statements)."""

    @line_cell_magic
    def cql(self, line: str, cell: Optional[str] = None) -> Any:
        try:
            if cell is not None:
                return self.run_cell(cell, self.variables(line.split()))
            text = line.strip()
            if not text:
                return default_connection()
            if text.split(None, 1)[0].lower() in STATEMENT_WORDS:
                return shown(execute(text))
            return self.connect(text)
        except CQLError as exc:
            raise CellError(f"CQL error {exc.code}: {exc}") from None

    def variables(self, names: List[str]) -> List[Any]:
        namespace = self.shell.user_ns if self.shell is not None else {}
        missing = [n for n in names if n not in namespace]
        if missing:
            raise CellError(f"%%cql: notebook variable(s) not defined: {', '.join(missing)}")
        return [namespace[n] for n in names]

    def run_cell(self, text: str, params: List[Any]) -> Any:
        """Each statement of the cell in order, taking as many parameters as it has ``?``."""
        from .parser import parse
        from .splitter import split
        conn = default_connection()
        result = None
        statements = [piece.text for piece in split(text) if piece.text.strip()]
        for statement in statements:
            wanted = parse(statement)[0].param_count
            mine, params = params[:wanted], params[wanted:]
            result = conn.execute(statement, *mine)
        if params:
            raise CellError(f"%%cql: {len(params)} variable(s) left over: the cell has fewer ? placeholders")
        return None if result is None else shown(result)

    def connect(self, line: str) -> Connection:
        try:
            args = _connect_parser().parse_args(shlex.split(line))
        except (argparse.ArgumentError, ValueError) as exc:
            raise CellError(f"%cql TARGET [--app-id ID] [--rest-key KEY | --master-key KEY] "
                            f"[--flavor parse|leancloud] [--dialect NAME]: {exc}") from None
        target = None if args.target == ":memory:" else args.target
        options = {}
        if target and "://" in target:  # keys from the line, else the environment (as the cql command)
            for key, env in (("app_id", "CQL_APP_ID"), ("rest_key", "CQL_REST_KEY"), ("master_key", "CQL_MASTER_KEY")):
                value = getattr(args, key) or os.environ.get(env)
                if value:
                    options[key] = value
            for key in ("flavor", "dialect"):
                if getattr(args, key):
                    options[key] = getattr(args, key)
        return init(target, **options)


def shown(result: Result) -> Any:
    """What a notebook shows for a result: a DataFrame for a select (with pandas)."""
    if result.kind != "select":
        return result
    try:
        return result.to_pandas()
    except CQLError:  # pandas is not installed
        return result


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(CQLMagics)

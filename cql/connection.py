"""Connection, Cursor (PEP 249) and the module-level default connection.

A Connection ties the language (parse + plan) to one backend. It knows CQL text
and Plans; the backend knows only Plans.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager, nullcontext
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import errors
from .backend import Backend
from .plan import Create, Delete, Find, Plan, Update
from .result import Result


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def target_text(target: Any) -> Optional[str]:
    """A target as plain text: None, a str, bytes (a file name as the OS gives
    it) or a path-like object; anything else is an InterfaceError."""
    if target is None:
        return None
    t = type(target)
    if t is str:
        return target
    try:
        if issubclass(t, str):
            return str.__str__(target)
        if issubclass(t, bytes):
            return os.fsdecode(target)
        if hasattr(t, "__fspath__"):
            return target_text(os.fspath(target))
    except errors.Error:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile __fspath__
        raise errors.InterfaceError(f"cannot read the target's path: its __fspath__ raised "
                                    f"{type(exc).__name__}") from None
    raise errors.InterfaceError(f"a target is a file path or an http(s) URL, not {t.__name__} "
                                f"{errors.describe(target, 60)} (None or ':memory:' for a transient database)")


def open_backend(target: Any = None, **options: Any) -> Backend:
    """The backend for a target: None/":memory:" (transient), a file path, or a URL."""
    target = target_text(target)
    if target is None or target == ":memory:":
        from .engine import EngineBackend
        return EngineBackend(None, **options)
    if _is_url(target):
        from .rest import RestBackend
        return RestBackend(target, **options)
    _check_path(target)
    from .engine import EngineBackend
    return EngineBackend(target, **options)


def _check_path(path: str) -> None:
    """Say plainly what is wrong with a database path before SQLite does
    ("unable to open database file")."""
    if not path.strip():
        raise errors.StorageError("the database path is empty: give a file name, or None (or ':memory:') "
                                  "for a transient database")
    if "\x00" in path:
        raise errors.StorageError(f"the database path {path!r} holds a NUL character, which no file name can")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.StorageError(f"the database path {path!r} holds {path[exc.start]!r}, which is not a "
                                  "character (a lone surrogate): give the name as text that UTF-8 can encode") from None
    if os.path.isdir(path):
        raise errors.StorageError(f"cannot open {path!r}: it is a directory; give a database file "
                                  f"such as {os.path.join(path, 'app.db')!r}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(path) and not os.path.isdir(parent):
        raise errors.StorageError(f"cannot create {path!r}: the directory {os.path.dirname(path) or parent!r} "
                                  "does not exist; create it first")
    if not os.path.exists(path):
        if not os.access(parent, os.W_OK):
            raise errors.StorageError(f"cannot create {path!r}: the directory is not writable")
        return
    if not os.access(path, os.R_OK | os.W_OK):
        raise errors.StorageError(f"cannot open {path!r}: the file is read-only for you (cql opens a database "
                                  f"for reading and writing); make it writable (chmod u+w) or work on a copy")
    if not os.access(parent, os.W_OK) and not all(os.path.exists(path + x) for x in ("-wal", "-shm")):
        raise errors.StorageError(f"cannot open {path!r}: its directory is not writable, and SQLite needs to "
                                  f"create {os.path.basename(path)}-wal and -shm beside it; move the file to a "
                                  "writable directory")


_LANGUAGE: Optional[tuple] = None


def _language() -> tuple:
    """(parser.parse, planner.plan): imported on first use, so that ``import cql``
    stays fast, then kept (an import statement costs ~0.6 us on every call)."""
    global _LANGUAGE
    if _LANGUAGE is None:
        from .parser import parse
        from .planner import plan
        _LANGUAGE = (parse, plan)
    return _LANGUAGE


class Connection:
    """A session on one target. ``execute`` runs one statement; ``executescript``
    runs a ``;``-separated script."""

    def __init__(self, backend: Backend, target: Optional[str] = None):
        self.backend = backend
        self.target = target
        self.closed = False

    # -- the language side --------------------------------------------------
    def plan(self, statement: str, *params: Any) -> Plan:
        parse, plan = _language()
        statements = parse(statement)
        if len(statements) != 1:
            raise errors.CQLSyntaxError(  # a CQLError and a ProgrammingError
                f"execute() runs one statement, got {len(statements)}; use executescript() for scripts")
        return plan(statements[0], params)

    def execute(self, statement: str, *params: Any) -> Result:
        self._check_open()
        run_text = getattr(self.backend, "run_text", None)  # e.g. LeanCloud's /cloudQuery
        if run_text is not None:
            result = run_text(statement, params)
            if result is not None:
                return result
        return self.backend.run(self.plan(statement, *params))

    def executemany(self, statement: str, seq_of_params: Iterable[Sequence[Any]]) -> Tuple[int, Optional[str]]:
        """Run one statement once per parameter set; (rows written or returned,
        objectId of the last inserted row). On the embedded engine this is one
        transaction: all or nothing, as in sqlite3. An INSERT's rows are
        written in bulk."""
        from .parser import parse
        from .planner import plan_many
        self._check_open()
        statements = parse(statement)
        if len(statements) != 1:
            raise errors.CQLSyntaxError(
                f"executemany() runs one statement, got {len(statements)}; use executescript() for scripts")
        transaction = getattr(self.backend, "transaction", None)
        total, last = 0, None
        with transaction() if transaction is not None else nullcontext():
            for p in plan_many(statements[0], seq_of_params):
                result = self.backend.run(p)
                total += max(result.rowcount, 0)
                if result.kind == "insert" and result.objects:
                    last = result.objects[-1].get("objectId")
        return total, last

    @contextmanager
    def transaction(self) -> Iterator["Connection"]:
        """``with con.transaction():`` the statements inside commit together when
        the block ends, or not at all when it raises (an embedded database; each
        statement commits on its own otherwise). For bulk loads: one commit
        instead of one per statement."""
        self._check_open()
        transaction = getattr(self.backend, "transaction", None)
        if transaction is None:
            raise errors.NotSupportedError("a server runs each statement on its own: no transaction "
                                           "spans statements there")
        with transaction():
            yield self

    def executescript(self, script: str) -> List[Result]:
        from .parser import parse
        from .planner import plan
        self._check_open()
        return [self.backend.run(plan(stmt, ())) for stmt in parse(script)]

    def explain(self, statement: Union[str, Plan], *params: Any) -> List[dict]:
        """The requests this connection's backend makes for a statement (or a Plan)."""
        self._check_open()
        if isinstance(statement, (Find, Create, Update, Delete)):
            return self.backend.explain(statement)
        return self.backend.explain(self.plan(statement, *params))

    # -- the Plan side: cql.Query, cql.Object and cql.Model build Plans directly --
    def run(self, plan: Plan) -> Result:
        """Run one Plan on this connection's backend."""
        self._check_open()
        return self.backend.run(plan)

    def run_each(self, plans: Sequence[Plan]) -> List[Union[Result, errors.CQLError]]:
        """Run several Plans, each on its own (batched where the backend can):
        one Result or CQLError per plan, in order."""
        self._check_open()
        return self.backend.run_each(list(plans))

    def schema(self) -> Dict[str, Dict[str, str]]:
        self._check_open()
        return self.backend.schema()

    def check(self) -> List[str]:
        """An embedded database file's integrity check (SQLite's): the problems
        found, [] when the file is sound. Reads the whole file."""
        self._check_open()
        check = getattr(self.backend, "check", None)
        if check is None:
            raise errors.NotSupportedError("check() is for an embedded database file; a server checks its own")
        return check()

    # -- indexes (embedded databases) --------------------------------------------
    def create_index(self, class_name: str, field: str, kind: Optional[str] = None) -> dict:
        """Build an index of ``class_name.field`` ahead of time (it is built on the
        field's first indexed query otherwise); ``kind`` "key" (equality, ranges,
        order) or "geo" (near/within; the default for GeoPoint fields). Returns
        its description (see ``indexes``). Indexes live in the database file."""
        return self._indexing("create_index")(class_name, field, kind)

    def drop_index(self, class_name: str, field: str, kind: Optional[str] = None) -> int:
        """Drop the index (of both kinds unless ``kind`` is given); how many were dropped."""
        return self._indexing("drop_index")(class_name, field, kind)

    def indexes(self, class_name: Optional[str] = None) -> List[dict]:
        """Every index (of one class): dicts with class, field, kind, entries, bytes."""
        return self._indexing("indexes")(class_name)

    def _indexing(self, name: str) -> Any:
        self._check_open()
        method = getattr(self.backend, name, None)
        if method is None:
            raise errors.NotSupportedError("indexes are kept by the server here; only an embedded "
                                           "database has indexes of its own to manage")
        return method

    @property
    def description(self) -> str:
        return self.backend.description

    # -- PEP 249 ----------------------------------------------------------------
    def cursor(self) -> "Cursor":
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """Every statement commits on its own; nothing is pending."""
        self._check_open()

    def rollback(self) -> None:
        raise errors.NotSupportedError("cql has no transactions: each statement commits on its own")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.backend.close()

    def _check_open(self) -> None:
        if self.closed:
            raise errors.InterfaceError("the connection is closed")

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<cql.Connection {self.description or self.target!r}>"

    # PEP 249 optional extension: exceptions as connection attributes
    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError


class Cursor:
    """PEP 249 cursor over a Connection.

    ``description`` has one 7-tuple per column: (name, type_code, None, None,
    None, None, None); type codes compare equal to ``cql.STRING``, ``NUMBER``,
    ``DATETIME``, ``BINARY``, ``ROWID``. A select's rows are its objects; an
    insert or update gives one row per object written (objectId and its time);
    a delete gives no result set, only ``rowcount``. ``lastrowid`` is the
    objectId of the last inserted row. ``result`` keeps the whole Result.
    """

    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.description: Optional[List[tuple]] = None
        self.rowcount = -1
        self.lastrowid: Optional[str] = None
        self.result: Optional[Result] = None
        self._rows: List[tuple] = []
        self._pos = 0
        self.closed = False

    def execute(self, statement: str, params: Sequence[Any] = ()) -> "Cursor":
        self._check_open()
        params = _checked_params(params)
        self.description = None
        self.rowcount = -1
        self._rows, self._pos = [], 0
        result = self.connection.execute(statement, *params)
        self.result = result
        if result.kind == "select" or result.kind in ("insert", "update"):
            cols = result.columns
            self._rows = result.rows
            self.description = [_describe(c, i, result) for i, c in enumerate(cols)]
        if result.kind == "insert" and result.objects:
            self.lastrowid = result.objects[-1].get("objectId")
        # A select's rowcount is the rows it gives (a count-only select gives one).
        self.rowcount = len(self._rows) if result.kind == "select" else result.rowcount
        return self

    def executemany(self, statement: str, seq_of_params: Iterable[Sequence[Any]]) -> "Cursor":
        """The statement once per parameter set, in one transaction on the
        embedded engine (all or nothing, as sqlite3 does); no result set."""
        self._check_open()
        self.description = None
        self.rowcount = -1
        self._rows, self._pos = [], 0
        self.result = None
        total, last = self.connection.executemany(statement, (_checked_params(p) for p in seq_of_params))
        self.rowcount = total
        if last is not None:
            self.lastrowid = last
        return self

    def _check_result(self) -> None:
        self._check_open()
        if self.description is None:
            raise errors.ProgrammingError("no result set: the last statement returned no rows"
                                          if self.result is not None else "nothing was executed yet")

    def fetchone(self) -> Optional[tuple]:
        self._check_result()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> List[tuple]:
        self._check_result()
        n = self.arraysize if size is None else size
        rows = self._rows[self._pos:self._pos + n]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> List[tuple]:
        self._check_result()
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rows

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise errors.InterfaceError("the cursor is closed")
        self.connection._check_open()

    def __iter__(self):
        return iter(self.fetchone, None)

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _checked_params(params: Any) -> Sequence[Any]:
    """A statement's parameters as a sequence, or a ProgrammingError saying why not."""
    kind = type(params)
    if issubclass(kind, dict):
        raise errors.ProgrammingError("paramstyle is qmark: pass parameters as a sequence, not a mapping")
    if issubclass(kind, (str, bytes)):
        raise errors.ProgrammingError("parameters must be a sequence such as a tuple or list, not a string")
    if params is None:
        return ()
    if not hasattr(kind, "__iter__"):
        raise errors.ProgrammingError(f"parameters must be a sequence such as a tuple or list, "
                                      f"not {kind.__name__} (write ({errors.describe(params, 60)},) for one)")
    if kind is not tuple and kind is not list:
        try:
            return tuple(params)
        except Exception as exc:  # noqa: BLE001 - a hostile __iter__
            raise errors.ProgrammingError(f"cannot read the parameters: iterating over the "
                                          f"{kind.__name__} raised {type(exc).__name__}") from None
    return params


def _describe(column: str, index: int, result: Result) -> tuple:
    """A PEP 249 column description: (name, type_code, None x 5)."""
    from .dbapi import type_code
    if result.count_only:
        return (column, "Number", None, None, None, None, None)
    value = None
    for obj in result.objects:
        value = obj.get(column)
        if value is not None:
            break
    return (column, type_code(column, value), None, None, None, None, None)


def connect(target: Optional[str] = None, **options: Any) -> Connection:
    """Open a connection: None or ":memory:" (transient embedded database), a
    file path (persistent embedded database, created if missing), or an
    http(s):// URL (a Parse Server or LeanCloud app)."""
    target = target_text(target)
    return Connection(open_backend(target, **options), target)


_default: Optional[Connection] = None
_default_lock = threading.Lock()


def init(target: Union[None, str, Connection] = None, **options: Any) -> Connection:
    """Set the module's default connection, used by ``cql.execute`` and by
    cql.Query/Object/Model without ``conn=``: a target as ``connect`` takes,
    or a Connection already open. The previous default is closed."""
    global _default
    with _default_lock:
        new = target if isinstance(target, Connection) else connect(target, **options)
        if _default is not None and _default is not new:
            _default.close()
        _default = new
        return _default


def default_connection() -> Connection:
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = connect(os.environ.get("CQL_TARGET") or None)
        return _default


def execute(statement: str, *params: Any) -> Result:
    """Run one statement on the default connection (see ``init``)."""
    return default_connection().execute(statement, *params)

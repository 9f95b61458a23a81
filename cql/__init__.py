"""cql: an interpreter and shell for CQL, LeanCloud's Cloud Query Language.

Public API only; everything is imported lazily so that ``cql -e`` starts fast.
"""
from __future__ import annotations

from typing import Any, List

from .errors import (  # noqa: F401
    CQLError, CQLSyntaxError, UnsupportedError, ParameterError, InvalidGeoPoint,
    InvalidClassName, InvalidKey, MissingObjectId, ObjectNotFound, ConditionNotMet,
    InvalidJSON, TypeMismatch, ServerError, ConnectionFailed, StorageError, QueryTimeout, InvalidOption, OutcomeUnknown,
    Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError,
    IntegrityError, InternalError, ProgrammingError, NotSupportedError, BadValueError, BatchWriteError,
)
from .types import Pointer, GeoPoint, File, Relation  # noqa: F401
from .connection import connect, init, execute, Connection, Cursor  # noqa: F401
from .result import Result  # noqa: F401
from .dbapi import (  # noqa: F401
    STRING, BINARY, NUMBER, DATETIME, ROWID, Date, Time, Timestamp,
    DateFromTicks, TimeFromTicks, TimestampFromTicks, Binary,
)

__version__ = "0.1.0"

# PEP 249 module globals
apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"


# The Python vocabularies (cql.Query, cql.Object, cql.Model and its properties)
# load on first use, so that ``import cql`` and ``cql -e`` stay fast.
_LAZY = {
    "Query": "objects", "Object": "objects",
    "Model": "model", "Key": "model", "AND": "model", "OR": "model",
    "StringProperty": "model", "IntegerProperty": "model", "FloatProperty": "model",
    "BooleanProperty": "model", "DateTimeProperty": "model", "GeoPtProperty": "model",
    "PointerProperty": "model", "JsonProperty": "model",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cql' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext cql``: the %cql / %%cql magics (see cql.notebook)."""
    from .notebook import load_ipython_extension as load
    load(ipython)


def parse(text: str) -> List[Any]:
    """Parse CQL text into a list of AST statements (raises CQLError)."""
    from .parser import parse as _parse
    return _parse(text)


def explain(statement: str, *params: Any, dialect: str = "leancloud") -> List[dict]:
    """The REST requests one statement lowers to: LeanCloud's (the reference
    lowering) by default, or what a server dialect ("parse-postgres") sends."""
    from .parser import parse as _parse
    from .plan import requests_of
    from .planner import plan
    statements = _parse(statement)
    if len(statements) != 1:
        raise CQLSyntaxError(f"explain() takes one statement, got {len(statements)}")
    p = plan(statements[0], params)
    if dialect == "leancloud":  # the reference lowering: no need to load the REST client
        return requests_of(p)
    from .rest.dialects import get_dialect
    return get_dialect(dialect).explain(p)


def copy(source: Any, target: Any, **options: Any) -> Any:
    """Copy an app: ``source`` and ``target`` are LeanCloud exports (archive,
    folder, .jsonl/.json/.csv file), embedded database files, server URLs or
    open Connections. Keeps objectIds, createdAt/updatedAt, ACLs, typed values
    and relations; stops before writing when the target cannot keep something
    (``accept=`` names the losses to go on with); verifies at the end.
    Returns a ``cql.transfer.CopyReport`` (``.ok``, ``.verify``). Options:
    classes, exclude, where (a CQL condition), accept, rename, source_options,
    target_options (app_id, master_key, maintenance_key, flavor, page_size),
    verify, workers, progress (a stream for per-class progress bars)."""
    from .transfer import copy as _copy
    return _copy(source, target, **options)


def verify(source: Any, target: Any, **options: Any) -> Any:
    """Compare ``target`` with ``source`` object by object; returns a
    ``cql.transfer.VerifyReport`` (``.clean``; ``str()`` lists every
    difference by objectId). Options as for ``copy``."""
    from .transfer import verify as _verify
    return _verify(source, target, **options)

"""The embedded engine: CQL's reference semantics on an SQLite file (or SQLite
in memory for a transient database), the file being the database and memory
a bounded cache.

``EngineBackend(None)`` is a transient database; ``EngineBackend("app.db")`` a
persistent one (created if missing). See executor.py (statements), query.py
and access.py (access paths), indexes.py and keys.py (persistent indexes),
store.py, fileformat.py and cache.py (the file, transactions, the cache),
project.py (reading fields in SQL), matcher.py (where semantics, with
values.py, ordering.py, geo.py, subqueries.py, regex.py and fastpaths.py) and
ops.py (update operators).
"""
from typing import Any

__all__ = ["EngineBackend"]


def __getattr__(name: str) -> Any:
    # Lazy: cql.rest uses the matcher and geo.py without loading the store.
    if name == "EngineBackend":
        from .executor import EngineBackend
        return EngineBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

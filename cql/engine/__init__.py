"""The embedded engine: CQL's reference semantics on in-memory objects,
persisted to an SQLite file when opened on one.

``EngineBackend(None)`` is a transient database; ``EngineBackend("app.db")`` a
persistent one (created if missing). See executor.py (statements), query.py
(access paths), indexes.py, store.py (durability), matcher.py (where semantics,
with values.py, ordering.py, geo.py, subqueries.py, regex.py and fastpaths.py)
and ops.py (update operators).
"""
from typing import Any

__all__ = ["EngineBackend"]


def __getattr__(name: str) -> Any:
    # Lazy: cql.rest uses the matcher and geo.py without loading the store.
    if name == "EngineBackend":
        from .executor import EngineBackend
        return EngineBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

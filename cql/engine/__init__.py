"""The embedded engine: CQL's reference semantics on in-memory objects,
persisted to an SQLite file when opened on one.

``EngineBackend(None)`` is a transient database; ``EngineBackend("app.db")`` a
persistent one (created if missing). See executor.py (statements), query.py
(access paths), indexes.py, store.py (durability), matcher.py (where semantics)
and ops.py (update operators).
"""
from .executor import EngineBackend

__all__ = ["EngineBackend"]

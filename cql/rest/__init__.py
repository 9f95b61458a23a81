"""REST backend: runs Plans on a Parse Server or a LeanCloud app.

``cql.connect("http://127.0.0.1:1337/parse", app_id=..., master_key=...)``
gives a Connection on a RestBackend. ``get_dialect(name).explain(plan)`` shows
the requests a server dialect ("leancloud", "parse-postgres") is sent.
"""
from .backend import RestBackend
from .client import BatchError, BatchOutcomeUnknown
from .dialects import Dialect, get_dialect

__all__ = ["RestBackend", "BatchError", "BatchOutcomeUnknown", "Dialect", "get_dialect"]

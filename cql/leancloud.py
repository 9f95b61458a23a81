"""The LeanCloud Python SDK's storage API over cql: ``import cql.leancloud as leancloud``.

Code written against ``import leancloud`` (the LeanStorage guide's examples)
runs unchanged after that import and a connect line: ``cql.init(TARGET)``, or
the SDK's ``leancloud.init(app_id, app_key/master_key)`` with the app's API
server in LEANCLOUD_API_SERVER (as LeanEngine sets it) or any cql TARGET in
CQL_TARGET. Differences from the SDK, on purpose:

- ``Query`` changes in place and returns itself, as the SDK's does (so
  ``query.equal_to(...)`` on a line of its own works), but a second condition
  on a field is added to the first, never put in its place; ``cql.Query`` is
  the immutable one.
- ``save_all``/``destroy_all`` report every failed object (BatchWriteError),
  not only the first.
- Files, users and the other SDK services are not here: only objects and queries.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from .connection import Connection, init as connect_default
from .errors import BatchWriteError, CQLError  # noqa: F401
from .objects import Object as BaseObject, Query as ObjectQuery, Relation  # noqa: F401
from .types import GeoPoint as BaseGeoPoint

__all__ = ["Object", "Query", "Relation", "GeoPoint", "LeanCloudError", "BatchWriteError", "init",
           "use_master_key"]

LeanCloudError = CQLError


class Object(BaseObject):
    """leancloud.Object: cql.Object whose ``query`` is the SDK-style Query."""

    _registry: dict = {}


class Query(ObjectQuery):
    """leancloud.Query: each call changes this query and returns it (the SDK's way)."""

    object_class = Object

    def replace(self, **changes: Any) -> "Query":
        changed = super().replace(**changes)
        self.__dict__.update(changed.__dict__)
        return self


Object.query_class = Query


class GeoPoint(BaseGeoPoint):
    """leancloud.GeoPoint(latitude, longitude): positional, as the SDK's."""

    def __init__(self, latitude: float = 0.0, longitude: float = 0.0):
        super().__init__(latitude=latitude, longitude=longitude)


_master = False


def init(app_id: str, app_key: Optional[str] = None, master_key: Optional[str] = None,
         hook_key: Optional[str] = None) -> Connection:
    """Connect cql's default connection to a LeanCloud app (the SDK's init).
    The server comes from LEANCLOUD_API_SERVER (or LC_API_SERVER); CQL_TARGET
    may name any other cql target instead (a file, a Parse Server URL)."""
    global _master
    server = os.environ.get("LEANCLOUD_API_SERVER") or os.environ.get("LC_API_SERVER")
    if server:
        _master = bool(master_key)
        return connect_default(server, app_id=app_id, rest_key=None if master_key else app_key,
                        master_key=master_key, flavor="leancloud")
    target = os.environ.get("CQL_TARGET")
    if target is None:
        raise CQLError("leancloud.init() needs the app's API server: set LEANCLOUD_API_SERVER "
                       "(https://...), or CQL_TARGET to another cql target, or call cql.init(TARGET)", 1)
    return connect_default(target or None)


def use_master_key(flag: bool = True) -> None:
    """The master key is used whenever init() was given one; asking for it
    without one is an error rather than a silent no-op."""
    if flag and not _master and os.environ.get("LEANCLOUD_API_SERVER"):
        raise CQLError("use_master_key(): leancloud.init() was not given a master key", 1)

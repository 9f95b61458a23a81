"""What the REST backend knows about classes and field types.

With the master key it reads ``GET /schemas`` (cached, refreshed after writes);
without it, it infers types from the objects queries return. The dialects use
the types to know e.g. which fields hold arrays; an unknown type makes them
cautious (evaluate on the client), never wrong.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .. import errors
from ..names import SYSTEM_TYPES, UPDATE_OPS
from ..types import schema_type

Schema = Dict[str, Dict[str, str]]
HIDDEN_FIELDS = {"ACL", "_rperm", "_wperm", "authData", "_hashed_password"}


def type_of(value: Any) -> Optional[str]:
    """The Parse type name of one REST JSON value (None for null); an included
    object counts as the Pointer it stands for."""
    if isinstance(value, dict) and value.get("__type") == "Object":
        return "Pointer"
    kind = schema_type(value)
    return None if kind is None else kind.split("<", 1)[0]


class SchemaCache:
    """Field types per class, fetched lazily. ``fetch`` is a callable doing
    ``GET /schemas`` (None without the master key)."""

    def __init__(self, fetch: Optional[Callable[[], dict]]):
        self._fetch = fetch
        self._server: Optional[Schema] = None
        self._seen: Schema = {}
        self._targets: Dict[tuple, str] = {}  # (class, field) -> target class of a Pointer/Relation

    def invalidate(self) -> None:
        """Forget the server's schema (a write may have added a class or field)."""
        self._server = None

    def _load(self) -> Optional[Schema]:
        if self._fetch is None:
            return None
        if self._server is None:
            try:
                answer = self._fetch()
            except errors.ServerError:
                self._fetch = None  # e.g. not allowed after all: fall back to inference
                return None
            schema: Schema = {}
            for entry in answer.get("results", []):
                fields = {}
                for name, spec in (entry.get("fields") or {}).items():
                    if name in HIDDEN_FIELDS:
                        continue
                    fields[name] = spec.get("type", "Object") if isinstance(spec, dict) else str(spec)
                    if isinstance(spec, dict) and spec.get("targetClass"):
                        self._targets[(entry.get("className", ""), name)] = spec["targetClass"]
                schema[entry.get("className", "")] = fields
            self._server = schema
        return self._server

    def learn(self, class_name: str, bodies) -> None:
        """Update the cached server schema with what a write adds (new classes
        and fields take the type of the value written), so a write does not
        cost a /schemas round trip; anything unclear drops the cache instead."""
        if self._server is None:
            return
        fields = self._server.setdefault(class_name, dict(SYSTEM_TYPES))
        for body in bodies:
            for key, value in body.items():
                if key in fields:
                    continue
                kind = _written_type(value)
                if kind == "":
                    continue  # Delete: no field added
                if kind is None:
                    self.invalidate()
                    return
                fields[key] = kind
                target = _written_target(value)
                if target:
                    self._targets[(class_name, key)] = target

    def observe(self, class_name: str, objects) -> None:
        """Learn field types from returned objects (used without the master key)."""
        if self._fetch is not None:
            return
        fields = self._seen.setdefault(class_name, dict(SYSTEM_TYPES))
        for obj in objects:
            for key, value in obj.items():
                kind = type_of(value)
                if kind is not None and key not in HIDDEN_FIELDS:
                    fields.setdefault(key, kind)
                    if kind in ("Pointer", "Relation") and isinstance(value.get("className"), str):
                        self._targets.setdefault((class_name, key), value["className"])

    def field_type(self, class_name: str, field: str) -> Optional[str]:
        """The field's type, or None when unknown (or the field does not exist)."""
        if field in SYSTEM_TYPES:
            return SYSTEM_TYPES[field]
        server = self._load()
        source = server if server is not None else self._seen
        return source.get(class_name, {}).get(field)

    def target_class(self, class_name: str, field: str) -> Optional[str]:
        """The class a Pointer or Relation field points to, when known."""
        self._load()
        return self._targets.get((class_name, field))

    def probed(self, class_name: str, field: str) -> bool:
        """Record a lookup of an unknown field; True if it was looked up before."""
        key = ("?probe", class_name, field)
        seen = key in self._targets
        self._targets[key] = ""
        return seen

    @property
    def from_server(self) -> bool:
        return self._fetch is not None

    def knows_class(self, class_name: str) -> Optional[bool]:
        """True/False when the server's schema is known, None when guessing."""
        server = self._load()
        if server is None:
            return None
        return class_name in server

    def all(self) -> Schema:
        server = self._load()
        source = server if server is not None else self._seen
        return {cls: dict(sorted(fields.items())) for cls, fields in sorted(source.items())}


def _written_type(value: Any) -> Optional[str]:
    """The type a written value gives a new field ('' for none, None if unclear)."""
    if isinstance(value, dict) and "__op" in value:
        return UPDATE_OPS.get(value["__op"])
    return type_of(value)


def _written_target(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        if value.get("__type") == "Pointer":
            return value.get("className")
        objects = value.get("objects")
        if value.get("__op") in ("AddRelation", "RemoveRelation") and objects:
            return objects[0].get("className") if isinstance(objects[0], dict) else None
    return None

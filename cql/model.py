"""cql.Model: App Engine ndb-style models over Plans.

    class Todo(cql.Model):
        title = cql.StringProperty(required=True)
        priority = cql.IntegerProperty(default=0)

    key = Todo(title="write").put()
    Todo.get_by_id(key.id()); Todo.query(Todo.priority > 0).order(-Todo.priority).fetch(10)

Values are checked when assigned and ``required`` ones at ``put()``, so a bad
value is a BadValueError before anything is sent. Fields the model does not
declare are kept (LeanCloud is schema-free) unless ``_strict = True``. The
stored class is ``_class_name()`` (default: the Python class name). Hooks
(``_pre_put_hook``/``_post_put_hook``, ``_pre_get_hook``/``_post_get_hook``,
``_pre_delete_hook``/``_post_delete_hook``) have ndb's signatures; a post hook
gets a finished future (``future.get_result()``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence

from .connection import Connection, default_connection
from .errors import BadValueError, CQLError, describe
from .names import DATE_FIELDS, SYSTEM_FIELDS
from .objects import write_each
from .plan import Create, Delete, Find, Update
from .properties import (BooleanProperty, DateTimeProperty, FloatProperty, GeoPtProperty, IntegerProperty,  # noqa: F401
                         JsonProperty, PointerProperty, Property, StringProperty, property_list)
from .query import AND, OR, Condition, Query, check_class_name, encode_value  # noqa: F401
from .result import decode_object
from .types import Pointer, decode

__all__ = ["Model", "Key", "Done", "Property", "StringProperty", "IntegerProperty", "FloatProperty", "BooleanProperty",
           "DateTimeProperty", "GeoPtProperty", "PointerProperty", "JsonProperty", "AND", "OR"]

_GET_CHUNK = 100  # ids per get_multi query


class Done:
    """What ndb's post hooks receive: a future that has finished."""

    def __init__(self, result: Any):
        self._result = result

    def get_result(self) -> Any:
        return self._result

    def done(self) -> bool:
        return True

    def check_success(self) -> None:
        pass


class Key:
    """An object's identity: its model and objectId (ndb's Key, flat)."""

    def __init__(self, model: type, object_id: str, conn: Optional[Connection] = None):
        self.model, self._id, self.conn = model, object_id, conn

    def id(self) -> str:
        return self._id

    def kind(self) -> str:
        return self.model.rest_class_name()

    def get(self, conn: Optional[Connection] = None) -> Optional["Model"]:
        return self.model.get_by_id(self._id, conn=conn or self.conn)

    def delete(self, conn: Optional[Connection] = None) -> None:
        self.model.delete_multi([self], conn=conn or self.conn)

    def to_pointer(self) -> Pointer:
        return Pointer(self.kind(), self._id)

    def describe(self) -> str:
        return f"{self.kind()} {self._id}"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Key) and (self.kind(), self._id) == (other.kind(), other._id)

    def __hash__(self) -> int:
        return hash((self.kind(), self._id))

    def __repr__(self) -> str:
        return f"Key({self.kind()!r}, {self._id!r})"


class Model:
    """A typed object of one class; see the module docstring."""

    _connection: Optional[Connection] = None  # bind a model: Todo._connection = conn
    _strict = False  # True: fields the model does not declare are refused (and dropped on read)
    _properties: Dict[str, Property] = {}  # stored field name -> property
    _attrs = frozenset({"key", "created_at", "updated_at"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._properties = {p.name: p for p in property_list(cls)}
        check_class_name(cls._class_name())

    def __init__(self, id: Optional[str] = None, **values: Any):  # noqa: A002 - ndb's keyword
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_extra", {})
        object.__setattr__(self, "_dirty", set())
        object.__setattr__(self, "_conn", None)
        self.key: Optional[Key] = Key(type(self), id) if id else None
        self.created_at: Optional[datetime] = None
        self.updated_at: Optional[datetime] = None
        self.populate(**values)

    # -- the class ---------------------------------------------------------------------
    @classmethod
    def _class_name(cls) -> str:
        return cls.__name__

    @classmethod
    def rest_class_name(cls) -> str:
        return cls._class_name()

    @classmethod
    def bound_connection(cls) -> Optional[Connection]:
        return cls._connection

    @classmethod
    def _conn_for(cls, conn: Optional[Connection]) -> Connection:
        return conn or cls._connection or default_connection()

    @classmethod
    def query(cls, *conditions: Condition, **options: Any) -> Query:
        """A cql.Query on this model (``keys_only``, ``projection``, ``conn`` as options)."""
        return Query(cls, *conditions, **options)

    @classmethod
    def from_rest(cls, obj: dict, conn: Optional[Connection] = None) -> "Model":
        entity = cls()
        object.__setattr__(entity, "_conn", conn)
        entity._load(obj)
        return entity

    @classmethod
    def key_for(cls, object_id: str, conn: Optional[Connection] = None) -> Key:
        return Key(cls, object_id, conn)

    def _load(self, obj: dict) -> None:
        meta = decode_object({k: obj[k] for k in SYSTEM_FIELDS if k in obj})
        self.key = Key(type(self), meta["objectId"], self._conn) if meta.get("objectId") else self.key
        self.created_at = meta.get("createdAt")
        self.updated_at = meta.get("updatedAt", self.created_at)
        self._values.clear()
        self._extra.clear()
        self._dirty.clear()
        for name, value in obj.items():
            if name in SYSTEM_FIELDS or name in ("__type", "className"):
                continue
            prop = self._properties.get(name)
            if prop is not None:
                self._values[name] = [prop.from_rest(v) for v in value] if prop.repeated and isinstance(value, list) \
                    else prop.from_rest(value)
            elif not self._strict:
                self._extra[name] = decode(value)

    # -- values ---------------------------------------------------------------------
    def property_value(self, prop: Property) -> Any:
        if prop.name not in self._values:
            self._values[prop.name] = prop.empty()
        return self._values[prop.name]

    def set_property(self, prop: Property, value: Any) -> None:
        self._values[prop.name] = value
        self._dirty.add(prop.name)

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("_extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} has no property or field {describe(name)}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in self._attrs or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        if self._strict:
            raise BadValueError(f"{type(self).__name__} has no property {describe(name)} (the model is strict)")
        encode_value(value)  # a value JSON cannot hold fails here, not at put()
        self._extra[name] = value
        self._dirty.add(name)

    def populate(self, **values: Any) -> "Model":
        for name, value in values.items():
            setattr(self, name, value)
        return self

    def to_dict(self, include: Optional[Iterable[str]] = None, exclude: Optional[Iterable[str]] = None
                ) -> Dict[str, Any]:
        """Properties (then extra fields) as Python values, by attribute name."""
        out = {p.attr: self.property_value(p) for p in self._properties.values()}
        out.update(self._extra)
        if include is not None:
            wanted = set(include)
            out = {k: v for k, v in out.items() if k in wanted}
        for name in exclude or ():
            out.pop(name, None)
        return out

    def to_pointer(self) -> Pointer:
        if self.key is None:
            raise CQLError(f"this {self.rest_class_name()} has not been put(): put() it before pointing to it", 104)
        return self.key.to_pointer()

    def describe(self) -> str:
        return self.key.describe() if self.key else f"new {self.rest_class_name()}"

    # -- writing --------------------------------------------------------------------
    def _check(self) -> None:
        """Everything ``put()`` checks before sending: required values, auto_now."""
        now = datetime.now(timezone.utc)
        for prop in self._properties.values():
            if isinstance(prop, DateTimeProperty) and (prop.auto_now or (prop.auto_now_add and self.key is None)):
                self.set_property(prop, now)
            value = self.property_value(prop)
            if prop.required and (value is None or value == []):
                raise prop.error("is required: give it a value before put()")

    def put_plan(self) -> Any:
        """The Create or Update plan ``put()`` runs (checks first)."""
        self._check()
        if self.key is None:
            body = {p.name: self._rest(p) for p in self._properties.values() if self.property_value(p) is not None}
            body.update({k: encode_value(v) for k, v in self._extra.items()})
            return Create(self.rest_class_name(), (body,), tuple(body))
        body = {}
        for name in self._dirty:
            prop = self._properties.get(name)
            body[name] = self._rest(prop) if prop is not None else encode_value(self._extra.get(name))
        return Update(self.rest_class_name(), body, self.key.id())

    def _rest(self, prop: Property) -> Any:
        value = self.property_value(prop)
        if value is None:
            return None
        return [prop.to_rest(v) for v in value] if prop.repeated else prop.to_rest(value)

    def _stored(self, answer: dict, conn: Connection) -> None:
        if self.key is None:
            self.key = Key(type(self), answer["objectId"], conn)
        meta = decode_object({k: answer[k] for k in DATE_FIELDS if answer.get(k)})
        if "createdAt" in meta:
            self.created_at = self.updated_at = meta["createdAt"]
        self.updated_at = meta.get("updatedAt", self.updated_at)
        self._dirty.clear()

    def put(self, conn: Optional[Connection] = None) -> Key:
        """Write this entity (create it, or update the fields changed since it
        was read); returns its key."""
        return self.put_multi([self], conn=conn)[0]

    def delete(self, conn: Optional[Connection] = None) -> None:
        if self.key is None:
            raise CQLError(f"this {self.rest_class_name()} was never put(): nothing to delete", 104)
        self.key.delete(conn=conn or self._conn)

    @classmethod
    def get_by_id(cls, object_id: str, conn: Optional[Connection] = None) -> Optional["Model"]:
        """The entity with this objectId, or None."""
        return cls.get_multi([Key(cls, object_id, conn)], conn=conn)[0]

    @classmethod
    def get_multi(cls, keys: Sequence[Key], conn: Optional[Connection] = None) -> List[Optional["Model"]]:
        """The entities of ``keys`` (None where missing), read _GET_CHUNK ids a query."""
        keys = [k if isinstance(k, Key) else Key(cls, k, conn) for k in keys]
        for key in keys:
            key.model._pre_get_hook(key)
        found: Dict[tuple, Model] = {}
        by_model: Dict[type, List[Key]] = {}
        for key in keys:
            by_model.setdefault(key.model, []).append(key)
        for model, group in by_model.items():
            c = model._conn_for(conn or group[0].conn)
            ids = list(dict.fromkeys(k.id() for k in group))
            for start in range(0, len(ids), _GET_CHUNK):
                chunk = ids[start:start + _GET_CHUNK]
                find = Find(model.rest_class_name(), where={"objectId": {"$in": chunk}}, limit=len(chunk))
                for obj in c.run(find).objects:
                    found[(model, obj["objectId"])] = model.from_rest(obj, conn)
        out = [found.get((k.model, k.id())) for k in keys]
        for key, entity in zip(keys, out):
            key.model._post_get_hook(key, Done(entity))
        return out

    @classmethod
    def put_multi(cls, entities: Sequence["Model"], conn: Optional[Connection] = None) -> List[Key]:
        """Put many entities (batched). Every entity is checked before anything
        is sent; BatchWriteError lists every write that failed."""
        entities = list(entities)
        for entity in entities:
            entity._pre_put_hook()
        plans = [e.put_plan() for e in entities]
        write_each(entities, plans, lambda e: e._conn_for_write(conn), "puts",
                     lambda e, result, c: e._after_put(result, c))
        return [e.key for e in entities]

    def _conn_for_write(self, conn: Optional[Connection]) -> Connection:
        return conn or self._conn or (self.key.conn if self.key else None) or type(self)._conn_for(None)

    def _after_put(self, result: Any, conn: Connection) -> None:
        self._stored(result.objects[0], conn)
        self._post_put_hook(Done(self.key))

    @classmethod
    def delete_multi(cls, keys: Sequence[Key], conn: Optional[Connection] = None) -> None:
        """Delete many entities by key (batched); BatchWriteError lists every failure."""
        keys = [k if isinstance(k, Key) else Key(cls, k, conn) for k in keys]
        for key in keys:
            key.model._pre_delete_hook(key)
        plans = [Delete(k.kind(), k.id()) for k in keys]
        write_each(keys, plans, lambda k: k.model._conn_for(conn or k.conn), "deletes",
                     lambda k, result, c: k.model._post_delete_hook(k, Done(None)))

    # -- hooks (override them) ------------------------------------------------------------
    def _pre_put_hook(self) -> None:
        pass

    def _post_put_hook(self, future: Done) -> None:
        pass

    @classmethod
    def _pre_get_hook(cls, key: Key) -> None:
        pass

    @classmethod
    def _post_get_hook(cls, key: Key, future: Done) -> None:
        pass

    @classmethod
    def _pre_delete_hook(cls, key: Key) -> None:
        pass

    @classmethod
    def _post_delete_hook(cls, key: Key, future: Done) -> None:
        pass

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.key == other.key and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like ndb entities

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}(key={self.key!r}, {fields})"

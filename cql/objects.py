"""cql.Object: LeanCloud SDK-style objects, written and read through Plans.

``Todo = cql.Object.extend("Todo")`` or ``class Todo(cql.Object)``; ``set``,
``get``, ``increment``, ``add`` ... record changes locally (applied to the
local values as the SDK does) and ``save()`` sends them as one Create or
Update plan, ops as ``{"__op": ...}``. ``save(where=query)`` is a conditional
write (305 when the condition does not hold), ``save_all``/``destroy_all`` run
one plan per object through ``Connection.run_each`` (REST: /batch, 50 a
request) and report every failure, per object.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .connection import Connection, default_connection
from .errors import (BatchWriteError, CQLError, InvalidJSON, InvalidKey, MissingObjectId, ObjectNotFound,
                     ParameterError, TypeMismatch, describe)
from .names import DATE_FIELDS, SYSTEM_FIELDS
from .plan import Create, Delete, Find, Update
from .query import Query as BaseQuery, check_class_name, check_key, encode_value
from .result import decode_object
from .types import MAX_DEPTH, Pointer, Relation as RelationType, decode

__all__ = ["Object", "Query", "Relation", "write_each"]

_ARRAY_OPS = ("Add", "AddUnique", "Remove")
_BIT_OPS = {"BitAnd": lambda a, b: a & b, "BitOr": lambda a, b: a | b, "BitXor": lambda a, b: a ^ b}


class ObjectMeta(type):
    @property
    def query(cls) -> "Query":
        """A query on this class (``Todo.query``, as the SDK)."""
        return cls.query_class(cls)


class Object(metaclass=ObjectMeta):
    """One object of a class; see the module docstring."""

    _class_name: str = ""
    _connection: Optional[Connection] = None  # bind a class: Todo._connection = conn
    _registry: Dict[str, type] = {}  # class name -> class, for extend() and rows
    query_class: type = BaseQuery  # set to Query below

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("_class_name")
        if isinstance(cls.__dict__.get("class_name"), str):  # the SDK's spelling in a class body
            own = cls.__dict__["class_name"]
            delattr(cls, "class_name")
        if isinstance(own, str) and own:
            cls._class_name = check_class_name(own)
        elif "_registry" not in cls.__dict__:
            cls._class_name = check_class_name(cls.__name__)
        if cls._class_name:
            cls._registry[cls._class_name] = cls

    def __init__(self, **attrs: Any):
        self.id: Optional[str] = None
        self.created_at: Optional[datetime] = None
        self.updated_at: Optional[datetime] = None
        self.fetch_when_save = False
        self._attributes: Dict[str, Any] = {}
        self._changes: Dict[str, Tuple[str, Any]] = {}
        self._conn: Optional[Connection] = None
        for key, value in attrs.items():
            self.set(key, value)

    # -- classes ------------------------------------------------------------------
    @classmethod
    def extend(cls, name: str) -> type:
        """The class for ``name`` (the one defined or extended before, if any)."""
        known = cls._registry.get(check_class_name(name))
        if known is not None and issubclass(known, cls):
            return known
        return type(name if name.isidentifier() else "Object", (cls,), {"_class_name": name})

    @classmethod
    def create(cls, class_name: str, **attrs: Any) -> "Object":
        return cls.extend(class_name)(**attrs)

    @classmethod
    def create_without_data(cls, object_id: str, conn: Optional[Connection] = None) -> "Object":
        """An object known by its id only (``fetch()`` reads it)."""
        if cls._class_name == "":
            raise ParameterError("create_without_data() needs a class: Todo.create_without_data(id)")
        obj = cls()
        obj.id = object_id
        obj._conn = conn
        return obj

    @classmethod
    def rest_class_name(cls) -> str:
        if not cls._class_name:
            raise ParameterError("cql.Object itself has no class: use Object.extend('Todo') or subclass it")
        return cls._class_name

    def class_name(self) -> str:
        """This object's class (an instance may set ``self._class_name``, as the SDK allows)."""
        return self.__dict__.get("_class_name") or self.rest_class_name()

    @classmethod
    def bound_connection(cls) -> Optional[Connection]:
        return cls._connection

    @classmethod
    def from_rest(cls, obj: dict, conn: Optional[Connection] = None) -> "Object":
        """An object from its REST JSON (a row of a query)."""
        out = cls()
        out._conn = conn
        out._load(obj)
        return out

    def _load(self, obj: dict, only: Optional[Iterable[str]] = None) -> None:
        meta = decode_object({k: obj[k] for k in SYSTEM_FIELDS if k in obj})
        self.id = meta.get("objectId", self.id)
        self.created_at = meta.get("createdAt", self.created_at)
        self.updated_at = meta.get("updatedAt", self.updated_at or self.created_at)
        fields = {k: self._decode(v) for k, v in obj.items() if k not in SYSTEM_FIELDS
                  and k not in ("__type", "className")}
        if only is None:
            self._attributes = fields
        else:
            self._attributes.update({k: fields[k] for k in only if k in fields})
        self._changes = {}

    def _decode(self, value: Any) -> Any:
        """REST JSON to Python; pointers and included objects become objects."""
        if isinstance(value, list):
            return [self._decode(v) for v in value]
        if isinstance(value, dict):
            kind = value.get("__type")
            if kind in ("Pointer", "Object") and isinstance(value.get("className"), str):
                cls = self._root().extend(value["className"])
                if kind == "Object":
                    return cls.from_rest(value, self._conn)
                return cls.create_without_data(value.get("objectId"), self._conn)
            if kind is None:
                return {k: self._decode(v) for k, v in value.items()}
        return decode(value)

    @classmethod
    def _root(cls) -> type:
        return next(c for c in cls.__mro__ if "_registry" in c.__dict__)

    # -- fields -------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        if key == "objectId":
            return self.id
        if key == "createdAt":
            return self.created_at
        if key == "updatedAt":
            return self.updated_at
        return self._attributes.get(key, default)

    def has(self, key: str) -> bool:
        return key in self._attributes

    def set(self, key_or_attrs: Any, value: Any = None) -> "Object":
        """Set one field, or several from a dict."""
        if isinstance(key_or_attrs, dict):
            for key, item in dict.items(key_or_attrs):
                self.set(key, item)
            return self
        _check_value(value)
        return self._change(key_or_attrs, "Set", value)

    def unset(self, key: str) -> "Object":
        return self._change(key, "Delete", None)

    def increment(self, key: str, amount: float = 1) -> "Object":
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise ParameterError(f"increment() needs a number, got {describe(amount)}")
        return self._change(key, "Increment", amount)

    def add(self, key: str, item: Any) -> "Object":
        _check_value(item)
        return self._change(key, "Add", [item])

    def add_unique(self, key: str, item: Any) -> "Object":
        _check_value(item)
        return self._change(key, "AddUnique", [item])

    def remove(self, key: str, item: Any) -> "Object":
        _check_value(item)
        return self._change(key, "Remove", [item])

    def bit_and(self, key: str, value: int) -> "Object":
        return self._change(key, "BitAnd", value)

    def bit_or(self, key: str, value: int) -> "Object":
        return self._change(key, "BitOr", value)

    def bit_xor(self, key: str, value: int) -> "Object":
        return self._change(key, "BitXor", value)

    def relation(self, key: str) -> "Relation":
        return Relation(self, check_key(key))

    def is_new(self) -> bool:
        return not self.id

    def is_dirty(self, key: Optional[str] = None) -> bool:
        return key in self._changes if key else (self.is_new() or bool(self._changes))

    def to_pointer(self) -> Pointer:
        if not self.id:
            raise MissingObjectId(f"this {self.class_name()} has not been saved: save() it before "
                                  "pointing to it")
        return Pointer(self.class_name(), self.id)

    def dump(self) -> dict:
        """The fields as REST JSON (with objectId/createdAt/updatedAt when known)."""
        out = {k: encode_value(v) for k, v in self._attributes.items()}
        for key in SYSTEM_FIELDS:
            value = self.get(key)
            if value is not None:
                out[key] = encode_value(value)
        return out

    def describe(self) -> str:
        return f"{self.class_name()} {self.id}" if self.id else f"new {self.class_name()}"

    def _change(self, key: str, op: str, arg: Any) -> "Object":
        check_key(key)
        if key in SYSTEM_FIELDS:
            raise InvalidKey(f"{key} is set by the database and cannot be written")
        merged = _merge(self._changes.get(key), (op, arg), key)
        self._apply_locally(key, op, arg)
        self._changes[key] = merged
        return self

    def _apply_locally(self, key: str, op: str, arg: Any) -> None:
        """The local value after an op, as the SDK estimates it."""
        old = self._attributes.get(key)
        if op == "Set":
            self._attributes[key] = arg
        elif op == "Delete":
            self._attributes.pop(key, None)
        elif op == "Increment":
            self._attributes[key] = (old or 0) + arg
        elif op in _BIT_OPS:
            self._attributes[key] = _BIT_OPS[op](old or 0, arg)
        elif op in _ARRAY_OPS:
            self._attributes[key] = _array_op(op, list(old) if isinstance(old, list) else [], arg)
        else:  # relation ops
            self._attributes[key] = RelationType(arg[0].class_name())

    # -- writing --------------------------------------------------------------------
    def connection(self, conn: Optional[Connection] = None) -> Connection:
        return conn or self._conn or type(self).bound_connection() or default_connection()

    def save(self, where: Optional[BaseQuery] = None, fetch_when_save: Optional[bool] = None,
             conn: Optional[Connection] = None) -> None:
        """Create or update this object; with ``where``, only if the object still
        matches that query (ConditionNotMet, code 305, otherwise)."""
        conn = self.connection(conn)
        children = [c for c in _unsaved_children(self) if c is not self]
        if children:
            type(self).save_all(children, conn=conn)
        result = conn.run(self.save_plan(where))
        self._saved(result.objects[0], conn)
        if fetch_when_save if fetch_when_save is not None else self.fetch_when_save:
            self.fetch(conn=conn)

    def save_plan(self, where: Optional[BaseQuery] = None) -> Any:
        """The Create or Update plan ``save()`` runs."""
        body = {key: _encode_change(change) for key, change in self._changes.items()}
        if where is not None:
            if not isinstance(where, BaseQuery):
                raise ParameterError(f"save(where=...) takes a query, got {describe(where)}")
            if where.class_name != self.class_name():
                raise ParameterError(f"save(where=...) needs a query on {self.class_name()}, "
                                     f"not {where.class_name}")
            if self.is_new():
                raise MissingObjectId("save(where=...) is a conditional update: the object must have been "
                                      "saved before")
        if self.is_new():
            return Create(self.class_name(), (body,), tuple(body))
        return Update(self.class_name(), body, self.id, where.where if where is not None else {})

    def _saved(self, answer: dict, conn: Connection) -> None:
        self.id = answer.get("objectId") or self.id
        self._conn = self._conn or conn
        meta = decode_object({k: answer[k] for k in DATE_FIELDS if answer.get(k)})
        if "createdAt" in meta:
            self.created_at = self.updated_at = meta["createdAt"]
        if "updatedAt" in meta:
            self.updated_at = meta["updatedAt"]
        self._changes = {}

    def fetch(self, select: Optional[Sequence[str]] = None, include: Optional[Sequence[str]] = None,
              conn: Optional[Connection] = None) -> "Object":
        """Read this object's fields (only ``select`` when given) from the database."""
        conn = self.connection(conn)
        if not self.id:
            raise MissingObjectId(f"this {self.class_name()} has no objectId to fetch")
        keys = tuple(check_key(k) for k in select) if select else None
        find = Find(self.class_name(), where={"objectId": self.id}, keys=keys,
                    include=tuple(check_key(k) for k in include or ()), limit=1)
        objects = conn.run(find).objects
        if not objects:
            raise ObjectNotFound(f"object {self.class_name()}/{self.id} not found")
        self._conn = self._conn or conn
        self._load(objects[0], only=select)
        return self

    def destroy(self, conn: Optional[Connection] = None) -> None:
        if self.id:
            self.connection(conn).run(Delete(self.class_name(), self.id))

    @classmethod
    def save_all(cls, objects: Sequence["Object"], conn: Optional[Connection] = None) -> None:
        """Save many objects (each its own write, batched); BatchWriteError lists
        every object that failed, the others are saved."""
        objects = list(objects)
        children = [c for o in objects for c in _unsaved_children(o) if c not in objects]
        if children:
            cls.save_all(children, conn=conn)
        write_each(objects, [o.save_plan() for o in objects], lambda o: o.connection(conn), "saves",
                   lambda o, result, c: o._saved(result.objects[0], c))

    @classmethod
    def destroy_all(cls, objects: Sequence["Object"], conn: Optional[Connection] = None) -> None:
        """Delete many objects (batched); BatchWriteError lists every failure."""
        objects = list(objects)
        new = [o for o in objects if o.is_new()]
        if new:
            raise MissingObjectId(f"destroy_all() got {len(new)} object(s) never saved: {new[0].describe()}")
        write_each(objects, [Delete(o.class_name(), o.id) for o in objects], lambda o: o.connection(conn),
                   "deletes", lambda o, result, c: None)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Object):
            return NotImplemented
        if self.id is None or other.id is None:
            return self is other
        return (self.class_name(), self.id) == (other.class_name(), other.id)

    def __hash__(self) -> int:
        return hash((self.class_name(), self.id)) if self.id else id(self)

    def __repr__(self) -> str:
        return f"<{self._class_name or 'Object'} {self.id or '(new)'} {self._attributes!r}>"


class Query(BaseQuery):
    """cql.Query: a class name gives rows of cql.Object (``Object.extend(name)``)."""

    object_class: type = Object

    def __init__(self, query_class: Any, *conditions: Any, **options: Any):
        if isinstance(query_class, str):
            query_class = self.object_class.extend(query_class)
        super().__init__(query_class, *conditions, **options)


Object.query_class = Query


class Relation:
    """``obj.relation(key)``: ``add``/``remove`` objects (saved with the
    parent), ``query`` (or ``query()``) the objects in it."""

    def __init__(self, parent: Object, key: str):
        self.parent, self.key = parent, key
        value = parent.get(key)
        self.target_class_name: Optional[str] = value.class_name if isinstance(value, RelationType) else None

    def add(self, *objects: Any) -> None:
        self._op("AddRelation", objects)

    def remove(self, *objects: Any) -> None:
        self._op("RemoveRelation", objects)

    def _op(self, op: str, objects: Sequence[Any]) -> None:
        items = list(objects[0]) if len(objects) == 1 and isinstance(objects[0], (list, tuple)) else list(objects)
        names = {o.class_name() for o in items if isinstance(o, Object)}
        if not items or len(names) != 1 or len(items) != sum(isinstance(o, Object) for o in items):
            raise ParameterError(f"relation {describe(self.key)}: {op} takes cql.Object instances of one class")
        self.target_class_name = names.pop()
        self.parent._change(self.key, op, items)

    @property
    def query(self) -> Query:
        """The objects in this relation (its target class is read from the
        database when nothing tells it yet)."""
        if self.target_class_name is None and self.parent.id:
            conn = self.parent.connection()
            find = Find(self.parent.class_name(), where={"objectId": self.parent.id}, keys=(self.key,), limit=1)
            for obj in conn.run(find).objects:
                value = obj.get(self.key)
                if isinstance(value, dict) and value.get("__type") == "Relation":
                    self.target_class_name = value.get("className")
        if self.target_class_name is None:
            raise ParameterError(f"relation {describe(self.key)} of {self.parent.describe()} is empty or unsaved: "
                                 "its target class is not known yet")
        target = type(self.parent)._root().extend(self.target_class_name)
        return target.query_class(target, conn=self.parent._conn).related_to(self.parent, self.key)


# -- local changes ------------------------------------------------------------------
def _merge(old: Optional[Tuple[str, Any]], new: Tuple[str, Any], key: str) -> Tuple[str, Any]:
    """One pending change from two (the SDK's op merging); a pending value the
    new op does not fit (Increment on a pending string) is code 111."""
    try:
        return _merged(old, new, key)
    except CQLError:
        raise
    except TypeError:
        raise TypeMismatch(f"field {describe(key)}: {new[0]} does not fit its pending value "
                           f"{describe(old[1] if old else None)}") from None
    except Exception as exc:  # noqa: BLE001 - a pending value whose own methods raise
        raise InvalidJSON(f"field {describe(key)}: reading its pending value raised {type(exc).__name__}") from None


def _merged(old: Optional[Tuple[str, Any]], new: Tuple[str, Any], key: str) -> Tuple[str, Any]:
    op, arg = new
    if old is None or op in ("Set", "Delete"):
        return new
    old_op, old_arg = old
    if old_op == "Set":
        if op == "Increment":
            return "Set", (old_arg or 0) + arg
        if op in _BIT_OPS:
            return "Set", _BIT_OPS[op](old_arg or 0, arg)
        if op in _ARRAY_OPS:
            return "Set", _array_op(op, list(old_arg or []), arg)
    if old_op == "Delete":
        if op in ("Increment", "BitOr", "BitXor"):
            return "Set", arg
        if op in ("Add", "AddUnique"):
            return "Set", _array_op(op, [], arg)
        if op in ("BitAnd", "Remove"):
            return old
    if old_op == op:
        if op == "Increment":
            return op, old_arg + arg
        if op in ("Add", "Remove", "AddRelation", "RemoveRelation"):
            return op, list(old_arg) + list(arg)
        if op == "AddUnique":
            return op, _array_op(op, list(old_arg), arg)
    raise CQLError(f"field {describe(key)} has a pending {old_op} that {op} cannot be combined with: "
                   "save() in between", 1)


def _array_op(op: str, items: List[Any], arg: List[Any]) -> List[Any]:
    if op == "Add":
        return items + list(arg)
    seen = [encode_value(i) for i in items]
    if op == "AddUnique":
        for item in arg:
            if encode_value(item) not in seen:
                items.append(item)
                seen.append(encode_value(item))
        return items
    gone = [encode_value(i) for i in arg]
    return [i for i, e in zip(items, seen) if e not in gone]


def _check_value(value: Any) -> None:
    """Refuse a value JSON cannot hold now rather than at save() (unsaved
    objects inside are fine: save() saves them first)."""
    try:
        _check_nested(value, 0)
    except CQLError:
        raise
    except RecursionError:
        raise InvalidJSON(f"this value nests too deeply (at most {MAX_DEPTH} levels)") from None
    except Exception as exc:  # noqa: BLE001 - a hostile __iter__, items(), ...
        raise InvalidJSON(f"cannot use the value {describe(value)}: reading it raised "
                          f"{type(exc).__name__}") from None


def _check_nested(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidJSON(f"this value nests arrays/objects more than {MAX_DEPTH} levels deep "
                          "(MongoDB's limit), or holds itself")
    if type(value) in (list, tuple):
        for item in value:
            _check_nested(item, depth + 1)
    elif type(value) is dict and "__type" not in value and "__op" not in value:
        for item in value.values():
            _check_nested(item, depth + 1)
    elif not isinstance(value, Object):
        encode_value(value)


def _encode_change(change: Tuple[str, Any]) -> Any:
    op, arg = change
    if op == "Set":
        return encode_value(arg)
    if op == "Delete":
        return {"__op": "Delete"}
    if op == "Increment":
        return {"__op": "Increment", "amount": encode_value(arg)}
    if op in _BIT_OPS:
        return {"__op": op, "value": encode_value(arg)}
    return {"__op": op, "objects": encode_value(list(arg))}


def _unsaved_children(obj: Object) -> List[Object]:
    """Objects inside ``obj``'s pending values that must be saved before it
    (a pointer needs an objectId)."""
    found: List[Object] = []

    def walk(value: Any) -> None:
        if isinstance(value, Object):
            if value.is_new() and value not in found:
                found.append(value)
        elif isinstance(value, list):  # the base class's iterators: what bind() checked
            for v in list.__iter__(value):
                walk(v)
        elif isinstance(value, tuple):
            for v in tuple.__iter__(value):
                walk(v)
        elif isinstance(value, dict):
            for v in dict.values(value):
                walk(v)

    for _op, arg in obj._changes.values():
        walk(arg)
    return found


def write_each(items: Sequence[Any], plans: Sequence[Any], conn_of: Callable[[Any], Connection], what: str,
               on_success: Callable[[Any, Any, Connection], None]) -> None:
    """Run one write plan per item on the item's connection (``run_each``:
    batched on REST). BatchWriteError names every item that failed, the
    others are written; a single item's failure is raised as it is."""
    groups: Dict[int, Tuple[Connection, List[Tuple[Any, Any]]]] = {}
    for item, plan in zip(items, plans):
        c = conn_of(item)
        groups.setdefault(id(c), (c, []))[1].append((item, plan))
    failures: List[Tuple[Any, CQLError]] = []
    for c, pairs in groups.values():
        for (item, _), outcome in zip(pairs, c.run_each([p for _, p in pairs])):
            if isinstance(outcome, CQLError):
                failures.append((item, outcome))
            else:
                on_success(item, outcome, c)
    if failures:
        if len(items) == 1:
            raise failures[0][1]
        raise BatchWriteError(what, failures, len(items))

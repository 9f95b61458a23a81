"""Applying a REST update body (plain values and ``__op`` operations) to an object.

Public API (stable)
-------------------
``apply_update(obj, body, now_iso=None) -> dict``
    A NEW object with ``body`` applied; ``obj`` is never modified, and on any
    error nothing is applied. ``now_iso`` (when given) becomes ``updatedAt``.
    Keys may be dotted ("meta.color") to set inside nested objects (missing
    levels are created). Plain values are copied. Operations:

    - ``Increment``/``Decrement`` ``{"amount": n}``: a missing field starts at 0.
    - ``Add`` ``{"objects": [...]}``: appends (duplicates kept); missing -> [].
    - ``AddUnique``: appends, in order, only values not already present (the
      existing array keeps its order; MongoDB ``$addToSet``, not Parse-on-
      Postgres, which reorders).
    - ``Remove``: removes every occurrence of each value; a missing field stays
      missing (MongoDB ``$pullAll``).
    - ``Delete``: drops the field.
    - ``AddRelation``/``RemoveRelation`` ``{"objects": [Pointer, ...]}``: the
      field becomes ``{"__type": "Relation", "className": C}``; membership is
      the executor's job: see ``relation_changes``. ``Batch`` ``{"ops": [...]}``
      of relation ops is accepted too.
    - ``BitAnd``/``BitOr``/``BitXor`` ``{"value": n}``: integers only; missing
      starts at 0.

    Values are compared by JSON equality (``matcher.values_equal``: 1 == 1.0,
    True != 1, pointers by className+objectId).
``relation_changes(body) -> list[RelationChange]``
    ``RelationChange(key, op, class_name, object_ids)`` with op "add"/"remove",
    in body order, for the executor to store.
``UPDATE_OPS``  the known op names.

Errors: a stored value of the wrong type, or an argument of the wrong type
-> ``TypeMismatch`` (code 111) naming the field and both types; a missing or
malformed argument or an unknown ``__op`` -> ``InvalidJSON`` (code 107);
writing objectId/createdAt/updatedAt or a "$..." key -> ``InvalidKey`` (105).
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ..errors import InvalidJSON, InvalidKey, TypeMismatch
from ..types import schema_type
from ..names import SYSTEM_FIELDS, UPDATE_OPS as CQL_UPDATE_OPS
from .matcher import MISSING, value_key

__all__ = ["apply_update", "relation_changes", "RelationChange", "UPDATE_OPS", "type_name"]

#: Every op this module applies: CQL's, and REST's Batch of relation ops.
UPDATE_OPS = (*CQL_UPDATE_OPS, "Batch")


class RelationChange(NamedTuple):
    key: str            # the relation field (may be dotted)
    op: str             # "add" | "remove"
    class_name: str     # target class
    object_ids: Tuple[str, ...]


def type_name(value: Any) -> str:
    """The Parse/LeanCloud type name of a REST JSON value, for messages."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    return schema_type(value).split("<", 1)[0]


def _copy(value: Any) -> Any:
    """Deep copy of JSON data (fast path for the common shapes)."""
    c = value.__class__
    if c is dict:
        out = dict(value)
        for k, v in out.items():
            vc = v.__class__
            if vc is dict or vc is list:
                out[k] = _copy(v)
        return out
    if c is list:
        out_list = list(value)
        for i, v in enumerate(out_list):
            vc = v.__class__
            if vc is dict or vc is list:
                out_list[i] = _copy(v)
        return out_list
    return value


def _is_number(v: Any) -> bool:
    return (v.__class__ is int or v.__class__ is float) and v.__class__ is not bool


def _mismatch(key: str, op: str, expected: str, got: Any) -> TypeMismatch:
    return TypeMismatch(f"cannot apply {op} to field {key!r}: expected {expected} but got {type_name(got)}")


def _arg(op: str, key: str, body: dict, name: str) -> Any:
    if name not in body:
        raise InvalidJSON(f"{op} on field {key!r} needs {name!r}: {{\"__op\": \"{op}\", \"{name}\": ...}}")
    return body[name]


def _objects(op: str, key: str, body: dict) -> list:
    objs = _arg(op, key, body, "objects")
    if not isinstance(objs, list):
        raise TypeMismatch(f"{op} on field {key!r} needs 'objects' to be an array, got {type_name(objs)}")
    return objs


def _relation_targets(op: str, key: str, body: dict) -> Tuple[str, Tuple[str, ...]]:
    objs = _objects(op, key, body)
    class_name: Optional[str] = None
    ids: List[str] = []
    for p in objs:
        if not (isinstance(p, dict) and p.get("__type") in ("Pointer", "Object")
                and isinstance(p.get("className"), str) and isinstance(p.get("objectId"), str)):
            raise TypeMismatch(f"{op} on field {key!r} needs Pointers, got {type_name(p)}: {p!r}")
        if class_name is None:
            class_name = p["className"]
        elif p["className"] != class_name:
            raise TypeMismatch(f"{op} on field {key!r}: all pointers must be of one class,"
                               f" got {class_name} and {p['className']}")
        ids.append(p["objectId"])
    if class_name is None:
        raise InvalidJSON(f"{op} on field {key!r} needs at least one Pointer in 'objects'")
    return class_name, tuple(ids)


def _relation_ops(key: str, value: dict) -> List[Tuple[str, str, Tuple[str, ...]]]:
    """[(add|remove, class, ids)] of a relation op or a Batch of them."""
    op = value["__op"]
    if op == "Batch":
        subs = value.get("ops")
        if not isinstance(subs, list) or not subs:
            raise InvalidJSON(f"Batch on field {key!r} needs a non-empty 'ops' array")
        out = []
        for sub in subs:
            if not (isinstance(sub, dict) and sub.get("__op") in ("AddRelation", "RemoveRelation")):
                raise InvalidJSON(f"Batch on field {key!r} may only hold AddRelation/RemoveRelation, got {sub!r}")
            out.extend(_relation_ops(key, sub))
        return out
    cls, ids = _relation_targets(op, key, value)
    return [("add" if op == "AddRelation" else "remove", cls, ids)]


def relation_changes(body: dict) -> List[RelationChange]:
    """The relation memberships ``body`` adds or removes, in body order."""
    out: List[RelationChange] = []
    if not isinstance(body, dict):
        return out
    for key, value in body.items():
        if isinstance(value, dict) and value.get("__op") in ("AddRelation", "RemoveRelation", "Batch"):
            for kind, cls, ids in _relation_ops(key, value):
                out.append(RelationChange(key, kind, cls, ids))
    return out


def _new_value(key: str, current: Any, value: Any) -> Any:
    """The field's value after ``value`` (plain or an __op); MISSING means: drop it."""
    if not (value.__class__ is dict and "__op" in value):
        return _copy(value)
    op = value["__op"]
    if op in ("Increment", "Decrement"):
        amount = _arg(op, key, value, "amount")
        if not _is_number(amount):
            raise TypeMismatch(f"{op} on field {key!r} needs a Number amount, got {type_name(amount)}")
        if current is MISSING:
            current = 0
        elif not _is_number(current):
            raise _mismatch(key, op, "Number", current)
        return current + amount if op == "Increment" else current - amount
    if op in ("Add", "AddUnique", "Remove"):
        objs = _objects(op, key, value)
        if current is MISSING:
            if op == "Remove":
                return MISSING
            current = []
        elif not isinstance(current, list):
            raise _mismatch(key, op, "Array", current)
        if op == "Add":
            return list(current) + _copy(objs)
        if op == "AddUnique":
            out = list(current)
            seen = {value_key(v) for v in out}
            for v in objs:
                k = value_key(v)
                if k not in seen:
                    seen.add(k)
                    out.append(_copy(v))
            return out
        gone = {value_key(v) for v in objs}
        return [v for v in current if value_key(v) not in gone]
    if op == "Delete":
        return MISSING
    if op in ("AddRelation", "RemoveRelation", "Batch"):
        changes = _relation_ops(key, value)
        cls = changes[0][1]
        for _, other, _ in changes:
            if other != cls:
                raise TypeMismatch(f"relation field {key!r}: all pointers must be of one class,"
                                   f" got {cls} and {other}")
        if current is not MISSING:
            if not (isinstance(current, dict) and current.get("__type") == "Relation"):
                raise _mismatch(key, op, f"Relation<{cls}>", current)
            if current.get("className") != cls:
                raise TypeMismatch(f"cannot apply {op} to field {key!r}: expected Relation<{current.get('className')}>"
                                   f" but got pointers to {cls}")
        return {"__type": "Relation", "className": cls}
    if op in ("BitAnd", "BitOr", "BitXor"):
        arg = _arg(op, key, value, "value")
        if arg.__class__ is not int:
            raise TypeMismatch(f"{op} on field {key!r} needs an integer value, got {type_name(arg)} {arg!r}")
        if current is MISSING:
            current = 0
        elif current.__class__ is not int:
            raise _mismatch(key, op, "an integer Number", current)
        if op == "BitAnd":
            return current & arg
        if op == "BitOr":
            return current | arg
        return current ^ arg
    raise InvalidJSON(f"unknown update operation {op!r} on field {key!r} (known: {', '.join(UPDATE_OPS)})")


def _check_key(key: Any) -> List[str]:
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"invalid field name {key!r}")
    parts = key.split(".")
    for p in parts:
        if not p or p.startswith("$"):
            raise InvalidKey(f"invalid field name {key!r}")
    if parts[0] in SYSTEM_FIELDS:
        raise InvalidKey(f"{parts[0]} is set by the server and cannot be written")
    return parts


def apply_update(obj: dict, body: dict, now_iso: Optional[str] = None) -> dict:
    """A new object: ``obj`` with ``body`` applied (see module doc). ``obj`` is untouched."""
    if not isinstance(body, dict):
        raise InvalidJSON(f"an update body must be a JSON object, got {type_name(body)}")
    out: Dict[str, Any] = dict(obj)
    copied: set = set()  # id()s of nested dicts of ``out`` that are already private copies
    for key, value in body.items():
        if key.__class__ is str and key and "." not in key and key[0] != "$" \
                and key not in SYSTEM_FIELDS:
            # the common case: a top-level field
            c = value.__class__
            if c is dict:
                if "__op" in value:
                    new = _new_value(key, out.get(key, MISSING), value)
                    if new is MISSING:
                        out.pop(key, None)
                    else:
                        out[key] = new
                else:
                    out[key] = _copy(value)
            elif c is list:
                out[key] = _copy(value)
            else:
                out[key] = value
            continue
        parts = _check_key(key)
        # Walk to the parent, copying each level so ``obj`` is never touched.
        parent = out
        for i, p in enumerate(parts[:-1]):
            child = parent.get(p, MISSING)
            if child is MISSING or child is None:
                if value.__class__ is dict and value.get("__op") in ("Delete", "Remove"):
                    parent = None
                    break
                child = {}
            elif not isinstance(child, dict) or child.get("__type") is not None:
                raise TypeMismatch(f"cannot set {key!r}: {'.'.join(parts[:i + 1])!r} is"
                                   f" {type_name(child)}, not an Object")
            elif id(child) not in copied:
                child = dict(child)
            copied.add(id(child))
            parent[p] = child
            parent = child
        if parent is None:
            continue  # deleting/removing inside a missing object: nothing to do
        leaf = parts[-1]
        new = _new_value(key, parent.get(leaf, MISSING), value)
        if new is MISSING:
            parent.pop(leaf, None)
        else:
            parent[leaf] = new
    if now_iso is not None:
        out["updatedAt"] = now_iso
    return out

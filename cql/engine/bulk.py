"""Whole objects in and out of the embedded store, keyed by objectId, for
``cql copy`` / ``cql verify`` (cql.transfer). EngineBackend's write_objects,
scan_objects, relation_rows and write_relation_rows hold the lock and
delegate here.

Objects are REST JSON as a LeanCloud export or a server gives them: objectId,
createdAt/updatedAt (ISO strings; a Date dict is accepted) and ACL are kept
as given, not assigned as an INSERT would.
"""
from __future__ import annotations

import bisect
import json
import marshal
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .. import errors
from ..names import DATE_FIELDS, SYSTEM_FIELDS
from ..types import check_value, format_date, parse_date
from .store import Batch, Store

RelationRow = Tuple[str, str, str, str]   # (owner id, key, target class, target id)


def write_objects(store: Store, type_check: Callable[[Batch], Callable[[dict], None]], class_name: str,
                  objects: List[dict], now: str) -> Tuple[int, int, int]:
    """Upsert ``objects`` in one transaction; (inserted, replaced, unchanged).
    ``type_check(batch)`` checks an object's field types as an insert does."""
    inserted = replaced = unchanged = 0
    with store.write() as batch:
        bucket = store.classes.get(class_name) or {}
        check = type_check(batch)
        written: Dict[str, dict] = {}
        for obj in _copies(list(objects)):  # the store keeps values of its own
            oid = obj.get("objectId") if isinstance(obj, dict) else None
            old = written.get(oid) or bucket.get(oid)
            _prepare(obj, class_name, now, old)
            if old is not None and _same(old, obj):
                unchanged += 1
                continue
            check(obj)
            if oid in written or oid in bucket:
                replaced += 1
            else:
                inserted += 1
            written[oid] = obj
        new = [oid for oid in written if oid not in bucket]
        batch.insert_many(class_name, new, [written[oid] for oid in new])
        for oid, obj in written.items():
            if oid in bucket:
                batch.update(class_name, oid, obj)
    return inserted, replaced, unchanged


def _prepare(obj: Any, class_name: str, now: str, old: Optional[dict]) -> None:
    """Check an object about to be stored: its objectId; createdAt/updatedAt
    made canonical ISO strings (when missing: the stored object's, else now);
    its typed values."""
    if not isinstance(obj, dict):
        raise errors.InvalidJSON(f"{class_name}: an object must be a JSON object, got {type(obj).__name__}")
    oid = obj.get("objectId")
    if not isinstance(oid, str) or not oid or "/" in oid:
        raise errors.MissingObjectId(f"{class_name}: every object copied needs an objectId string, got {oid!r}")
    for key in sorted(DATE_FIELDS):
        value = obj.get(key)
        if isinstance(value, dict) and value.get("__type") == "Date":
            value = value.get("iso")
        if value is None:
            obj[key] = old[key] if old is not None and key in old else now
            continue
        if not isinstance(value, str):
            raise errors.InvalidJSON(f"{class_name} {oid}: {key} must be an ISO date string, got {value!r}")
        when = parse_date(value)  # (checks it)
        if not (len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z"):
            value = format_date(when)
        obj[key] = value
    for key, value in obj.items():
        if (value.__class__ is dict or value.__class__ is list) and key not in SYSTEM_FIELDS:
            check_value(value, f"{class_name}.{key}")


def _copies(objects: List[Any]) -> List[Any]:
    """A private deep copy of JSON-shaped data (marshal copies it in C)."""
    try:
        return marshal.loads(marshal.dumps(objects))
    except ValueError:  # something marshal does not know: JSON has the final word
        return json.loads(json.dumps(objects))


def _same(a: dict, b: dict) -> bool:
    """Equal as JSON (True is not 1; key order does not matter)."""
    return a == b and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class SortedIds:
    """The objectIds of each class in order, kept until the class changes
    (scan_objects pages through them with a bisect, never a sort per page)."""

    def __init__(self, store: Store):
        self.store = store
        self.ids: Dict[str, List[str]] = {}
        store.listeners.append(self.forget)
        store.reset_listeners.append(self.ids.clear)

    def forget(self, changes: List[Tuple[str, str, Optional[dict], Optional[dict]]]) -> None:
        for cls in {c[0] for c in changes}:
            self.ids.pop(cls, None)

    def scan(self, class_name: str, after: Optional[str], limit: int) -> List[dict]:
        bucket = self.store.classes.get(class_name) or {}
        ids = self.ids.get(class_name)
        if ids is None:
            ids = self.ids[class_name] = sorted(bucket)
        start = 0 if after is None else bisect.bisect_right(ids, after)
        return _copies([bucket[oid] for oid in ids[start:start + limit]])


def relation_rows(store: Store, class_name: str) -> List[RelationRow]:
    return sorted((oid, key, tc, ti) for (cls, oid), keys in store.relations.items() if cls == class_name
                  for key, targets in keys.items() for tc, ti in targets)


def write_relation_rows(store: Store, class_name: str, rows: Iterable[RelationRow], strict: bool) -> int:
    """Add the rows not there yet, in one transaction; the number added. A
    field gets the type Relation<target class> when the class has none yet."""
    with store.write() as batch:
        known = dict(store.schema.get(class_name, {}))
        added = 0
        for oid, key, tc, ti in dict.fromkeys(rows):
            if (tc, ti) in store.related(class_name, oid, key):
                continue
            kind = f"Relation<{tc}>"
            if known.get(key) is None:
                known[key] = kind
                batch.schema.append((class_name, key, kind))
            elif known[key] != kind and strict:
                raise errors.TypeMismatch(f"schema mismatch for {class_name}.{key}; expected {known[key]} "
                                          f"but got {kind}")
            batch.relations.append((class_name, oid, key, tc, ti, True))
            added += 1
    return added

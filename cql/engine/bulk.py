"""Whole objects in and out of the embedded store, keyed by objectId, for
``cql copy`` / ``cql verify`` (cql.transfer). EngineBackend's write_objects,
scan_objects, relation_rows and write_relation_rows hold the lock and
delegate here.

Objects are REST JSON as a LeanCloud export or a server gives them: objectId,
createdAt/updatedAt (ISO strings; a Date dict is accepted) and ACL are kept
as given, not assigned as an INSERT would. A chunk is one transaction, its
index entries written in bulk (store.py); reads are SQL on the file
(objectId order is the objects table's own order), never a whole class in
memory.
"""
from __future__ import annotations

import json
import marshal
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from .. import errors
from ..names import DATE_FIELDS, SYSTEM_FIELDS
from ..types import check_value, format_date, parse_date
from .store import Batch, Store

RelationRow = Tuple[str, str, str, str]   # (owner id, key, target class, target id)
_PAGE = 1000


def write_objects(store: Store, type_check: Callable[[Batch], Callable[[dict], None]], class_name: str,
                  objects: List[dict], now: str) -> Tuple[int, int, int]:
    """Upsert ``objects`` in one transaction; (inserted, replaced, unchanged).
    ``type_check(batch)`` checks an object's field types as an insert does."""
    inserted = replaced = unchanged = 0
    with store.write() as batch:
        check = type_check(batch)
        copies = _copies(list(objects))  # the store keeps values of its own
        ids = [obj.get("objectId") for obj in copies if isinstance(obj, dict)]
        stored = store.get_many(class_name, [i for i in ids if isinstance(i, str)])
        written: Dict[str, dict] = {}
        for obj in copies:
            oid = obj.get("objectId") if isinstance(obj, dict) else None
            old = written.get(oid) or stored.get(oid)  # type: ignore[arg-type]
            _prepare(obj, class_name, now, old)
            if old is not None and _same(old, obj):
                unchanged += 1
                continue
            check(obj)
            if oid in written or oid in stored:
                replaced += 1
            else:
                inserted += 1
            written[oid] = obj  # type: ignore[index]
        for oid, obj in written.items():
            if oid in stored:
                batch.update(class_name, oid, stored[oid], obj)
            else:
                batch.insert(class_name, oid, obj)
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


def scan_objects(store: Store, class_name: str, after: Optional[str], limit: int) -> List[dict]:
    """Up to ``limit`` objects with objectId > ``after``, in objectId order (copies)."""
    with store.reading():
        rows = store.db.execute("SELECT id, json FROM objects WHERE class = ? AND id > ? ORDER BY id LIMIT ?",
                                (class_name, after or "", int(limit))).fetchall()
        return [store.decode(class_name, oid, text, keep=False) for oid, text in rows]


def relation_rows(store: Store, class_name: str) -> Iterator[RelationRow]:
    """Every relation row of the class's objects, sorted, read a page at a time."""
    last: Tuple[str, ...] = ("", "", "", "")
    while True:
        with store.reading():
            page = store.db.execute(
                "SELECT id, key, target_class, target_id FROM relations WHERE class = ? AND "
                "(id, key, target_class, target_id) > (?, ?, ?, ?) "
                f"ORDER BY id, key, target_class, target_id LIMIT {_PAGE}", (class_name, *last)).fetchall()
        yield from page
        if len(page) < _PAGE:
            return
        last = page[-1]


def write_relation_rows(store: Store, class_name: str, rows: Iterable[RelationRow], strict: bool) -> int:
    """Add the rows not there yet, in one transaction; the number added. A
    field gets the type Relation<target class> when the class has none yet."""
    wanted = list(dict.fromkeys(tuple(map(str, r)) for r in rows))
    with store.write() as batch:
        known = dict(store.schema.get(class_name, {}))
        there = _stored_relations(store, class_name, {r[0] for r in wanted})
        added = 0
        for oid, key, tc, ti in wanted:
            if (oid, key, tc, ti) in there:
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


def _stored_relations(store: Store, class_name: str, owners: Iterable[str]) -> set:
    """The relation rows stored for some owner ids."""
    owners = list(owners)
    found: set = set()
    for i in range(0, len(owners), 500):
        part = owners[i:i + 500]
        found.update(store.db.execute(
            f"SELECT id, key, target_class, target_id FROM relations WHERE class = ? AND id IN "
            f"({','.join('?' * len(part))})", (class_name, *part)))
    return found

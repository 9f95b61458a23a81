"""EngineBackend: runs Plans on the embedded database.

Reads go to the in-memory objects (through ``query.Finder``); every write
statement is one ``Store.write()`` transaction: all its changes are computed
first (ops applied, field types checked) and then committed together, so an
error in the 5th object of an update leaves all of them unchanged.

Decided here (LeanCloud behaviour where it has one):
- objectIds are MongoDB ObjectId-style, 24 lowercase hex digits (seconds,
  per-process random, counter); createdAt/updatedAt are UTC ISO with ms.
- An insert or update may not set objectId, createdAt or updatedAt (code 105).
- Field types are fixed by the first non-null value written (as LeanCloud's
  schema does): writing another type later is code 111. ``strict_types=False``
  turns the check off.
- A subquery applies no default limit (only the limit it writes).
"""
from __future__ import annotations

import gc
import marshal
import os
import random
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from math import isfinite
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from .. import errors
from ..backend import Backend, option, refuse_unknown_options
from ..names import SYSTEM_FIELDS
from ..types import MAX_NUMBER, schema_type as type_name
from ..plan import Create, Delete, Find, Plan, Update, requests_of
from ..result import Result
from . import bulk, matcher, ops
from .indexes import ClassIndexes
from .query import Finder, Selection, parse_order
from .regex import statement_budget
from .store import Batch, Store
from .values import plain_value_key

_SYSTEM_SET = frozenset(SYSTEM_FIELDS)
_COMPILED_MAX = 256  # compiled wheres kept for reuse


# -- ids and times --------------------------------------------------------------
class _Ids:
    """MongoDB ObjectId-style ids: 4 bytes of seconds, 5 random per process, a counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._rand = os.urandom(5).hex()
        self._counter = random.SystemRandom().randrange(1 << 24)
        self._last = ""

    def next(self) -> str:
        """A new id, greater than every id this process made before."""
        with self._lock:
            if os.getpid() != self._pid:
                self._reset()
            self._counter = (self._counter + 1) & 0xFFFFFF
            oid = f"{int(time.time()) & 0xFFFFFFFF:08x}{self._rand}{self._counter:06x}"
            if oid <= self._last:  # the counter wrapped within a second
                oid = f"{int(self._last, 16) + 1:024x}"
            self._last = oid
            return oid

    def many(self, n: int) -> List[str]:
        """``n`` new ids at once (one lock, one clock read): the ids ``n`` calls
        of ``next`` would give within one second."""
        if n <= 0:
            return []
        with self._lock:
            if os.getpid() != self._pid:
                self._reset()
            c = self._counter
            if c + n <= 0xFFFFFF:  # no wrap: one run of counters
                head = f"{int(time.time()) & 0xFFFFFFFF:08x}{self._rand}"
                if f"{head}{c + 1:06x}" > self._last:
                    ids = [f"{head}{i:06x}" for i in range(c + 1, c + n + 1)]
                    self._counter = c + n
                    self._last = ids[-1]
                    return ids
        return [self.next() for _ in range(n)]


_ids = _Ids()
new_id = _ids.next
new_ids = _ids.many


_second: Tuple[int, str] = (-1, "")  # (epoch second, its ISO text up to the '.')


def now_iso() -> str:
    """The current UTC time, ISO with milliseconds. The text of the second is
    formatted once per second (every write statement asks for the time)."""
    global _second
    sec, ms = divmod(time.time_ns() // 1_000_000, 1000)
    cached, head = _second
    if sec != cached:
        now = datetime.fromtimestamp(sec, timezone.utc)
        head = now.strftime("%Y-%m-%dT%H:%M:%S.")
        _second = (sec, head)
    return f"{head}{ms:03d}Z"


# -- the lookup the matcher uses for subqueries -----------------------------------
class _Lookup(matcher.Lookup):
    """Subqueries and relations of one statement (the matcher calls it while
    compiling, so each subquery runs once per statement)."""

    def __init__(self, engine: "EngineBackend"):
        self.engine = engine
        self.used = False  # a predicate that read the database is not reusable

    def find(self, class_name: str, query: dict) -> List[dict]:
        self.used = True
        where = query.get("where") or {}
        limit = query.get("limit")
        sel = self.engine._select(class_name, where, parse_order(query.get("order")),
                                  int(query.get("skip") or 0),
                                  None if limit is None else int(limit), False)
        return sel.objects

    def related_ids(self, class_name: str, object_id: str, key: str) -> Set[str]:
        self.used = True
        return {tid for _tc, tid in self.engine.store.related(class_name, object_id, key)}


# -- copying rows out -------------------------------------------------------------
def _clone(value: Any) -> Any:
    c = value.__class__
    if c is dict:
        return {k: (v if v.__class__ not in _CONTAINERS else _clone(v)) for k, v in value.items()}
    if c is list:
        return [v if v.__class__ not in _CONTAINERS else _clone(v) for v in value]
    return value


_CONTAINERS = (dict, list)


@contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Pause the cyclic GC during a big insert: the many new dicts would start
    full collections over the whole store, and JSON data has no cycles."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _deep_copy(rows: List[dict]) -> List[dict]:
    """A private deep copy of a page of rows, so callers cannot change the store
    through a result. marshal copies JSON-shaped data in C, several times faster
    than a Python walk (it also shares repeated key strings)."""
    if not rows:
        return rows
    try:
        return marshal.loads(marshal.dumps(rows))
    except ValueError:  # something marshal does not know: copy in Python
        return [_clone(r) for r in rows]


def _project_included(row: dict, keys: Tuple[str, ...]) -> None:
    """``keys=player.name`` with ``include=player``: the included player keeps
    only name (and its system fields), as Parse does."""
    subkeys: Dict[str, set] = {}
    for k in keys:
        head, dot, rest = k.partition(".")
        if dot:
            subkeys.setdefault(head, set()).add(rest.split(".", 1)[0])
    for head, wanted in subkeys.items():
        value = row.get(head)
        items = value if value.__class__ is list else [value]
        out = []
        for v in items:
            if v.__class__ is dict and v.get("__type") == "Object":
                v = {k: x for k, x in v.items()
                     if k in wanted or k in SYSTEM_FIELDS or k in ("__type", "className")}
            out.append(v)
        if head in row:
            row[head] = out if value.__class__ is list else out[0]


def _plain(row: dict) -> bool:
    """A row of plain values under plain keys (no ops, no dotted or $ keys)."""
    for k, v in row.items():
        if not k or "." in k or k[0] == "$" or (v.__class__ is dict and "__op" in v):
            return False
    return True


# Exact classes of plain JSON values -> schema type (anything else: schema_type).
_SCALAR_TYPES = {str: "String", int: "Number", float: "Number", bool: "Boolean", list: "Array"}


class _SchemaCheck:
    """Field types of one write statement against the class schema: a field's
    type is fixed by the first non-null value written (code 111 after that)."""

    __slots__ = ("cls", "known", "added", "batch", "strict")

    def __init__(self, cls: str, known: Dict[str, str], batch: Batch, strict: bool):
        self.cls = cls
        self.known = known  # the class schema (not changed here)
        self.added: Dict[str, str] = {}  # fields this statement adds to it
        self.batch = batch
        self.strict = strict

    def check(self, obj: dict, fields: Optional[Set[str]] = None) -> None:
        """Check ``obj``'s fields (only ``fields`` when given: an update checks
        what its body wrote); system fields are skipped."""
        known = self.known
        added = self.added
        items: Any
        if fields is None:
            items = obj.items()
        elif len(fields) == 1:  # e.g. set score = ?
            key = next(iter(fields))
            items = ((key, obj[key]),) if key in obj else ()
        else:
            items = [(k, v) for k, v in obj.items() if k in fields]
        for key, value in items:
            t = _SCALAR_TYPES.get(value.__class__)
            if t is None:
                if value is None:
                    continue
                t = type_name(value)
            elif value.__class__ is float and not isfinite(value):
                if key in SYSTEM_FIELDS:
                    continue
                raise errors.InvalidJSON(f"{self.cls}.{key}: {value} is not a number JSON can hold")
            elif value.__class__ is int and not -MAX_NUMBER <= value <= MAX_NUMBER:  # an Increment's sum
                raise errors.InvalidJSON(f"{self.cls}.{key}: the number grows beyond what JSON can hold "
                                         "(about 1.8e308)")
            if key in SYSTEM_FIELDS:
                continue
            e = known.get(key)
            if e is None:
                e = added.get(key)
            if e is None:
                added[key] = t
                self.batch.schema.append((self.cls, key, t))
            elif e != t and self.strict:
                raise errors.TypeMismatch(
                    f"schema mismatch for {self.cls}.{key}; expected {e} but got {t}")


class EngineBackend(Backend):
    """The embedded engine on a transient (path None) or file database."""

    #: the keyword options this backend takes (cql.connect(path, **options))
    OPTIONS = ("synchronous", "busy_timeout", "strict_types", "regex_timeout")

    def __init__(self, path: Optional[str] = None, *, synchronous: str = "NORMAL",
                 busy_timeout: float = 30.0, strict_types: bool = True,
                 regex_timeout: Optional[float] = None, **unknown: Any):
        refuse_unknown_options(unknown, self.OPTIONS, "an embedded database")
        # None: the default (the store checks synchronous's value: StorageError)
        synchronous = option("synchronous", synchronous, "text") or "NORMAL"
        busy_timeout = option("busy_timeout", busy_timeout, "number")
        busy_timeout = 30.0 if busy_timeout is None else busy_timeout
        strict_types = option("strict_types", strict_types, "bool") is not False
        self.regex_timeout = option("regex_timeout", regex_timeout, "positive")
        self._lock = threading.RLock()
        self.path = None if path is None else os.fspath(path)
        self.strict_types = strict_types
        self._indexes: Dict[str, ClassIndexes] = {}
        self._compiled: Dict[bytes, matcher.Predicate] = {}  # see _predicate
        self.store = Store(self.path, synchronous=synchronous, busy_timeout=busy_timeout)
        self.store.listeners.append(self._on_change)
        self.store.reset_listeners.append(self._indexes.clear)
        self.finder = Finder(self.store.classes, self._class_indexes)
        self.store.reset_listeners.append(self._rebind)
        self._sorted_ids = bulk.SortedIds(self.store)  # see scan_objects
        self.closed = False
        if self.path is None:
            self.description = "transient in-memory database; use .open FILE to persist"
        else:
            self.description = f"embedded database {self.path}"

    # -- plumbing -----------------------------------------------------------------
    def _rebind(self) -> None:
        self.finder.classes = self.store.classes

    def _class_indexes(self, class_name: str) -> ClassIndexes:
        idx = self._indexes.get(class_name)
        if idx is None:
            idx = self._indexes[class_name] = ClassIndexes(plain_value_key)  # dates: see indexes
        return idx

    def _on_change(self, changes: List[Tuple[str, str, Optional[dict], Optional[dict]]]) -> None:
        """Keep the indexes of the changed classes current."""
        if len(changes) == 1:  # e.g. an update by objectId
            cls, oid, old, new = changes[0]
            idx = self._indexes.get(cls)
            if idx is not None:
                idx.change(oid, old, new)
            return
        if not self._indexes:
            return
        classes = {c[0] for c in changes}
        if len(classes) == 1:  # a statement's changes: one class
            idx = self._indexes.get(classes.pop())
            if idx is not None:
                idx.change_many([(oid, old, new) for _cls, oid, old, new in changes])
            return
        by_class: Dict[str, list] = {}
        for cls, oid, old, new in changes:
            if cls in self._indexes:
                by_class.setdefault(cls, []).append((oid, old, new))
        for cls, items in by_class.items():
            self._indexes[cls].change_many(items)

    def _check_open(self) -> None:
        if self.closed:
            raise errors.InterfaceError("the database is closed")

    def check(self) -> List[str]:
        """The problems SQLite's integrity check finds in the file ([]: sound;
        a transient database has none)."""
        with self._lock:
            self._check_open()
            return self.store.check()

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self.store.close()

    # -- Backend ------------------------------------------------------------------
    def run(self, plan: Plan) -> Result:
        with self._lock, statement_budget(self.regex_timeout):
            self._check_open()
            c = plan.__class__  # exact classes first: a run per statement
            if c is Update:
                return self._update(plan)  # type: ignore[arg-type]
            if c is Find or isinstance(plan, Find):
                self.store.sync()
                return self.find(plan)  # type: ignore[arg-type]
            return super().run(plan)

    def explain(self, plan: Plan) -> List[dict]:
        """The reference requests, each find annotated with the index it uses."""
        requests = requests_of(plan)
        with self._lock, statement_budget(self.regex_timeout):
            self._check_open()
            self.store.sync()
            note = self._access_note(plan)
        if note is not None:
            for req in requests:
                if isinstance(req, dict) and str(req.get("method", "GET")).upper() in ("GET", "PUT", "DELETE"):
                    req["index"] = note
        return requests

    def _access_note(self, plan: Plan) -> Optional[str]:
        """The access path a plan's read takes (found by running the read)."""
        if isinstance(plan, Create):
            return None
        if isinstance(plan, (Update, Delete)) and plan.object_id is not None:
            return "objectId (hash)"
        if isinstance(plan, Find):
            return self._select(plan.class_name, plan.where, parse_order(plan.order),
                                plan.skip or 0, plan.effective_limit, plan.count).index
        return self._select(plan.class_name, plan.where, (), 0, None, False).index

    def schema(self) -> Dict[str, Dict[str, str]]:
        with self._lock:
            self._check_open()
            self.store.sync()
            out: Dict[str, Dict[str, str]] = {}
            names = list(self.store.schema) + [c for c in self.store.classes if c not in self.store.schema]
            for cls in names:
                fields = {"objectId": "String"}
                fields.update(self.store.schema.get(cls, {}))
                fields["createdAt"] = "Date"
                fields["updatedAt"] = "Date"
                out[cls] = fields
            return out

    # -- reads --------------------------------------------------------------------
    def _predicate(self, where: Optional[dict]) -> matcher.Predicate:
        """The compiled where, reused across statements with the same where JSON
        (marshal tells 1, 1.0 and True apart) unless it ran a subquery."""
        try:
            key = marshal.dumps(where)
        except ValueError:
            key = None
        predicate = self._compiled.get(key) if key is not None else None
        if predicate is None:
            lookup = _Lookup(self)
            # compiled from a private copy: a caller changing its where later
            # cannot change a kept predicate
            predicate = matcher.compile_where(where if key is None else marshal.loads(key), lookup)
            if key is not None and not lookup.used:
                if len(self._compiled) >= _COMPILED_MAX:
                    del self._compiled[next(iter(self._compiled))]  # the oldest
                self._compiled[key] = predicate
        return predicate

    def _select(self, class_name: str, where: dict, order: Tuple[Tuple[str, bool], ...],
                skip: int, limit: Optional[int], count: bool) -> Selection:
        predicate = self._predicate(where or None)
        return self.finder.find(class_name, where or {}, predicate, order=order, skip=skip,
                                limit=limit, count=count)

    def find(self, plan: Find) -> Result:
        limit = plan.effective_limit
        if limit < 0:
            raise errors.CQLError(f"limit must not be negative, got {limit}", 102)
        if plan.skip is not None and plan.skip < 0:
            raise errors.CQLError(f"skip must not be negative, got {plan.skip}", 102)
        sel = self._select(plan.class_name, plan.where, parse_order(plan.order),
                           plan.skip or 0, limit, plan.count)
        rows = _deep_copy([self._row(o, plan.keys, plan.include) for o in sel.objects])
        return Result("select", plan.class_name, rows, count=sel.count,
                      selected=plan.columns, truncated=plan.limit is None and sel.more,
                      count_only=plan.count_only, info={"index": sel.index})

    def _row(self, obj: dict, keys: Optional[Tuple[str, ...]], include: Tuple[str, ...]) -> dict:
        """A shallow row (nested values still shared with the store; the caller
        deep-copies the whole page once)."""
        if keys is None:
            row = dict(obj)
        else:
            wanted = {k.split(".", 1)[0] for k in keys}
            row = {k: v for k, v in obj.items() if k in wanted or k in SYSTEM_FIELDS}
        if include:
            tree: Dict[str, Any] = {}
            for path in include:
                node = tree
                for part in path.split("."):
                    node = node.setdefault(part, {})
            self._include(row, tree)
            if keys is not None:
                _project_included(row, keys)
        return row

    def _include(self, obj: dict, tree: Dict[str, Any]) -> None:
        """Replace pointers in ``obj`` (a fresh dict) by their objects."""
        for key, sub in tree.items():
            if key in obj:
                obj[key] = self._resolve(obj[key], sub)

    def _resolve(self, value: Any, sub: Dict[str, Any]) -> Any:
        if value.__class__ is list:
            return [self._resolve(v, sub) for v in value]
        if value.__class__ is dict and value.get("__type") == "Pointer":
            cls, oid = value.get("className"), value.get("objectId")
            target = (self.store.classes.get(cls) or {}).get(oid)
            if target is None:
                return value  # a dangling pointer stays a pointer
            out = {"__type": "Object", "className": cls}
            out.update(target)
            if sub:
                self._include(out, sub)
            return out
        return value

    # -- writes -------------------------------------------------------------------
    def _check_body(self, body: dict, what: str) -> None:
        for key in body:
            if key in SYSTEM_FIELDS:
                raise errors.InvalidKey(f"{key} is set by the database and cannot be written in an {what}")

    def _schema_check(self, cls: str, batch: Batch) -> "_SchemaCheck":
        return _SchemaCheck(cls, self.store.schema.get(cls, {}), batch, self.strict_types)

    def _relations(self, cls: str, oid: str, body: dict, batch: Batch) -> None:
        for change in ops.relation_changes(body):
            for target_id in change.object_ids:
                batch.relations.append((cls, oid, change.key, change.class_name, target_id,
                                        change.op == "add"))

    def insert(self, plan: Create) -> Result:
        rows = plan.rows
        cls = plan.class_name
        with self._lock, _gc_paused(len(rows) >= 1000):
            self._check_open()
            out: List[dict] = []
            with self.store.write() as batch:
                bucket = self.store.classes.get(cls) or {}
                now = now_iso()  # one time for the whole statement
                copies = _deep_copy(list(rows))  # the store keeps its own values
                types = self._schema_check(cls, batch)
                check = types.check
                oids: List[str] = []
                objs: List[dict] = []
                for row, copy, oid in zip(rows, copies, new_ids(len(rows))):
                    if "objectId" in row or "createdAt" in row or "updatedAt" in row:
                        self._check_body(row, "insert")
                    while oid in bucket:
                        oid = new_id()
                    if _plain(row):  # the common case: plain values
                        obj = {"objectId": oid, **copy, "createdAt": now, "updatedAt": now}
                        check(copy)
                    else:
                        obj = {"objectId": oid, **ops.apply_update({}, row)}
                        self._relations(cls, oid, row, batch)
                        obj["createdAt"] = now
                        obj["updatedAt"] = now
                        check(obj)
                    oids.append(oid)
                    objs.append(obj)
                    out.append({"objectId": oid, "createdAt": now})
                batch.insert_many(cls, oids, objs)
            return Result("insert", plan.class_name, out)

    def _targets(self, plan: Any) -> List[dict]:
        """The objects a write touches (under the write lock, memory current)."""
        bucket = self.store.classes.get(plan.class_name) or {}
        if plan.object_id is not None:
            obj = bucket.get(plan.object_id)
            if obj is None:
                raise errors.ObjectNotFound(
                    f"object {plan.class_name}/{plan.object_id} not found")
            if plan.where:
                predicate = matcher.compile_where(plan.where, _Lookup(self))
                if not predicate(obj):
                    raise errors.ConditionNotMet(
                        f"the condition of this write is not met by {plan.class_name}/{plan.object_id};"
                        " nothing was changed")
            return [obj]
        return self._select(plan.class_name, plan.where, (), 0, None, False).objects

    def update(self, plan: Update) -> Result:
        with self._lock:
            self._check_open()
            return self._update(plan)

    def _update(self, plan: Update) -> Result:
        """``update`` under the lock, the database open."""
        body = plan.body
        if not isinstance(body, dict) or not _SYSTEM_SET.isdisjoint(body):
            self._check_body(body, "update")
        out: List[dict] = []
        cls = plan.class_name
        with self.store.write() as batch:
            targets = self._targets(plan)
            check = self._schema_check(cls, batch).check
            now = now_iso()
            written = {k.split(".", 1)[0] for k in body}
            # relation ops are dict values: without any, _relations has nothing to do
            relations = False
            for v in body.values() if isinstance(body, dict) else ():
                if isinstance(v, dict):
                    relations = True
                    break
            for obj in targets:
                new = ops.apply_update(obj, body, now)
                new["updatedAt"] = now
                check(new, written)
                oid = obj["objectId"]
                if relations:
                    self._relations(cls, oid, body, batch)
                batch.update(cls, oid, new)
                out.append({"objectId": oid, "updatedAt": now})
        return Result("update", plan.class_name, out)

    def delete(self, plan: Delete) -> Result:
        with self._lock:
            self._check_open()
            with self.store.write() as batch:
                targets = self._targets(plan)
                for obj in targets:
                    batch.delete(plan.class_name, obj["objectId"])
            return Result("delete", plan.class_name, (), rowcount=len(targets))

    # -- bulk copy: cql copy / cql verify (cql.transfer); the bodies are in bulk.py ---
    def write_objects(self, class_name: str, objects: List[dict]) -> Tuple[int, int, int]:
        """Upsert whole REST JSON objects by objectId (objectId, createdAt/updatedAt,
        ACL kept) in one transaction; (inserted, replaced, unchanged)."""
        with self._lock:
            self._check_open()
            return bulk.write_objects(self.store, lambda batch: self._schema_check(class_name, batch).check,
                                      class_name, objects, now_iso())

    def scan_objects(self, class_name: str, after: Optional[str] = None, limit: int = 1000) -> List[dict]:
        """Up to ``limit`` objects with objectId > ``after``, in objectId order (copies)."""
        with self._lock:
            self._check_open()
            self.store.sync()
            return self._sorted_ids.scan(class_name, after, limit)

    def relation_rows(self, class_name: str) -> Iterator[Tuple[str, str, str, str]]:
        """(owner id, key, target class, target id) of every relation of the class, sorted."""
        with self._lock:
            self._check_open()
            self.store.sync()
            return iter(bulk.relation_rows(self.store, class_name))

    def write_relation_rows(self, class_name: str, rows: Iterable[Tuple[str, str, str, str]]) -> int:
        """Add the relation rows not there yet, in one transaction; the number added."""
        with self._lock:
            self._check_open()
            return bulk.write_relation_rows(self.store, class_name, rows, self.strict_types)

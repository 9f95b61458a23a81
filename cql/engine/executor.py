"""EngineBackend: runs Plans on the embedded database.

Reads run in one read transaction of the store (``query.Finder`` picks the
access path); every write statement is one ``Store.write()`` transaction: all
its changes are computed first (ops applied, field types checked) and then
written together with their index entries, so an error in the 5th object of an
update leaves all of them unchanged. ``transaction()`` groups statements into
one transaction (DB-API ``executemany``).

Indexes are built on a field's first indexed query (``auto_index``, the
default) in a write transaction of their own before the read, or ahead of time
with ``create_index``; both are persistent (indexes.py).

Decided here (LeanCloud behaviour where it has one):
- objectIds are MongoDB ObjectId-style, 24 lowercase hex digits (seconds,
  per-process random, counter); createdAt/updatedAt are UTC ISO with ms.
- An insert or update may not set objectId, createdAt or updatedAt (code 105);
  ``write_objects`` (copying data in) keeps them as given.
- Field types are fixed by the first non-null value written (as LeanCloud's
  schema does): writing another type later is code 111. ``strict_types=False``
  turns the check off.
- A subquery applies no default limit (only the limit it writes).
"""
from __future__ import annotations

import marshal
import os
import random
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import islice
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from .. import errors
from ..backend import Backend, option, refuse_unknown_options
from ..names import SYSTEM_FIELDS, is_class_name
from ..plan import Create, Delete, Find, Plan, Update, requests_of
from ..result import Result
from . import bulk, matcher, ops
from .indexes import GEO, KEY
from .query import Finder, Selection, parse_order
from .regex import statement_budget
from .store import DEFAULT_CACHE_MB, Batch, DuplicateId, Store
from .writes import SchemaCheck, deep_copy, gc_paused, plain_row, project_included

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


class EngineBackend(Backend):
    """The embedded engine on a transient (path None: SQLite in memory) or file database."""

    #: rows per insert statement that bulk writers (``.import``, copies) should
    #: send: one transaction each, its index entries written sorted, in bulk
    bulk_rows = 10_000

    #: the keyword options this backend takes (cql.connect(path, **options))
    OPTIONS = ("synchronous", "busy_timeout", "strict_types", "regex_timeout", "auto_index", "cache_mb")

    def __init__(self, path: Optional[str] = None, *, synchronous: str = "NORMAL",
                 busy_timeout: float = 30.0, strict_types: bool = True,
                 regex_timeout: Optional[float] = None, auto_index: bool = True,
                 cache_mb: float = DEFAULT_CACHE_MB, **unknown: Any):
        refuse_unknown_options(unknown, self.OPTIONS, "an embedded database")
        # None: the default (the store checks synchronous's value: StorageError)
        synchronous = option("synchronous", synchronous, "text") or "NORMAL"
        busy_timeout = option("busy_timeout", busy_timeout, "number")
        busy_timeout = 30.0 if busy_timeout is None else busy_timeout
        strict_types = option("strict_types", strict_types, "bool") is not False
        self.regex_timeout = option("regex_timeout", regex_timeout, "positive")
        self.auto_index = option("auto_index", auto_index, "bool") is not False
        cache_mb = option("cache_mb", cache_mb, "number", maximum=1 << 20)
        cache_mb = DEFAULT_CACHE_MB if cache_mb is None else cache_mb
        self._lock = threading.RLock()
        self.path = None if path is None else os.fspath(path)
        self.strict_types = strict_types
        self._compiled: Dict[bytes, matcher.Predicate] = {}  # see _predicate
        self.store = Store(self.path, synchronous=synchronous, busy_timeout=busy_timeout,
                           cache_mb=cache_mb)
        self.finder = Finder(self.store)
        self.closed = False
        if self.path is None:
            self.description = "transient in-memory database; use .open FILE to persist"
        else:
            self.description = f"embedded database {self.path}"

    # -- plumbing -----------------------------------------------------------------
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several statements as one transaction: all or nothing."""
        with self._lock:
            self._check_open()
            with self.store.transaction():
                yield

    # -- Backend ------------------------------------------------------------------
    def run(self, plan: Plan) -> Result:
        with self._lock, statement_budget(self.regex_timeout):
            self._check_open()
            c = plan.__class__  # exact classes first: a run per statement
            if c is Update:
                return self._update(plan)  # type: ignore[arg-type]
            if c is Find or isinstance(plan, Find):
                return self.find(plan)  # type: ignore[arg-type]
            return super().run(plan)

    def explain(self, plan: Plan) -> List[dict]:
        """The reference requests, each find annotated with the index it uses."""
        requests = requests_of(plan)
        with self._lock, statement_budget(self.regex_timeout):
            self._check_open()
            note = self._access_note(plan)
        if note is not None:
            for req in requests:
                if isinstance(req, dict) and str(req.get("method", "GET")).upper() in ("GET", "PUT", "DELETE"):
                    req["index"] = note
        return requests

    def _access_note(self, plan: Plan) -> Optional[str]:
        """The access path a plan's read takes (decided as a run would, nothing read)."""
        if isinstance(plan, Create):
            return None
        if isinstance(plan, (Update, Delete)) and plan.object_id is not None:
            return "objectId (hash)"
        if isinstance(plan, Find):
            return self._select(plan.class_name, plan.where, parse_order(plan.order),
                                plan.skip or 0, plan.effective_limit, plan.count, plan_only=True).index
        return self._select(plan.class_name, plan.where, (), 0, None, False, plan_only=True).index

    def schema(self) -> Dict[str, Dict[str, str]]:
        with self._lock:
            self._check_open()
            store = self.store
            with store.reading():
                out: Dict[str, Dict[str, str]] = {}
                for cls in store.class_names():
                    fields = {"objectId": "String"}
                    fields.update(store.schema.get(cls, {}))
                    fields["createdAt"] = "Date"
                    fields["updatedAt"] = "Date"
                    out[cls] = fields
                return out

    # -- indexes ---------------------------------------------------------------------
    def create_index(self, class_name: str, field: str, kind: Optional[str] = None) -> dict:
        """Build an index ahead of time (a no-op when it exists): ``kind`` "key", or
        "geo" (the default for a GeoPoint field); its description."""
        with self._lock:
            self._check_open()
            if kind is None:
                with self.store.reading():
                    geo = self.store.schema.get(class_name, {}).get(field) == "GeoPoint"
                kind = GEO if geo else KEY
            _check_index_args(class_name, field, kind)
            with self.store.write():
                self.store.create_index(class_name, field, kind)
            return self._describe(class_name, field, kind)

    def drop_index(self, class_name: str, field: str, kind: Optional[str] = None) -> int:
        """Drop the index (both kinds when ``kind`` is None); how many were dropped."""
        with self._lock:
            self._check_open()
            with self.store.write():
                return sum(self.store.drop_index(class_name, field, k)
                           for k in ((kind,) if kind else (KEY, GEO)))

    def indexes(self, class_name: Optional[str] = None) -> List[dict]:
        """Every index (of one class): class, field, kind, entries, bytes."""
        with self._lock:
            self._check_open()
            with self.store.reading():
                found = [i for i in self.store.indexes.all()
                         if class_name is None or i.cls == class_name]
                return [self.store.index_info(i) for i in sorted(found, key=lambda i: (i.cls, i.field, i.kind))]

    def _describe(self, class_name: str, field: str, kind: str) -> dict:
        with self.store.reading():
            idx = self.store.indexes.known(class_name, field, kind)
            return self.store.index_info(idx)  # type: ignore[arg-type]

    def _prepare(self, class_name: str, where: dict, order: Tuple[Tuple[str, bool], ...],
                 limit: Optional[int], skip: int) -> None:
        """Build the indexes this read would use that do not exist yet (their
        field's first indexed query), in a write transaction of their own before
        the read (or inside the open write). Inside a read (a subquery) nothing
        can be written: the read goes without."""
        store = self.store
        if not self.auto_index or store.in_read:
            return
        store.catch_up()  # counts and registry, to decide on
        wanted = self.finder.wanted(class_name, where, order, limit, skip)
        if store.count(class_name) == 0 or all(store.indexes.get(class_name, *w) is not None for w in wanted):
            return
        with store.write():  # current under the lock (or the open write)
            for field, kind in wanted:
                if store.count(class_name) and store.indexes.get(class_name, field, kind) is None:
                    store.create_index(class_name, field, kind)

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

    def _relation_fields(self, class_name: str, where: dict) -> List[str]:
        """Top-level keys of ``where`` that compare a Relation field with a
        Pointer: Parse's shorthand for "whose relation holds this object"."""
        fields = self.store.schema.get(class_name) or {}
        return [k for k, v in where.items()
                if fields.get(k, "").startswith("Relation") and v.__class__ is dict
                and v.get("__type") == "Pointer" and isinstance(v.get("objectId"), str)]

    def _with_relation_owners(self, class_name: str, where: dict, keys: List[str]) -> dict:
        """``where`` with each {relationField: Pointer} replaced by the objectIds
        whose relation holds that pointer (read in the caller's snapshot), so
        indexes and pre-filters see an objectId condition."""
        rest = {k: v for k, v in where.items() if k not in keys}
        owned = [{"objectId": {"$in": self.store.relation_owners(
            class_name, k, where[k].get("className", ""), where[k]["objectId"])}} for k in keys]
        return {"$and": [rest] + owned} if rest else ({"$and": owned} if len(owned) > 1 else owned[0])

    def _prepared(self, class_name: str, where: dict, order: Tuple[Tuple[str, bool], ...],
                  limit: Optional[int], skip: int) -> List[str]:
        """Before a read's snapshot: build the indexes it would use (see
        _prepare, never on a relation field); its relation-equality keys."""
        keys = self._relation_fields(class_name, where)
        self._prepare(class_name, {k: v for k, v in where.items() if k not in keys} if keys else where,
                      order, limit, skip)
        return keys

    def _matching(self, class_name: str, where: dict, relation_keys: List[str],
                  order: Tuple[Tuple[str, bool], ...], skip: int, limit: Optional[int], count: bool,
                  plan_only: bool = False) -> Selection:
        """Inside a read snapshot: the objects of ``class_name`` matching ``where``."""
        if relation_keys:
            where = self._with_relation_owners(class_name, where, relation_keys)
        predicate = self._predicate(where or None)
        return self.finder.find(class_name, where, predicate, order=order, skip=skip,
                                limit=limit, count=count, plan_only=plan_only)

    def _select(self, class_name: str, where: dict, order: Tuple[Tuple[str, bool], ...],
                skip: int, limit: Optional[int], count: bool, plan_only: bool = False) -> Selection:
        where = where or {}
        relation_keys = self._prepared(class_name, where, order, limit, skip)
        with self.store.reading():
            return self._matching(class_name, where, relation_keys, order, skip, limit, count, plan_only)

    def find(self, plan: Find) -> Result:
        limit = plan.effective_limit
        if limit < 0:
            raise errors.CQLError(f"limit must not be negative, got {limit}", 102)
        if plan.skip is not None and plan.skip < 0:
            raise errors.CQLError(f"skip must not be negative, got {plan.skip}", 102)
        order = parse_order(plan.order)
        where = plan.where or {}
        skip = plan.skip or 0
        relation_keys = self._prepared(plan.class_name, where, order, limit, skip)
        with self.store.reading():  # one snapshot for the select and its includes
            sel = self._matching(plan.class_name, where, relation_keys, order, skip, limit, plan.count)
            rows = deep_copy([self._row(o, plan.keys, plan.include) for o in sel.objects])
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
                project_included(row, keys)
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
            target = self.store.get(cls, oid) if isinstance(cls, str) and isinstance(oid, str) else None
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

    def _schema_check(self, cls: str, batch: Batch) -> "SchemaCheck":
        return SchemaCheck(cls, self.store.schema.get(cls, {}), batch, self.strict_types)

    def _relations(self, cls: str, oid: str, body: dict, batch: Batch) -> None:
        for change in ops.relation_changes(body):
            for target_id in change.object_ids:
                batch.relations.append((cls, oid, change.key, change.class_name, target_id,
                                        change.op == "add"))

    def insert(self, plan: Create) -> Result:
        with self._lock, gc_paused(len(plan.rows) >= 1000):
            self._check_open()
            try:
                return self._insert(plan)
            except DuplicateId:  # an id made here was taken (imported data): new ids, once more
                return self._insert(plan)

    def _insert(self, plan: Create) -> Result:
        rows = plan.rows
        cls = plan.class_name
        out: List[dict] = []
        with self.store.write() as batch:
            now = now_iso()  # one time for the whole statement
            copies = deep_copy(list(rows))  # the store keeps its own values
            types = self._schema_check(cls, batch)
            check = types.check
            oids: List[str] = []
            objs: List[dict] = []
            for row, copy, oid in zip(rows, copies, new_ids(len(rows))):
                if "objectId" in row or "createdAt" in row or "updatedAt" in row:
                    self._check_body(row, "insert")
                if plain_row(row):  # the common case: plain values
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
        """The objects a write touches (under the write lock, the store current)."""
        if plan.object_id is not None:
            obj = self.store.get(plan.class_name, plan.object_id)
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
                batch.update(cls, oid, obj, new)
                out.append({"objectId": oid, "updatedAt": now})
        return Result("update", plan.class_name, out)

    def delete(self, plan: Delete) -> Result:
        with self._lock:
            self._check_open()
            with self.store.write() as batch:
                targets = self._targets(plan)
                for obj in targets:
                    batch.delete(plan.class_name, obj["objectId"], obj)
            return Result("delete", plan.class_name, (), rowcount=len(targets))

    # -- bulk copy: cql copy / cql verify (cql.transfer); the bodies are in bulk.py ---
    def write_objects(self, class_name: str, objects: List[dict]) -> Tuple[int, int, int]:
        """Upsert whole REST JSON objects by objectId (objectId, createdAt/updatedAt,
        ACL kept) in one transaction; (inserted, replaced, unchanged)."""
        with self._lock, gc_paused(len(objects) >= 1000):
            self._check_open()
            return bulk.write_objects(self.store, lambda batch: self._schema_check(class_name, batch).check,
                                      class_name, objects, now_iso())

    def scan_objects(self, class_name: str, after: Optional[str] = None, limit: int = 1000) -> List[dict]:
        """Up to ``limit`` objects with objectId > ``after``, in objectId order (copies)."""
        with self._lock:
            self._check_open()
            return bulk.scan_objects(self.store, class_name, after, limit)

    def relation_rows(self, class_name: str) -> Iterator[Tuple[str, str, str, str]]:
        """(owner id, key, target class, target id) of every relation of the class,
        sorted, read a page at a time (the lock held while a page is read)."""
        rows = bulk.relation_rows(self.store, class_name)
        while True:
            with self._lock:
                self._check_open()
                page = list(islice(rows, 1000))
            if not page:
                return
            yield from page

    def write_relation_rows(self, class_name: str, rows: Iterable[Tuple[str, str, str, str]]) -> int:
        """Add the relation rows not there yet, in one transaction; the number added."""
        with self._lock:
            self._check_open()
            return bulk.write_relation_rows(self.store, class_name, rows, self.strict_types)


def _check_index_args(class_name: str, field: str, kind: str) -> None:
    if kind not in (KEY, GEO):
        raise errors.CQLError(f"an index kind is {KEY!r} or {GEO!r}, not {kind!r}", 102)
    if not is_class_name(class_name):
        raise errors.InvalidClassName(f"invalid class name {class_name!r}")
    if not isinstance(field, str) or not field or "." in field or field.startswith("$"):
        raise errors.InvalidKey(f"cannot index {field!r}: give a top-level field name")
    if field == "objectId":
        raise errors.InvalidKey("objectId is always indexed")

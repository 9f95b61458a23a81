"""Running a find: pick an access path, filter with the compiled where, order, page.

Why here and not in the matcher: the matcher says *whether* an object matches
and *how* objects sort; this module decides *which* objects to look at and
reads them from the store. It splits the where into its top-level conjuncts
(fields beside each other, and the elements of a top-level ``$and``), asks the
persistent indexes (indexes.py) how many candidates each conjunct leaves
(counting at most as far as the best so far), takes the smallest, and checks
every candidate with the whole compiled where, so an index never changes an
answer, only its cost.

Reading: candidates come from one SQL query that streams them (index range
joined with the objects, or the class's objects in objectId order with a
conservative pre-filter, project.py). Unless the object is cached, the where
runs on a small object of just the fields it reads (plus the ORDER BY and near
fields); only objects a statement returns are decoded whole. A small class is
read whole into the cache once, and then scanned from memory.

Order (decided): the ORDER BY keys, then objectId ascending as the last
tie-breaker, so ordered results never depend on which index ran. Without ORDER
BY the order is unspecified, as in MongoDB/LeanCloud: objectId order on a scan
(creation order for ids made here), the index's order when an index ran
(which lets a LIMIT stop early). ``$nearSphere`` sorts nearest first (ties by
objectId) unless an ORDER BY is given; an explicit ORDER BY wins, as in MongoDB.

Access paths: objectId (hash); equality, ``$in``, ``$all`` (hash: one key or a
few); ranges and anchored ``$regex`` prefixes (sorted: a key range; refused
while the field holds arrays); ORDER BY + LIMIT walks the first key's index
when that is expected to touch fewer objects; ``$nearSphere`` + LIMIT widens a
latitude band (geo index) until the k nearest are known; a count whose whole
where one index answers exactly is read off the index.
"""
from __future__ import annotations

import heapq
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..plan import is_operator_object
from . import matcher
from .access import SORT_FACTOR, Access, Bounds, Paths, conjuncts, regex_prefix
from .indexes import GeoIndex, KeyIndex
from .project import Projection, count_scan, scan_sql, where_fields
from .store import TINY_CLASS

__all__ = ["Finder", "Selection", "parse_order", "sort_objects", "conjuncts", "regex_prefix"]

Predicate = Callable[[dict], bool]

# A $nearSphere uses the geo index unless another index leaves fewer candidates.
_GEO_OVER = 2000
# Fewer candidates than this: decode them whole (and cache them) rather than
# reading fields in SQL.
_SMALL = 256


class Selection:
    """What a find produced: the page of objects (store objects, not copies),
    the count when asked, whether more matched past the page, the index used."""

    __slots__ = ("objects", "count", "more", "index")

    def __init__(self, objects: List[dict], count: Optional[int], more: bool, index: str):
        self.objects = objects
        self.count = count
        self.more = more
        self.index = index


def parse_order(order: Any) -> Tuple[Tuple[str, bool], ...]:
    """("-score", "name") or "-score,name" -> (("score", True), ("name", False))."""
    return tuple(matcher.parse_order(order))


class Finder:
    """Runs finds over the store's classes (inside the store's transaction)."""

    def __init__(self, store: Any):
        self.store = store
        self.paths = Paths(store)

    def wanted(self, class_name: str, where: dict, order: Sequence[Tuple[str, bool]],
               limit: Optional[int], skip: int = 0) -> List[Tuple[str, str]]:
        """(field, kind) of the indexes this find would use if they existed."""
        return self.paths.wanted(class_name, where, order, limit, skip)

    # -- find -------------------------------------------------------------------
    def find(self, class_name: str, where: dict, predicate: Predicate, *,
             order: Sequence[Tuple[str, bool]] = (), skip: int = 0,
             limit: Optional[int] = None, count: bool = False, plan_only: bool = False) -> Selection:
        """Matching objects ``[skip:skip+limit]`` (limit None: all), the count if
        asked, whether more matched past the page, and the path taken.
        ``plan_only``: only the path (for explain), nothing read."""
        store = self.store
        skip = max(int(skip or 0), 0)
        total_objects = store.count(class_name)
        near = matcher.near_spec(where) if not order else None
        acc = self.paths.access(class_name, where)
        note = acc.note
        total: Optional[int] = None
        if count and not where:
            total = total_objects
        elif count and acc.exact and len(where) == 1 and not next(iter(where)).startswith("$"):
            total = -1  # read off the index, below
        if order and limit is not None and (not count or total is not None) \
                and "." not in order[0][0] and order[0][0] != "objectId":
            walk = self._walk_plan(class_name, where, order, skip, limit, acc, total_objects)
            if walk is not None:
                if plan_only:
                    return Selection([], None, False, f"{order[0][0]} (sorted)")
                if total == -1:
                    total = acc.count()
                got = self._walk(class_name, predicate, order, skip, limit, *walk)
                got.count = total
                return got
        if near is not None and limit is not None and (not count or total is not None) \
                and "." not in near.field and (acc.kind in ("scan", "band") or acc.size > _GEO_OVER):
            g = self.paths.geo_index(class_name, near.field)
            if g is not None and g.usable():
                if plan_only:
                    return Selection([], None, False, f"{near.field} (geo)")
                if total == -1:
                    total = acc.count()
                found = self._near(class_name, g, predicate, near, skip + limit + 1, where, order)
                end = skip + limit
                return Selection([o for _d, o in found[skip:end]], total, len(found) > end,
                                 f"{near.field} (geo)")
        if plan_only:
            return Selection([], None, False, note)
        if total == -1:
            total = acc.count()
        if count and total is not None and limit == 0:
            return Selection([], total, False, note)
        fields = where_fields(where)
        if fields is not None:
            fields = fields + [f.split(".", 1)[0] for f, _d in order] + \
                ([near.field.split(".", 1)[0]] if near is not None else [])
        if count and total is None and limit == 0:  # a count: nothing kept
            projection = Projection.of(fields) if fields is not None and "objectId" not in fields else None
            if acc.kind == "scan" and projection is not None and store.cache.complete(class_name) is None \
                    and store.count(class_name) > TINY_CLASS and store.first_scan(class_name):
                total = count_scan(store.db, class_name, projection, where, predicate)
            else:
                total = sum(1 for _m in self._matches(class_name, acc, where, predicate, fields, None, False))
            return Selection([], total, False, note)
        keep = None if limit is None else skip + limit + 1
        found = self._matches(class_name, acc, where, predicate, fields,
                              None if (order or near is not None or count) else keep, True)
        counted = [0]
        if count and total is None:
            found = _counting(found, counted)
        if not order and near is None:  # the first rows, and the count of the rest
            matches = list(found) if keep is None else list(islice(found, keep))
            if count and total is None:
                for _m in found:
                    pass
        elif order and keep is not None and len({d for _f, d in order}) == 1:
            # the top rows by a heap, in bounded memory; ties by objectId ascending
            key = matcher.order_key(list(order))
            if order[0][1]:
                matches = heapq.nlargest(keep, found, key=lambda m: (key(m[1]), _Desc(m[0])))
            else:
                matches = heapq.nsmallest(keep, found, key=lambda m: (key(m[1]), m[0]))
        else:
            matches = list(found)
            if order:
                matches = _sorted_matches(matches, order)
            else:
                matches.sort(key=lambda m: m[0])
                matches = heapq.nsmallest(len(matches) if keep is None else keep, matches,
                                          key=lambda m: near.distance(m[1]))
        if count and total is None:
            total = counted[0]
        end = None if limit is None else skip + limit
        page = matches[skip:end]
        more = end is not None and len(matches) > end
        return Selection(self._whole(class_name, page), total, more, note)

    # -- reading candidates -------------------------------------------------------------
    def _matches(self, class_name: str, acc: Access, where: dict, predicate: Predicate,
                 fields: Optional[List[str]], want: Optional[int],
                 need_objects: bool) -> Iterator[Tuple[str, dict, Optional[str]]]:
        """(id, object or small object, JSON text when not decoded whole) of the
        candidates that match, in the path's order (streamed)."""
        store = self.store
        if acc.kind == "scan":
            objects = store.load_class(class_name)
            if objects is not None:  # small enough: from memory
                return ((oid, obj, None) for oid, obj in list(objects.items()) if predicate(obj))
        projection = None
        if fields is not None and (want is None or want > _SMALL) and \
                (acc.kind == "scan" or acc.size > _SMALL):
            projection = Projection.of(fields)
        dedupe = acc.kind == "range" or (acc.kind == "keys" and len(acc.keys) > 1
                                         and acc.index is not None and acc.index.has_arrays())
        if projection is None and acc.kind != "scan":
            # a few candidates: their ids first, then each from the cache or the file
            if acc.kind == "ids":
                rows: Iterable[Sequence[Any]] = ((oid,) for oid in acc.ids)
            else:
                sql, params = self._candidates_sql(class_name, acc, where, None, False, ids_only=True)
                rows = store.db.execute(sql, params)
            return ((row[0], obj, None) for row, obj in self._objects(class_name, rows, dedupe) if predicate(obj))
        sql, params = self._candidates_sql(class_name, acc, where, projection, need_objects)
        return self._filter(class_name, store.db.execute(sql, params), projection, predicate,
                            dedupe=dedupe, keep=acc.kind != "scan")

    def _objects(self, class_name: str, rows: Iterable[Sequence[Any]],
                 dedupe: bool = False) -> Iterator[Tuple[str, dict]]:
        """(id, object) for rows starting with an id, in their order: from the
        cache, the others read from the file a chunk at a time (a small first
        chunk: a LIMIT 10 reads no more than it needs)."""
        seen: set = set()
        chunk: List[Any] = []
        size = 16
        for row in rows:
            if dedupe:
                if row[0] in seen:
                    continue
                seen.add(row[0])
            chunk.append(row)
            if len(chunk) >= size:
                yield from self._resolve(class_name, chunk)
                chunk = []
                size = min(size * 4, 1024)
        if chunk:
            yield from self._resolve(class_name, chunk)

    def _resolve(self, class_name: str, rows: List[Any]) -> Iterator[Tuple[str, dict]]:
        cc = self.store.cache.peek(class_name)
        cached = cc.objects if cc is not None else {}
        missing = [r[0] for r in rows if r[0] not in cached]
        got = self.store.get_many(class_name, missing) if missing else {}
        for row in rows:
            obj = cached.get(row[0]) or got.get(row[0])
            if obj is not None:
                yield row, obj

    def _candidates_sql(self, class_name: str, acc: Access, where: dict, projection: Optional[Projection],
                        need_objects: bool, ids_only: bool = False) -> Tuple[str, list]:
        """SQL whose rows are (id, json, projected columns...) of the candidates
        (of an index path: (id,) only when ``ids_only``)."""
        src = "o.json"
        cols = "o.id, " + (src if need_objects or projection is None else "NULL")
        if projection is not None:
            cols += ", " + projection.columns(src)
        if ids_only:
            table = acc.index.table  # type: ignore[union-attr]
            if acc.kind == "band":
                lo, _li, hi, _hi = acc.bounds  # type: ignore[misc]
                return f"SELECT id FROM {table} WHERE lat >= ? AND lat <= ?", [lo, hi]
            if acc.kind == "keys":
                keys = list(acc.keys)
                if len(keys) == 1:
                    return f"SELECT id FROM {table} WHERE key = ? ORDER BY id", keys
                return (f"SELECT id FROM {table} WHERE key IN ({','.join('?' * len(keys))}) ORDER BY key, id",
                        keys)
            cond, params = KeyIndex.range_sql(*acc.bounds)  # type: ignore[misc]
            return f"SELECT id FROM {table} WHERE {cond} ORDER BY key, id", params
        if acc.kind == "scan":
            sql, params = scan_sql(projection, where, need_objects)
            return sql, [class_name, *params]
        if acc.kind == "ids":
            ids = list(acc.ids)
            sql = f"SELECT {cols} FROM objects o WHERE o.class = ? AND o.id IN ({','.join('?' * len(ids))})"
            return sql, [class_name, *ids]
        if acc.kind == "band":
            lo, _li, hi, _hi = acc.bounds  # type: ignore[misc]
            table = acc.index.table  # type: ignore[union-attr]
            sql = (f"SELECT {cols} FROM {table} g JOIN objects o ON o.class = ? AND o.id = g.id "
                   "WHERE g.lat >= ? AND g.lat <= ?")
            return sql, [class_name, lo, hi]
        table = acc.index.table  # type: ignore[union-attr]
        join = f"FROM {table} x JOIN objects o ON o.class = ? AND o.id = x.id"
        if acc.kind == "keys":
            keys = list(acc.keys)
            if len(keys) == 1:
                return f"SELECT {cols} {join} WHERE x.key = ? ORDER BY x.id", [class_name, keys[0]]
            marks = ",".join("?" * len(keys))
            return f"SELECT {cols} {join} WHERE x.key IN ({marks}) ORDER BY x.key, x.id", [class_name, *keys]
        cond, params = KeyIndex.range_sql(*acc.bounds)  # type: ignore[misc]
        cond = cond.replace("key", "x.key")
        return f"SELECT {cols} {join} WHERE {cond} ORDER BY x.key, x.id", [class_name, *params]

    def _filter(self, class_name: str, rows: Iterable[Sequence[Any]], projection: Optional[Projection],
                predicate: Predicate, dedupe: bool, keep: bool) -> Iterator[Tuple[str, dict, Optional[str]]]:
        store = self.store
        cc = store.cache.peek(class_name)
        cached = cc.objects if cc is not None else {}
        seen: set = set()
        build = projection.build if projection is not None else None
        for row in rows:
            oid = row[0]
            if dedupe:
                if oid in seen:
                    continue
                seen.add(oid)
            obj = cached.get(oid)
            text = None
            if obj is None:
                if build is not None:
                    obj = build(oid, row, 2)
                    text = row[1]
                else:
                    obj = store.decode(class_name, oid, row[1], keep=keep)
            if predicate(obj):
                yield oid, obj, text

    def _whole(self, class_name: str, page: List[Tuple[str, dict, Optional[str]]]) -> List[dict]:
        """The page's objects decoded whole (and kept in the cache)."""
        store = self.store
        out = []
        missing = []
        for oid, obj, text in page:
            if text is None:
                out.append(obj)
            else:
                out.append(None)
                missing.append((len(out) - 1, oid, text))
        for i, oid, text in missing:
            if text is not None:
                out[i] = store.decode(class_name, oid, text)
        if any(o is None for o in out):  # small objects without text (count-only reads)
            got = store.get_many(class_name, [m[0] for m in page])
            out = [got.get(m[0]) if o is None else o for o, m in zip(out, page)]
            out = [o for o in out if o is not None]
        return out

    # -- ORDER BY + LIMIT along an index ----------------------------------------------
    def _walk_plan(self, class_name: str, where: dict, order: Sequence[Tuple[str, bool]], skip: int,
                   limit: int, acc: Access, total: int) -> Optional[Tuple[KeyIndex, Optional[Bounds]]]:
        field, _desc = order[0]
        idx = self.paths.key_index(class_name, field)
        if idx is None or idx.has_arrays():
            return None
        want = skip + limit + 1
        if acc.field == field and acc.kind == "range":
            acc.cap = min(acc.cap, want * SORT_FACTOR)  # enough to tell a walk from a sort
        matches_estimate = acc.size
        bounds = None
        span = total  # entries the walk may pass
        if acc.field == field and acc.kind == "range":  # the access path is that range
            bounds, span = acc.bounds, acc.size
        else:
            for f, cond in conjuncts(where):
                if f == field and is_operator_object(cond):
                    bounds = self.paths.bounds(field, cond)
                    if bounds is not None:
                        break
            if bounds is not None:
                span = idx.count_range(*bounds, cap=total)
        # Expected steps of the walk versus sorting every candidate.
        steps = want * span / max(matches_estimate, 1)
        if steps * SORT_FACTOR > matches_estimate and matches_estimate < total:
            return None
        return idx, bounds

    def _walk(self, class_name: str, predicate: Predicate, order: Sequence[Tuple[str, bool]], skip: int,
              limit: int, idx: KeyIndex, bounds: Optional[Bounds]) -> Selection:
        """Walk the first ORDER BY key's index, stopping after the page. A range
        (or prefix) on that field bounds the walk: every match is inside it."""
        store = self.store
        field, desc = order[0]
        want = skip + limit + 1
        lo, lo_incl, hi, hi_incl = bounds if bounds is not None else (None, True, None, True)
        cond, params = KeyIndex.range_sql(lo, lo_incl, hi, hi_incl)
        direction = "DESC" if desc else "ASC"
        sql = (f"SELECT id, key FROM {idx.table} WHERE {cond} ORDER BY key {direction}, id {direction}")
        rest = order[1:]
        out: List[dict] = []
        run: List[dict] = []
        run_key: Any = None
        # Entries with one key form a run; a run comes out in objectId order
        # (a descending walk meets it backwards), then by the other ORDER BY keys.
        for (_oid, key), obj in self._objects(class_name, store.db.execute(sql, params)):
            if key != run_key:
                if run:
                    if desc:
                        run.reverse()
                    out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
                    run = []
                    if len(out) >= want:
                        break
                run_key = key
            if predicate(obj):
                run.append(obj)
        else:
            if run:
                if desc:
                    run.reverse()
                out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
        end = skip + limit
        return Selection(out[skip:end], None, len(out) > end, f"{field} (sorted)")

    # -- $nearSphere along the geo index -----------------------------------------------
    def _near(self, class_name: str, g: GeoIndex, predicate: Predicate, near: Any, want: int,
              where: dict, order: Sequence[Tuple[str, bool]]) -> List[Tuple[float, dict]]:
        """The ``want`` nearest matches (ties by objectId), by widening a latitude band.
        The where runs on small objects: the point from the index (exact: the
        stored doubles) and any other field it reads projected from the JSON;
        only the winners are decoded whole."""
        store = self.store
        n = max(store.count(class_name), 1)
        lat0 = near.latitude
        width = max(0.05, 180.0 * (want / n) ** 0.5)
        prev = -1.0
        found: List[Tuple[float, str]] = []
        distance = near.distance
        field = near.field
        others = [f for f in where_fields(where) or [None] if f != field]  # type: ignore[misc]
        projection = Projection.of(others) if None not in others else None
        if projection is None and others:  # fields no projection can read: decode whole objects
            projection_sql, width_cols = "o.json", 1
        else:
            projection_sql = projection.columns("o.json") if projection is not None else "NULL"
            width_cols = 0
        join = "JOIN objects o ON o.class = ? AND o.id = g.id" if others else ""
        sql = (f"SELECT g.id, g.lat, g.lng, {projection_sql} FROM {g.table} g {join} "
               "WHERE g.lat {a} ? AND g.lat {b} ?")
        while True:
            if prev < 0:
                slices = [(lat0 - width, ">=", lat0 + width, "<=")]
            else:
                slices = [(lat0 - width, ">=", lat0 - prev, "<"), (lat0 + prev, ">", lat0 + width, "<=")]
            for lo, a, hi, b in slices:
                params = (class_name, lo, hi) if others else (lo, hi)
                for row in store.db.execute(sql.format(a=a, b=b), params):
                    oid = row[0]
                    if width_cols:
                        obj = store.decode(class_name, oid, row[3], keep=False)
                    else:
                        obj = projection.build(oid, row, 3) if projection is not None else {"objectId": oid}
                        obj[field] = {"__type": "GeoPoint", "latitude": row[1], "longitude": row[2]}
                    if predicate(obj):
                        found.append((distance(obj), oid))
            if width >= 180.0:
                break
            if len(found) >= want:
                kth = heapq.nsmallest(want, found)[-1][0]
                if kth < width * _DEG:
                    break
            prev, width = width, min(width * 2.0, 180.0)
        best = heapq.nsmallest(want, found)
        got = dict(self._objects(class_name, [(oid,) for _d, oid in best]))
        return [(d, got[(oid,)]) for d, oid in best if (oid,) in got]


_DEG = 3.141592653589793 / 180.0


class _Desc:
    """A string that sorts backwards (ties by objectId ascending under nlargest)."""

    __slots__ = ("s",)

    def __init__(self, s: str):
        self.s = s

    def __lt__(self, other: "_Desc") -> bool:
        return self.s > other.s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.s == other.s


def _counting(items: Iterator[Any], counter: List[int]) -> Iterator[Any]:
    for item in items:
        counter[0] += 1
        yield item


def _by_id(obj: dict) -> str:
    return obj.get("objectId", "")


def sort_objects(objects: List[dict], order: Sequence[Tuple[str, bool]]) -> List[dict]:
    """Objects in ORDER BY order, ties by objectId ascending."""
    objects = sorted(objects, key=_by_id)
    return matcher.order_objects(objects, [("-" if d else "") + f for f, d in order])


def _sorted_matches(matches: List[Tuple[str, dict, Optional[str]]],
                    order: Sequence[Tuple[str, bool]]) -> List[Tuple[str, dict, Optional[str]]]:
    by_obj = {id(m[1]): m for m in matches}
    return [by_obj[id(o)] for o in sort_objects([m[1] for m in matches], order)]



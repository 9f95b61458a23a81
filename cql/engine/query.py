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
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..plan import is_operator_object
from . import matcher
from .indexes import GEO, KEY, GeoIndex, KeyIndex, query_value
from .keys import encode, value_bytes
from .project import Projection, scan_sql, where_fields

Predicate = Callable[[dict], bool]

_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}
_REGEX_META = set(".^$*+?{}[]\\|()")
# A walk along an ORDER BY index is preferred when it is expected to touch
# fewer objects than sorting every candidate would.
_SORT_FACTOR = 4
# A $nearSphere uses the geo index unless another index leaves fewer candidates.
_GEO_OVER = 2000
# Candidates are counted this far to choose a path (see Finder.access).
ESTIMATE_CAP = 1000
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


def conjuncts(where: dict) -> Iterable[Tuple[str, Any]]:
    """(field, condition) pairs every match must satisfy."""
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            for part in cond:
                if isinstance(part, dict):
                    yield from conjuncts(part)
        elif not key.startswith("$"):
            yield key, cond


def regex_prefix(pattern: Any, options: Any) -> Optional[str]:
    """The literal prefix every match of an anchored regex starts with."""
    if not isinstance(pattern, str) or not pattern.startswith("^") or options:
        return None
    out: List[str] = []
    i = 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern) and not pattern[i + 1].isalnum():
                out.append(pattern[i + 1])
                i += 2
                continue
            break
        if ch in _REGEX_META:
            if ch in "*?{" and out:
                out.pop()  # the last literal is optional
            if ch == "|":
                return None
            break
        out.append(ch)
        i += 1
    return "".join(out) or None


Bounds = Tuple[Optional[bytes], bool, Optional[bytes], bool]


class Access:
    """An access path: how candidates are read (``kind``: "scan", "ids",
    "keys" or "range"), about how many (``size``, an upper bound or capped
    estimate), a note for explain, and whether its candidates are exactly the
    matches of its conjunct (then ``counter`` counts them, for a count read
    off the index)."""

    __slots__ = ("kind", "_size", "note", "exact", "counter", "field", "index", "ids", "keys", "bounds",
                 "estimator", "cap")

    def __init__(self, kind: str, size: Optional[int], note: str, exact: bool = False,
                 counter: Optional[Callable[[], int]] = None, field: Optional[str] = None,
                 index: Optional[KeyIndex] = None, ids: Sequence[str] = (),
                 keys: Sequence[bytes] = (), bounds: Optional[Bounds] = None,
                 estimator: Optional[Callable[[int], int]] = None):
        self.kind = kind
        self._size = size
        self.note = note
        self.exact = exact
        self.counter = counter
        self.field = field
        self.index = index
        self.ids = ids
        self.keys = keys
        self.bounds = bounds
        self.estimator = estimator  # cap -> candidates counted up to cap + 1
        self.cap = ESTIMATE_CAP

    @property
    def size(self) -> int:
        """Candidates, counted (when asked: a lone path needs no estimate) up to the cap."""
        if self._size is None:
            self._size = self.estimator(self.cap)  # type: ignore[misc]
            if self._size <= self.cap and (self.kind == "range" or len(self.keys) == 1):
                # below the cap the estimate is the count: one key has one entry per
                # object, and a range is only taken on a field without arrays
                self.counter = None
        return self._size

    def count(self) -> int:
        """The exact number of candidates."""
        return self.size if self.counter is None else self.counter()


class Finder:
    """Runs finds over the store's classes (inside the store's transaction)."""

    def __init__(self, store: Any):
        self.store = store

    # -- which indexes a find would use --------------------------------------------
    def wanted(self, class_name: str, where: dict, order: Sequence[Tuple[str, bool]],
               limit: Optional[int], skip: int = 0) -> List[Tuple[str, str]]:
        """(field, kind) of the indexes this find would use if they existed
        (built ahead of the read, once, on a field's first indexed query)."""
        out: List[Tuple[str, str]] = []
        for field, cond in conjuncts(where):
            if "." in field or field == "objectId":
                continue
            if isinstance(cond, dict) and ("$nearSphere" in cond or "$within" in cond
                                           or "$geoWithin" in cond):
                out.append((field, GEO))
            elif _indexable(field, cond):
                out.append((field, KEY))
        if order and limit is not None:
            field = order[0][0]
            if "." not in field and field != "objectId" and \
                    self.store.count(class_name) > (skip + limit + 1) * _SORT_FACTOR:
                out.append((field, KEY))
        return list(dict.fromkeys(out))

    # -- access path --------------------------------------------------------------
    def _key_index(self, class_name: str, field: str) -> Optional[KeyIndex]:
        idx = self.store.indexes.get(class_name, field, KEY)
        return None if idx is None else KeyIndex(self.store.db, idx)

    def _geo_index(self, class_name: str, field: str) -> Optional[GeoIndex]:
        idx = self.store.indexes.get(class_name, field, GEO)
        return None if idx is None else GeoIndex(self.store.db, idx)

    def access(self, class_name: str, where: dict) -> Access:
        """The cheapest index answer for ``where``. Candidates are counted only
        to choose between paths, and up to ESTIMATE_CAP only: counting a large
        range would cost more than an ORDER BY + LIMIT walk through it (an index
        beyond the cap still beats a scan)."""
        found = []
        for field, cond in conjuncts(where):
            if "." not in field:
                got = self._conjunct(class_name, field, cond)
                if got is not None:
                    found.append(got)
        if len(found) == 1:
            return found[0]
        best = Access("scan", self.store.count(class_name), "scan")
        for got in found:
            got.cap = min(best.size, ESTIMATE_CAP)
            if got.size < best.size:
                best = got
                if got.size <= 1:
                    break
        return best

    def _conjunct(self, class_name: str, field: str, cond: Any) -> Optional[Access]:
        if field == "objectId":
            if isinstance(cond, str):
                ids: List[str] = [cond]
            elif isinstance(cond, dict) and list(cond) == ["$in"] and isinstance(cond["$in"], list) \
                    and all(isinstance(v, str) for v in cond["$in"]):
                ids = list(dict.fromkeys(cond["$in"]))
            else:
                return None
            store = self.store
            return Access("ids", len(ids), "objectId (hash)", True,
                          lambda: len(store.get_many(class_name, ids)), ids=ids)
        if isinstance(cond, dict) and ("$within" in cond or "$geoWithin" in cond):
            return self._within(class_name, field, cond)
        idx = self._key_index(class_name, field)
        if idx is None:
            return None
        note = f"{field} (hash)"
        if not is_operator_object(cond):
            if cond is None or not _hashable_value(cond):
                return None
            return self._one_key(idx, note, value_bytes(query_value(field, cond)), _scalar(cond))
        if not isinstance(cond, dict):
            return None
        if "$in" in cond:
            values = cond["$in"]
            if isinstance(values, list) and values and \
                    all(v is not None and _hashable_value(v) for v in values):
                keys = list(dict.fromkeys(value_bytes(query_value(field, v)) for v in values))

                def estimate(cap: int) -> int:
                    size = 0
                    for k in keys:
                        size += idx.count_key(k, cap + 1)  # type: ignore[union-attr]
                        if size > cap:
                            break
                    return size
                return Access("keys", None, note, len(cond) == 1 and all(_scalar(v) for v in values),
                              lambda: idx.count_keys(keys, distinct=True), field, idx, keys=keys,  # type: ignore
                              estimator=estimate)
        if "$all" in cond:
            values = cond["$all"]
            if isinstance(values, list) and values and \
                    all(v is not None and _hashable_value(v) for v in values):
                sized = [(idx.count_key(k, ESTIMATE_CAP + 1), k) for k in
                         dict.fromkeys(value_bytes(query_value(field, v)) for v in values)]
                size, key = min(sized)  # holds every match
                return Access("keys", size, note, False, None, field, idx, keys=(key,))
        if "$eq" in cond and cond["$eq"] is not None and _hashable_value(cond["$eq"]):
            return self._one_key(idx, note, value_bytes(query_value(field, cond["$eq"])),
                                 len(cond) == 1 and _scalar(cond["$eq"]))
        bounds = self._bounds(field, cond)
        if bounds is not None:
            if idx.has_arrays():
                return None  # a range over elements is not a range over arrays
            exact = all(op in _RANGE_OPS for op in cond)
            lo, lo_incl, hi, hi_incl = bounds
            return Access("range", None, f"{field} (sorted)", exact,
                          lambda: idx.count_range(lo, lo_incl, hi, hi_incl), field, idx, bounds=bounds,  # type: ignore
                          estimator=lambda cap: idx.count_range(lo, lo_incl, hi, hi_incl, cap + 1))  # type: ignore
        return None

    @staticmethod
    def _one_key(idx: KeyIndex, note: str, key: bytes, exact: bool) -> Access:
        return Access("keys", None, note, exact, lambda: idx.count_key(key, 1 << 62), idx.field, idx,
                      keys=(key,), estimator=lambda cap: idx.count_key(key, cap + 1))

    def _within(self, class_name: str, field: str, cond: dict) -> Optional[Access]:
        """A $within box/circle/polygon: the candidates in its latitude band."""
        g = self._geo_index(class_name, field)
        if g is None or not g.usable():
            return None
        band = _within_band(cond.get("$within", cond.get("$geoWithin")))
        if band is None:
            return None
        lo, hi = band
        return Access("band", None, f"{field} (geo)", field=field, bounds=(lo, True, hi, True),
                      index=g, estimator=lambda cap: g.count_band(lo, hi, cap + 1))  # type: ignore[arg-type]

    def _bounds(self, field: str, cond: dict) -> Optional[Bounds]:
        """Key bounds (bytes) of a range or prefix condition, within one type's bracket."""
        key = matcher.value_key
        lo = hi = None
        lo_incl = hi_incl = True
        kind = None
        for op, value in cond.items():
            if op in _RANGE_OPS:
                if value is None or not _hashable_value(value) or isinstance(value, list):
                    return None
                try:
                    k = key(query_value(field, value))
                except Exception:
                    return None
                t = k[0]
                if kind is not None and t != kind:
                    return None  # e.g. > 1 and < 'a': let the predicate say "nothing"
                kind = t
                if op in ("$gt", "$gte"):
                    if lo is None or k > lo or (k == lo and op == "$gt"):
                        lo, lo_incl = k, op == "$gte"
                else:
                    if hi is None or k < hi or (k == hi and op == "$lt"):
                        hi, hi_incl = k, op == "$lte"
            elif op == "$regex":
                prefix = regex_prefix(value, cond.get("$options"))
                if prefix is None or ord(prefix[-1]) >= 0x10FFFF:
                    continue
                pk = key(prefix)
                nk = key(prefix[:-1] + chr(ord(prefix[-1]) + 1))
                if kind is not None and pk[0] != kind:
                    return None
                kind = pk[0]
                if lo is None or pk > lo:
                    lo, lo_incl = pk, True
                if hi is None or nk <= hi:
                    hi, hi_incl = nk, False
        if kind is None:
            return None
        if lo is None:
            lo, lo_incl = (kind,), True
        if hi is None:
            hi, hi_incl = (kind + 1,), False
        try:
            return encode(lo), lo_incl, encode(hi), hi_incl
        except (ValueError, TypeError):  # NaN: no place in an index
            return None

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
        acc = self.access(class_name, where)
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
            g = self._geo_index(class_name, near.field)
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
            fields = fields + [f for f, _d in order if "." not in f] + \
                ([near.field] if near is not None else [])
        if count and total is None and limit == 0:  # a count: nothing kept
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
            keys = [matcher.sort_key(f, d) for f, d in order]
            if order[0][1]:
                matches = heapq.nlargest(keep, found, key=lambda m: (*[k(m[1]) for k in keys], _Desc(m[0])))
            else:
                matches = heapq.nsmallest(keep, found, key=lambda m: (*[k(m[1]) for k in keys], m[0]))
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
        sql, params = self._candidates_sql(class_name, acc, where, projection, need_objects)
        dedupe = acc.kind == "range" or (acc.kind == "keys" and len(acc.keys) > 1
                                         and acc.index is not None and acc.index.has_arrays())
        return self._filter(class_name, store.db.execute(sql, params), projection, predicate,
                            dedupe=dedupe, keep=acc.kind != "scan")

    def _candidates_sql(self, class_name: str, acc: Access, where: dict,
                        projection: Optional[Projection], need_objects: bool) -> Tuple[str, list]:
        """SQL whose rows are (id, json, projected columns...) of the candidates."""
        src = "o.json"
        cols = "o.id, " + (src if need_objects or projection is None else "NULL")
        if projection is not None:
            cols += ", " + projection.columns(src)
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
        cond, params = KeyIndex._range_sql(*acc.bounds)  # type: ignore[misc]
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
        idx = self._key_index(class_name, field)
        if idx is None or idx.has_arrays():
            return None
        want = skip + limit + 1
        if acc.field == field and acc.kind == "range":
            acc.cap = min(acc.cap, want * _SORT_FACTOR)  # enough to tell a walk from a sort
        matches_estimate = acc.size
        bounds = None
        span = total  # entries the walk may pass
        if acc.field == field and acc.kind == "range":  # the access path is that range
            bounds, span = acc.bounds, acc.size
        else:
            for f, cond in conjuncts(where):
                if f == field and is_operator_object(cond):
                    bounds = self._bounds(field, cond)
                    if bounds is not None:
                        break
            if bounds is not None:
                span = idx.count_range(*bounds, cap=total)
        # Expected steps of the walk versus sorting every candidate.
        steps = want * span / max(matches_estimate, 1)
        if steps * _SORT_FACTOR > matches_estimate and matches_estimate < total:
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
        cond, params = KeyIndex._range_sql(lo, lo_incl, hi, hi_incl)
        direction = "DESC" if desc else "ASC"
        sql = (f"SELECT x.key, o.id, o.json FROM {idx.table} x JOIN objects o ON o.class = ? AND o.id = x.id "
               f"WHERE {cond.replace('key', 'x.key')} ORDER BY x.key {direction}, x.id {direction}")
        cc = store.cache.peek(class_name)
        cached = cc.objects if cc is not None else {}
        rest = order[1:]
        out: List[dict] = []
        run: List[dict] = []
        run_key: Any = None
        # Entries with one key form a run; a run comes out in objectId order
        # (a descending walk meets it backwards), then by the other ORDER BY keys.
        for key, oid, text in store.db.execute(sql, [class_name, *params]):
            if key != run_key:
                if run:
                    if desc:
                        run.reverse()
                    out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
                    run = []
                    if len(out) >= want:
                        break
                run_key = key
            obj = cached.get(oid)
            if obj is None:
                obj = store.decode(class_name, oid, text)
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
        """The ``want`` nearest matches (ties by objectId), by widening a latitude band."""
        store = self.store
        n = max(store.count(class_name), 1)
        lat0 = near.latitude
        width = max(0.05, 180.0 * (want / n) ** 0.5)
        prev = -1.0
        found: List[Tuple[float, str, dict]] = []
        distance = near.distance
        cc = store.cache.peek(class_name)
        cached = cc.objects if cc is not None else {}
        sql = (f"SELECT g.id, o.json FROM {g.table} g JOIN objects o ON o.class = ? AND o.id = g.id "
               "WHERE g.lat {a} ? AND g.lat {b} ?")
        while True:
            if prev < 0:
                slices = [(lat0 - width, ">=", lat0 + width, "<=")]
            else:
                slices = [(lat0 - width, ">=", lat0 - prev, "<"), (lat0 + prev, ">", lat0 + width, "<=")]
            for lo, a, hi, b in slices:
                for oid, text in store.db.execute(sql.format(a=a, b=b), (class_name, lo, hi)):
                    obj = cached.get(oid)
                    if obj is None:
                        obj = store.decode(class_name, oid, text, keep=False)
                    if predicate(obj):
                        found.append((distance(obj), oid, obj))
            if width >= 180.0:
                break
            if len(found) >= want:
                kth = heapq.nsmallest(want, found, key=_first_two)[-1][0]
                if kth < width * _DEG:
                    break
            prev, width = width, min(width * 2.0, 180.0)
        best = heapq.nsmallest(want, found, key=_first_two)
        out = []
        for d, oid, obj in best:
            whole = store.get(class_name, oid) if oid not in cached else obj
            out.append((d, whole if whole is not None else obj))
        return out


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


def _first_two(item: Tuple[float, str, dict]) -> Tuple[float, str]:
    return item[0], item[1]


def _lat(point: Any) -> float:
    """The latitude of a query point: {latitude, longitude} or [longitude, latitude]."""
    lat = point.get("latitude") if isinstance(point, dict) else point[1]
    if lat.__class__ not in (int, float):
        raise TypeError("not a point")
    return float(lat)


def _within_band(spec: Any) -> Optional[Tuple[float, float]]:
    """A latitude band holding every point of a $within/$geoWithin shape (a
    little wider than it: the matcher decides at the edges)."""
    if not isinstance(spec, dict) or len(spec) != 1:
        return None
    slack = 1e-9
    try:
        if "$box" in spec:
            a, b = spec["$box"]
            lats = (_lat(a), _lat(b))
            return min(lats) - slack, max(lats) + slack
        if "$centerSphere" in spec:
            center, radius = spec["$centerSphere"]
            lat, deg = _lat(center), float(radius) / _DEG
            if not deg >= 0:
                return None
            return lat - deg - slack, lat + deg + slack  # latitude difference <= distance
        if "$polygon" in spec:
            lats = [_lat(p) for p in spec["$polygon"]]
            return min(lats) - slack, max(lats) + slack
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return None
    return None


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


def _indexable(field: str, cond: Any) -> bool:
    """Could an index on ``field`` narrow this condition?"""
    if not is_operator_object(cond):
        return cond is not None and _hashable_value(cond)
    if not isinstance(cond, dict):
        return False
    for op, value in cond.items():
        if op in ("$in", "$all") and isinstance(value, list) and value and \
                all(v is not None and _hashable_value(v) for v in value):
            return True
        if op == "$eq" and value is not None and _hashable_value(value):
            return True
        if op in _RANGE_OPS and value is not None and _hashable_value(value) and not isinstance(value, list):
            return True
        if op == "$regex" and regex_prefix(value, cond.get("$options")) is not None:
            return True
    return False


def _scalar(value: Any) -> bool:
    return value.__class__ in (str, int, float, bool)


def _hashable_value(value: Any) -> bool:
    """Values an equality index can key: scalars, typed values, arrays of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and value != value:
            return False
        return True
    if isinstance(value, dict):
        return value.get("__type") in ("Date", "Pointer", "GeoPoint", "File", "Bytes")
    if isinstance(value, list):
        return all(_hashable_value(v) for v in value)
    return False

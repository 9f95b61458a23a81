"""Running a find: pick an index, filter with the compiled where, order, page.

Why here and not in the matcher: the matcher says *whether* an object matches
and *how* objects sort; this module decides *which* objects to look at. It
splits the where into its top-level conjuncts (fields beside each other, and the
elements of a top-level ``$and``), asks the indexes how many candidates each
conjunct leaves, takes the smallest, and checks every candidate with the whole
compiled where, so an index never changes an answer, only its cost.

Order (decided): the ORDER BY keys, then objectId ascending as the last
tie-breaker, so ordered results never depend on which index ran. objectIds are
MongoDB-style (seconds first), so ties come out roughly in creation order.
Without ORDER BY the order is unspecified, as in MongoDB/LeanCloud: creation
order on a scan, the index's order when an index ran (which lets a LIMIT stop
early). ``$nearSphere`` sorts nearest first (ties by objectId) unless an ORDER
BY is given; an explicit ORDER BY wins, as in MongoDB.

Access paths: objectId (hash); equality and ``$in`` (hash index); ranges and
anchored ``$regex`` prefixes (sorted index); ORDER BY + LIMIT walks the first
key's sorted index when that is expected to touch fewer objects; ``$nearSphere``
+ LIMIT widens a latitude band (geo index) until the k nearest are known; a
count whose whole where one index answers exactly is read off the index.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import matcher
from ..plan import is_operator_object
from .indexes import ClassIndexes, SortedIndex, query_value

_MAX = "\U0010ffff" * 4

Predicate = Callable[[dict], bool]

_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}
_REGEX_META = set(".^$*+?{}[]\\|()")
# A walk along an ORDER BY index is preferred when it is expected to touch
# fewer objects than sorting every candidate would.
_SORT_FACTOR = 4
# A $nearSphere uses the geo index unless another index leaves fewer candidates.
_GEO_OVER = 2000


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


class Access:
    """An access path: lazily produced candidate ids (None: every object), how
    many, a note for explain, and whether the ids are exactly the matches of
    that conjunct (so a count can be read off the index)."""

    __slots__ = ("ids", "size", "note", "exact", "counter", "field", "bounds")

    def __init__(self, ids: Optional[Callable[[], Iterable[str]]], size: int, note: str,
                 exact: bool = False, counter: Optional[Callable[[], int]] = None,
                 field: Optional[str] = None, bounds: Optional[tuple] = None):
        self.ids = ids
        self.size = size  # may be an estimate when ``counter`` gives the exact figure
        self.note = note
        self.exact = exact
        self.counter = counter
        self.field = field  # a sorted-index range: its field and key bounds
        self.bounds = bounds

    def count(self) -> int:
        """The exact number of candidates."""
        return self.size if self.counter is None else self.counter()


class Finder:
    """Runs finds over a store's objects with the class's indexes."""

    def __init__(self, classes: Dict[str, Dict[str, dict]],
                 indexes: Callable[[str], ClassIndexes]):
        self.classes = classes
        self.indexes = indexes

    # -- access path --------------------------------------------------------
    def access(self, class_name: str, objects: Dict[str, dict], where: dict) -> Access:
        """The cheapest index answer for ``where``."""
        best = Access(None, len(objects), "scan")
        idx = self.indexes(class_name)
        for field, cond in conjuncts(where):
            if "." in field:
                continue
            got = self._conjunct(idx, objects, field, cond)
            if got is not None and got.size < best.size:
                best = got
                if got.size <= 1:
                    break
        return best

    def _conjunct(self, idx: ClassIndexes, objects: Dict[str, dict], field: str,
                  cond: Any) -> Optional[Access]:
        if field == "objectId":
            if isinstance(cond, str):
                ids = [cond] if cond in objects else []
                return Access(lambda: ids, len(ids), "objectId (hash)", True)
            if isinstance(cond, dict) and list(cond) == ["$in"] and isinstance(cond["$in"], list) \
                    and all(isinstance(v, str) for v in cond["$in"]):
                ids = [v for v in dict.fromkeys(cond["$in"]) if v in objects]
                return Access(lambda: ids, len(ids), "objectId (hash)", True)
            return None
        if not is_operator_object(cond):
            if cond is None or not _hashable_value(cond):
                return None
            h = idx.hash_index(field, objects)
            ids = h.lookup(cond)
            return Access(lambda: ids, len(ids), f"{field} (hash)", _scalar(cond))
        if not isinstance(cond, dict):
            return None
        if "$in" in cond:
            values = cond["$in"]
            if isinstance(values, list) and values and \
                    all(v is not None and _hashable_value(v) for v in values):
                h = idx.hash_index(field, objects)
                if len(values) == 1:
                    ids = h.lookup(values[0])
                else:
                    ids = dict.fromkeys(i for v in values for i in h.lookup(v))
                return Access(lambda: ids, len(ids), f"{field} (hash)",
                              len(cond) == 1 and all(_scalar(v) for v in values))
        if "$all" in cond:
            values = cond["$all"]
            if isinstance(values, list) and values and \
                    all(v is not None and _hashable_value(v) for v in values):
                h = idx.hash_index(field, objects)
                ids = min((h.lookup(v) for v in values), key=len)  # holds every match
                return Access(lambda: ids, len(ids), f"{field} (hash)", False)
        if "$eq" in cond and cond["$eq"] is not None and _hashable_value(cond["$eq"]):
            h = idx.hash_index(field, objects)
            ids = h.lookup(cond["$eq"])
            return Access(lambda: ids, len(ids), f"{field} (hash)", len(cond) == 1 and _scalar(cond["$eq"]))
        bounds = self._bounds(field, cond)
        if bounds is not None:
            s = idx.sorted_index(field, objects)
            if not s.usable:
                return None
            lo, lo_incl, hi, hi_incl = bounds
            n = s.count(lo, lo_incl, hi, hi_incl, exact=False)  # enough to pick a path
            exact = all(op in _RANGE_OPS for op in cond)
            return Access(lambda: (e[-1] for e in s.range(lo, lo_incl, hi, hi_incl)), n,
                          f"{field} (sorted)", exact,
                          lambda: s.count(lo, lo_incl, hi, hi_incl), field, bounds)
        return None

    def _bounds(self, field: str, cond: dict) -> Optional[Tuple[Any, bool, Any, bool]]:
        """Key bounds of a range or prefix condition, within one type's bracket."""
        key = matcher.value_key
        lo = hi = None
        lo_incl = hi_incl = True
        kind = None
        for op, value in cond.items():
            if op in _RANGE_OPS:
                if value is None or not _hashable_value(value) or isinstance(value, list):
                    return None
                k = key(query_value(field, value))
                t = _bracket(k)
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
                if kind is not None and _bracket(pk) != kind:
                    return None
                kind = _bracket(pk)
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
        return lo, lo_incl, hi, hi_incl

    # -- find -------------------------------------------------------------------
    def find(self, class_name: str, where: dict, predicate: Predicate, *,
             order: Sequence[Tuple[str, bool]] = (), skip: int = 0,
             limit: Optional[int] = None, count: bool = False) -> Selection:
        """Matching objects ``[skip:skip+limit]`` (limit None: all), the count if
        asked, whether more matched past the page, and the path taken."""
        objects = self.classes.get(class_name) or {}
        skip = max(int(skip or 0), 0)
        near = matcher.near_spec(where) if not order else None
        acc = self.access(class_name, objects, where)
        note = acc.note
        total: Optional[int] = None
        if count and not where:
            total = len(objects)
            if limit == 0:
                return Selection([], total, False, note)
        elif count and acc.exact and len(where) == 1 and not next(iter(where)).startswith("$"):
            total = acc.count()  # the index answers the whole where exactly
            if limit == 0:
                return Selection([], total, False, note)
        if order and limit is not None and (not count or total is not None) \
                and "." not in order[0][0] and order[0][0] != "objectId":
            walked = self._walk(class_name, objects, where, predicate, order, skip, limit,
                                acc, len(objects))
            if walked is not None:
                walked.count = total
                return walked
        if near is not None and limit is not None and (not count or total is not None) \
                and "." not in near.field and (acc.ids is None or acc.size > _GEO_OVER):
            found = self._near(class_name, objects, predicate, near, skip + limit + 1)
            if found is not None:
                end = skip + limit
                return Selection(found[skip:end], total, len(found) > end, f"{near.field} (geo)")

        pool: Iterable[Any] = objects.values() if acc.ids is None else \
            map(objects.get, acc.ids())
        if order or near is not None or (count and total is None) or limit is None:
            matches = [o for o in pool if o is not None and predicate(o)]
            if count and total is None:
                total = len(matches)
            if order:
                matches = sort_objects(matches, order)
            elif near is not None:
                want = len(matches) if limit is None else skip + limit + 1
                matches.sort(key=_by_id)
                matches = heapq.nsmallest(want, matches, key=near.distance)
        else:
            want = skip + limit + 1
            matches = []
            for o in pool:
                if o is not None and predicate(o):
                    matches.append(o)
                    if len(matches) >= want:
                        break
        end = None if limit is None else skip + limit
        page = matches[skip:end]
        more = end is not None and len(matches) > end
        return Selection(page, total, more, note)

    def _near(self, class_name: str, objects: Dict[str, dict], predicate: Predicate,
              near: Any, want: int) -> Optional[List[dict]]:
        """The ``want`` nearest matches (ties by objectId), by widening a latitude band."""
        g = self.indexes(class_name).geo_index(near.field, objects)
        if not g.usable:
            return None
        n = len(g.items)
        lat0 = near.latitude
        width = max(0.05, 180.0 * (want / max(n, 1)) ** 0.5)
        prev = -1.0
        found: List[Tuple[float, str]] = []
        distance = near.distance
        while True:
            if prev < 0:
                slices = [g.band(lat0 - width, True, lat0 + width, True)]
            else:
                slices = [g.band(lat0 - width, True, lat0 - prev, False),
                          g.band(lat0 + prev, False, lat0 + width, True)]
            for part in slices:
                for _lat, oid in part:
                    obj = objects.get(oid)
                    if obj is not None and predicate(obj):
                        found.append((distance(obj), oid))
            if width >= 180.0:
                break
            if len(found) >= want:
                kth = heapq.nsmallest(want, found)[-1][0]
                if kth < width * _DEG:
                    break
            prev, width = width, min(width * 2.0, 180.0)
        best = heapq.nsmallest(want, found)
        return [objects[oid] for _d, oid in best]

    def _walk(self, class_name: str, objects: Dict[str, dict], where: dict,
              predicate: Predicate, order: Sequence[Tuple[str, bool]], skip: int, limit: int,
              acc: Access, total: int) -> Optional[Selection]:
        """Walk the first ORDER BY key's sorted index, stopping after the page.
        A range (or prefix) on that field bounds the walk: every match is inside it."""
        field, desc = order[0]
        want = skip + limit + 1
        matches_estimate = acc.size
        indexes = self.indexes(class_name)
        bounds = None
        span = total  # entries the walk may pass
        if acc.field == field and acc.bounds is not None:  # the access path is that range
            bounds, span = acc.bounds, acc.size
        elif field in indexes.sorted:  # (a range on the field has built it)
            for f, cond in conjuncts(where):
                if f == field and is_operator_object(cond):
                    bounds = self._bounds(field, cond)
                    if bounds is not None:
                        break
            if bounds is not None and indexes.sorted[field].usable:
                span = indexes.sorted[field].count(*bounds, exact=False)
        # Expected steps of the walk versus sorting every candidate.
        steps = want * span / max(matches_estimate, 1)
        if steps * _SORT_FACTOR > matches_estimate and matches_estimate < total:
            return None
        s: SortedIndex = indexes.sorted_index(field, objects)
        if not s.usable:
            return None
        if bounds is not None:
            walk_iter = s.range(*bounds, reverse=desc)
        else:
            walk_iter = s.items.irange(reverse=desc)
        note = f"{field} (sorted)"
        rest = order[1:]
        out: List[dict] = []
        run: List[dict] = []
        run_key: Any = _NOKEY
        # Entries with one key form a run; a run comes out in objectId order
        # (a descending walk meets it backwards), then by the other ORDER BY keys.
        for entry in walk_iter:
            k = entry[:-1]
            if k != run_key:
                if run:
                    if desc:
                        run.reverse()
                    out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
                    run = []
                    if len(out) >= want:
                        break
                run_key = k
            obj = objects.get(entry[-1])
            if obj is not None and predicate(obj):
                run.append(obj)
        else:
            if run:
                if desc:
                    run.reverse()
                out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
        end = skip + limit
        return Selection(out[skip:end], None, len(out) > end, note)


_DEG = 3.141592653589793 / 180.0


_NOKEY = object()


def _by_id(obj: dict) -> str:
    return obj.get("objectId", "")


def sort_objects(objects: List[dict], order: Sequence[Tuple[str, bool]]) -> List[dict]:
    """Objects in ORDER BY order, ties by objectId ascending."""
    objects = sorted(objects, key=_by_id)
    return matcher.order_objects(objects, [("-" if d else "") + f for f, d in order])


def _scalar(value: Any) -> bool:
    return value.__class__ in (str, int, float, bool)


def _hashable_value(value: Any) -> bool:
    """Values an equality index can key: scalars, typed values, arrays of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, dict):
        return value.get("__type") in ("Date", "Pointer", "GeoPoint", "File", "Bytes")
    if isinstance(value, list):
        return all(_hashable_value(v) for v in value)
    return False


def _bracket(key: tuple) -> int:
    """The type rank of a value key (keys of one type share it)."""
    return key[0]

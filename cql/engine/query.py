"""Running a find: pick an index, filter with the compiled where, order, page.

Why here and not in the matcher: the matcher says *whether* an object matches
and *how* objects sort; this module decides *which* objects to look at. It
splits the where into its top-level conjuncts (fields beside each other, and the
elements of a top-level ``$and``), asks the indexes how many candidates each
conjunct leaves, takes the smallest, and checks every candidate with the whole
compiled where, so an index never changes an answer, only its cost.

Order (decided): the ORDER BY keys, then objectId ascending as the last
tie-breaker, so results never depend on which index ran. objectIds are
MongoDB-style (seconds first), so ties come out roughly in creation order.
Without ORDER BY, objects come in creation order, except under ``$nearSphere``,
which sorts nearest first when no ORDER BY is given (an explicit ORDER BY
wins, as in MongoDB).
"""
from __future__ import annotations

import heapq
import re
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import matcher
from .indexes import ClassIndexes, SortedIndex, query_value

Predicate = Callable[[dict], bool]

_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}
_REGEX_META = set(".^$*+?{}[]\\|()")
# A walk along an ORDER BY index is preferred when it is expected to touch
# fewer objects than sorting every candidate would.
_SORT_FACTOR = 4


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


class Plan:
    """The access path chosen for one find."""

    __slots__ = ("ids", "walk", "note")

    def __init__(self, ids: Optional[Iterable[str]], walk: Optional[Iterable[Tuple[Any, str]]],
                 note: str):
        self.ids = ids      # candidate ids (None: every object of the class)
        self.walk = walk    # (key, id) in ORDER BY order, when walking an index
        self.note = note


class Finder:
    """Runs finds over a store's objects with the class's indexes."""

    def __init__(self, classes: Dict[str, Dict[str, dict]],
                 indexes: Callable[[str], ClassIndexes]):
        self.classes = classes
        self.indexes = indexes

    # -- access path --------------------------------------------------------
    def _candidates(self, class_name: str, objects: Dict[str, dict],
                    where: dict) -> Tuple[Optional[Iterable[str]], int, str]:
        """The cheapest index answer: (ids or None for all, size, note)."""
        best: Tuple[Optional[Iterable[str]], int, str] = (None, len(objects), "scan")
        idx = self.indexes(class_name)
        for field, cond in conjuncts(where):
            if "." in field:
                continue
            got = self._conjunct(idx, objects, field, cond)
            if got is not None and got[1] < best[1]:
                best = got
                if got[1] <= 1:
                    break
        return best

    def _conjunct(self, idx: ClassIndexes, objects: Dict[str, dict], field: str,
                  cond: Any) -> Optional[Tuple[Iterable[str], int, str]]:
        if field == "objectId":
            if isinstance(cond, str):
                return ([cond] if cond in objects else []), 1, "objectId (hash)"
            if isinstance(cond, dict) and isinstance(cond.get("$in"), list) \
                    and all(isinstance(v, str) for v in cond["$in"]):
                ids = [v for v in dict.fromkeys(cond["$in"]) if v in objects]
                return ids, len(ids), "objectId (hash)"
            return None
        if not _is_operator(cond):
            if cond is None or not _hashable_value(cond):
                return None
            h = idx.hash_index(field, objects)
            ids = h.lookup(cond)
            return ids, len(ids), f"{field} (hash)"
        if not isinstance(cond, dict):
            return None
        if "$in" in cond:
            values = cond["$in"]
            if isinstance(values, list) and values and \
                    all(v is not None and _hashable_value(v) for v in values):
                h = idx.hash_index(field, objects)
                ids: set = set()
                for v in values:
                    ids |= h.lookup(v)
                return ids, len(ids), f"{field} (hash)"
        if "$eq" in cond and cond["$eq"] is not None and _hashable_value(cond["$eq"]):
            h = idx.hash_index(field, objects)
            ids = h.lookup(cond["$eq"])
            return ids, len(ids), f"{field} (hash)"
        bounds = self._bounds(field, cond)
        if bounds is not None:
            s = idx.sorted_index(field, objects)
            if not s.usable:
                return None
            lo, lo_incl, hi, hi_incl = bounds
            n = s.count(lo, lo_incl, hi, hi_incl)
            return _ids(s.range(lo, lo_incl, hi, hi_incl)), n, f"{field} (sorted)"
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
                    return None  # e.g. > 1 and < 'a': nothing matches; let the scan say so
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
        """Matching objects ``[skip:skip+limit]`` in order (limit None: all), the
        count if asked, whether more matched past the page, and the path taken."""
        objects = self.classes.get(class_name) or {}
        skip = max(int(skip or 0), 0)
        near = matcher.near_spec(where) if not order else None
        ids, size, note = self._candidates(class_name, objects, where)

        if order and limit is not None and not count and "." not in order[0][0] \
                and order[0][0] != "objectId":
            walked = self._walk(class_name, objects, predicate, order, skip, limit, size, len(objects))
            if walked is not None:
                return walked

        if ids is None:
            pool: Iterable[dict] = objects.values()
        else:
            get = objects.get
            pool = (o for o in (get(i) for i in ids) if o is not None)
        matches = [o for o in pool if predicate(o)]
        total = len(matches) if count else None
        if order:
            matches = sort_objects(matches, order)
        elif near is not None:
            want = len(matches) if limit is None else skip + limit + 1
            matches.sort(key=_by_id)
            matches = heapq.nsmallest(want, matches, key=near.distance)
        elif ids is not None:
            matches.sort(key=_by_id)
        end = None if limit is None else skip + limit
        page = matches[skip:end]
        more = end is not None and len(matches) > end
        return Selection(page, total, more, note)

    def _walk(self, class_name: str, objects: Dict[str, dict], predicate: Predicate,
              order: Sequence[Tuple[str, bool]], skip: int, limit: int,
              matches_estimate: int, total: int) -> Optional[Selection]:
        """Walk the first ORDER BY key's sorted index, stopping after the page."""
        field, desc = order[0]
        want = skip + limit + 1
        # Expected steps of the walk versus sorting every candidate.
        steps = want * total / max(matches_estimate, 1)
        if steps * _SORT_FACTOR > matches_estimate and matches_estimate < total:
            return None
        s: SortedIndex = self.indexes(class_name).sorted_index(field, objects)
        if not s.usable:
            return None
        walk_iter = _ties_by_id(s.items.irange(reverse=desc), desc)
        note = f"{field} (sorted)"
        rest = order[1:]
        out: List[dict] = []
        run: List[dict] = []
        run_key: Any = _NOKEY
        for k, oid in walk_iter:
            if k != run_key:
                if run:
                    out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
                    run = []
                    if len(out) >= want:
                        break
                run_key = k
            obj = objects.get(oid)
            if obj is not None and predicate(obj):
                run.append(obj)
        else:
            if run:
                out.extend(sort_objects(run, rest) if rest and len(run) > 1 else run)
        end = skip + limit
        return Selection(out[skip:end], None, len(out) > end, note)


_NOKEY = object()


def _ties_by_id(items: Iterable[Tuple[Any, str]], desc: bool) -> Iterable[Tuple[Any, str]]:
    """Descending walks reverse the index, which would reverse ties too; put
    each run of equal keys back in ascending objectId order."""
    if not desc:
        return items
    return _reorder_runs(items)


def _reorder_runs(items: Iterable[Tuple[Any, str]]) -> Iterable[Tuple[Any, str]]:
    run: List[Tuple[Any, str]] = []
    for item in items:
        if run and item[0] != run[0][0]:
            yield from reversed(run)
            run = []
        run.append(item)
    yield from reversed(run)


def _by_id(obj: dict) -> str:
    return obj.get("objectId", "")


def sort_objects(objects: List[dict], order: Sequence[Tuple[str, bool]]) -> List[dict]:
    """Objects in ORDER BY order, ties by objectId ascending."""
    objects = sorted(objects, key=_by_id)
    return matcher.order_objects(objects, [("-" if d else "") + f for f, d in order])


def _ids(items: Iterable[Tuple[Any, str]]) -> Iterable[str]:
    return [oid for _, oid in items]


def _is_operator(cond: Any) -> bool:
    return isinstance(cond, dict) and "__type" not in cond and \
        any(k.startswith("$") for k in cond)


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


def first(iterable: Iterable[Any], n: int) -> List[Any]:
    return list(islice(iterable, n))

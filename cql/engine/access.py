"""Access paths: which objects a find looks at, and which indexes it wants.

The where splits into its top-level conjuncts (fields beside each other, and
the elements of a top-level ``$and``); for each, the persistent indexes
(indexes.py) say which candidates it leaves: objectId (hash); equality,
``$in``, ``$all`` (hash: one key or a few); ranges and anchored ``$regex``
prefixes (sorted: a key range, refused while the field holds arrays, where a
range over elements is not a range over arrays); ``$within`` (geo: a
latitude band). Candidates are counted only to choose between paths, lazily
and up to ``ESTIMATE_CAP``: counting a large range would cost more than the
ORDER BY + LIMIT walk through it. The path only narrows; the compiled where
decides (query.py).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from ..plan import is_operator_object
from . import matcher
from .indexes import GEO, KEY, GeoIndex, KeyIndex, query_value
from .keys import encode, value_bytes
from .project import conjuncts

RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}
_REGEX_META = set(".^$*+?{}[]\\|()")
# Candidates are counted this far to choose a path (see Paths.access).
ESTIMATE_CAP = 1000
# An ORDER BY field's index is wanted when the class has more objects than
# this many times the rows asked for (below that, sorting them all is cheap).
SORT_FACTOR = 4
_DEG = 3.141592653589793 / 180.0


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
        """The exact number of candidates (counted once: no estimate first)."""
        if self._size is None and self.counter is not None:
            return self.counter()
        return self.size if self.counter is None else self.counter()


class Paths:
    """The access paths of one store's classes (inside its transaction)."""

    def __init__(self, store: Any):
        self.store = store

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
            elif indexable(field, cond):
                out.append((field, KEY))
        if order and limit is not None:
            field = order[0][0]
            if "." not in field and field != "objectId" and \
                    self.store.count(class_name) > (skip + limit + 1) * SORT_FACTOR:
                out.append((field, KEY))
        return list(dict.fromkeys(out))

    def key_index(self, class_name: str, field: str) -> Optional[KeyIndex]:
        idx = self.store.indexes.get(class_name, field, KEY)
        return None if idx is None else KeyIndex(self.store.db, idx)

    def geo_index(self, class_name: str, field: str) -> Optional[GeoIndex]:
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
        idx = self.key_index(class_name, field)
        if idx is None:
            return None
        note = f"{field} (hash)"
        if not is_operator_object(cond):
            if cond is None or not hashable_value(cond):
                return None
            return self._one_key(idx, note, value_bytes(query_value(field, cond)), is_scalar(cond))
        if not isinstance(cond, dict):
            return None
        if "$in" in cond:
            values = cond["$in"]
            if isinstance(values, list) and values and \
                    all(v is not None and hashable_value(v) for v in values):
                keys = list(dict.fromkeys(value_bytes(query_value(field, v)) for v in values))

                def estimate(cap: int) -> int:
                    size = 0
                    for k in keys:
                        size += idx.count_key(k, cap + 1)  # type: ignore[union-attr]
                        if size > cap:
                            break
                    return size
                return Access("keys", None, note, len(cond) == 1 and all(is_scalar(v) for v in values),
                              lambda: idx.count_keys(keys, distinct=True), field, idx, keys=keys,  # type: ignore
                              estimator=estimate)
        if "$all" in cond:
            values = cond["$all"]
            if isinstance(values, list) and values and \
                    all(v is not None and hashable_value(v) for v in values):
                sized = [(idx.count_key(k, ESTIMATE_CAP + 1), k) for k in
                         dict.fromkeys(value_bytes(query_value(field, v)) for v in values)]
                size, key = min(sized)  # holds every match
                return Access("keys", size, note, False, None, field, idx, keys=(key,))
        if "$eq" in cond and cond["$eq"] is not None and hashable_value(cond["$eq"]):
            return self._one_key(idx, note, value_bytes(query_value(field, cond["$eq"])),
                                 len(cond) == 1 and is_scalar(cond["$eq"]))
        bounds = self.bounds(field, cond)
        if bounds is not None:
            if idx.has_arrays():
                return None  # a range over elements is not a range over arrays
            exact = all(op in RANGE_OPS for op in cond)
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
        g = self.geo_index(class_name, field)
        if g is None or not g.usable():
            return None
        band = _within_band(cond.get("$within", cond.get("$geoWithin")))
        if band is None:
            return None
        lo, hi = band
        return Access("band", None, f"{field} (geo)", field=field, bounds=(lo, True, hi, True),
                      index=g, estimator=lambda cap: g.count_band(lo, hi, cap + 1))  # type: ignore[arg-type]

    def bounds(self, field: str, cond: dict) -> Optional[Bounds]:
        """Key bounds (bytes) of a range or prefix condition, within one type's bracket."""
        key = matcher.value_key
        lo = hi = None
        lo_incl = hi_incl = True
        kind = None
        for op, value in cond.items():
            if op in RANGE_OPS:
                if value is None or not hashable_value(value) or isinstance(value, list):
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


def indexable(field: str, cond: Any) -> bool:
    """Could an index on ``field`` narrow this condition?"""
    if not is_operator_object(cond):
        return cond is not None and hashable_value(cond)
    if not isinstance(cond, dict):
        return False
    for op, value in cond.items():
        if op in ("$in", "$all") and isinstance(value, list) and value and \
                all(v is not None and hashable_value(v) for v in value):
            return True
        if op == "$eq" and value is not None and hashable_value(value):
            return True
        if op in RANGE_OPS and value is not None and hashable_value(value) and not isinstance(value, list):
            return True
        if op == "$regex" and regex_prefix(value, cond.get("$options")) is not None:
            return True
    return False


def is_scalar(value: Any) -> bool:
    return value.__class__ in (str, int, float, bool)


def hashable_value(value: Any) -> bool:
    """Values an equality index can key: scalars, typed values, arrays of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and value != value:
            return False
        return True
    if isinstance(value, dict):
        return value.get("__type") in ("Date", "Pointer", "GeoPoint", "File", "Bytes")
    if isinstance(value, list):
        return all(hashable_value(v) for v in value)
    return False

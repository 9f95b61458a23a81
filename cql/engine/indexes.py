"""Per-field indexes of one class: hash (equality, ``$in``) and sorted (ranges,
ORDER BY + LIMIT), built on a field's first indexed query and kept up to date
on every write after that.

An index only narrows the candidates; the executor still checks every
candidate with the compiled where, so an index must return a superset of the
matches, never miss one. That is why array values are indexed under the whole
array *and* each element (``=`` on an array field means "contains"), and why a
sorted index refuses ranges and ordering once its field holds an array
(MongoDB's array ordering rules are left to the matcher's sort).

Keys come from the matcher's ``value_key`` (MongoDB type order), so a sorted
index walks objects in exactly the order ``ORDER BY`` gives. A missing field is
indexed under the key of null (MongoDB sorts missing like null).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ..names import DATE_FIELDS
from .sortedlist import SortedList
from .values import array_keys, plain_value_key

_MISSING = object()

KeyFn = Callable[[Any], Any]
_BULK = 64  # inserts at least this many go into sorted structures as one merge


def field_value(obj: dict, field: str) -> Any:
    """The value an index sees: createdAt/updatedAt (plain ISO strings) as Dates."""
    value = obj.get(field, _MISSING)
    if value.__class__ is str and field in DATE_FIELDS:
        return {"__type": "Date", "iso": value}
    return value


def unchanged(field: str, old: Optional[dict], new: Optional[dict]) -> bool:
    """Did an update leave ``field`` as it was? (ops copy only what they change,
    so an untouched value is the very same object.)"""
    if old is None or new is None:
        return False
    a, b = old.get(field, _MISSING), new.get(field, _MISSING)
    if a is b:
        return True
    c = a.__class__
    return c is b.__class__ and (c is str or c is int or c is float) and a == b


def query_value(field: str, value: Any) -> Any:
    """A where value as the index sees it (same rule as ``field_value``)."""
    if value.__class__ is str and field in DATE_FIELDS:
        return {"__type": "Date", "iso": value}
    return value


class FieldIndex:
    """What every per-field index offers the class's index set."""

    def change(self, oid: str, old: Optional[dict], new: Optional[dict]) -> None:
        raise NotImplementedError

    def change_many(self, changes: List[Tuple[str, Optional[dict], Optional[dict]]]) -> None:
        for oid, old, new in changes:
            self.change(oid, old, new)


class HashIndex(FieldIndex):
    """value key -> objectIds. A bucket of one id is the id itself (saves a
    container per object on unique fields); bigger buckets are dicts, which keep
    ids in the order they were indexed (roughly creation order)."""

    kind = "hash"

    def __init__(self, field: str, key: KeyFn, objects: Dict[str, dict]):
        self.field = field
        self._key = key
        self.buckets: Dict[Any, Union[str, Dict[str, None]]] = {}
        for oid, obj in objects.items():
            self._add(oid, obj)

    def _keys(self, obj: dict) -> Iterable[Any]:
        value = field_value(obj, self.field)
        if value is _MISSING or value is None:
            return ()
        key = self._key
        if value.__class__ is list:
            out = {key(v) for v in value if v is not None}
            out.add(key(value))
            return out
        return (key(value),)

    def _add(self, oid: str, obj: dict) -> None:
        buckets = self.buckets
        for k in self._keys(obj):
            cur = buckets.get(k)
            if cur is None:
                buckets[k] = oid
            elif cur.__class__ is str:
                if cur != oid:
                    buckets[k] = {cur: None, oid: None}
            else:
                cur[oid] = None

    def _remove(self, oid: str, obj: dict) -> None:
        buckets = self.buckets
        for k in self._keys(obj):
            cur = buckets.get(k)
            if cur is None:
                continue
            if cur.__class__ is str:
                if cur == oid:
                    del buckets[k]
            else:
                cur.pop(oid, None)
                if len(cur) == 1:
                    buckets[k] = next(iter(cur))
                elif not cur:
                    del buckets[k]

    def change(self, oid: str, old: Optional[dict], new: Optional[dict]) -> None:
        if unchanged(self.field, old, new):
            return
        if old is not None and new is not None:
            ko, kn = self._keys(old), self._keys(new)
            if ko == kn:
                return  # same keys: the id keeps its place in its buckets
        if old is not None:
            self._remove(oid, old)
        if new is not None:
            self._add(oid, new)

    def add_many(self, items: List[Tuple[str, dict]]) -> None:
        """New objects (a bulk insert): ``_add`` inlined for plain scalar values."""
        if self.field in DATE_FIELDS:
            for oid, obj in items:
                self._add(oid, obj)
            return
        buckets = self.buckets
        get = buckets.get
        key = self._key
        field = self.field
        for oid, obj in items:
            value = obj.get(field)
            if value is None:  # missing or null: not indexed
                continue
            if value.__class__ is list:  # each element, and the whole array
                if key is plain_value_key:
                    keys, whole = array_keys(value)
                    keys.append(whole)  # repeats are harmless: an id is added once
                else:
                    keys = [key(v) for v in value if v is not None]
                    keys.append(key(value))
                for k in keys:
                    cur = get(k)
                    if cur is None:
                        buckets[k] = oid
                    elif cur.__class__ is str:
                        if cur != oid:
                            buckets[k] = {cur: None, oid: None}
                    else:
                        cur[oid] = None
                continue
            k = key(value)
            cur = get(k)
            if cur is None:
                buckets[k] = oid
            elif cur.__class__ is str:
                if cur != oid:
                    buckets[k] = {cur: None, oid: None}
            else:
                cur[oid] = None

    def lookup(self, value: Any) -> Iterable[str]:
        """Ids whose field equals or contains ``value`` (a superset), in bucket order."""
        cur = self.buckets.get(self._key(query_value(self.field, value)))
        if cur is None:
            return ()
        return (cur,) if cur.__class__ is str else cur

    def size(self, value: Any) -> int:
        cur = self.buckets.get(self._key(query_value(self.field, value)))
        if cur is None:
            return 0
        return 1 if cur.__class__ is str else len(cur)


class GeoIndex(FieldIndex):
    """(latitude, objectId) of every object whose field is a GeoPoint.

    Why latitude alone: the latitude difference of two points is a lower bound
    of their great-circle distance, so the k nearest points can be found by
    widening a latitude band until the k-th best distance is inside it."""

    kind = "geo"

    def __init__(self, field: str, objects: Dict[str, dict]):
        self.field = field
        self.arrays = 0
        items = []
        for oid, obj in objects.items():
            lat = self._lat(obj)
            if lat is not None:
                items.append((lat, oid))
        self.items = SortedList(items)

    def _lat(self, obj: dict, count: int = 1) -> Optional[float]:
        value = obj.get(self.field)
        if value.__class__ is list:
            self.arrays += count
            return None
        if value.__class__ is dict and value.get("__type") == "GeoPoint":
            lat = value.get("latitude")
            if lat.__class__ in (int, float):
                return float(lat)
        return None

    @property
    def usable(self) -> bool:
        return self.arrays == 0

    def change(self, oid: str, old: Optional[dict], new: Optional[dict]) -> None:
        if unchanged(self.field, old, new) or (
                old is not None and new is not None and old.get(self.field) == new.get(self.field)):
            return
        if old is not None:
            lat = self._lat(old, -1)
            if lat is not None:
                self.items.discard((lat, oid))
        if new is not None:
            lat = self._lat(new)
            if lat is not None:
                self.items.add((lat, oid))

    def add_many(self, items: List[Tuple[str, dict]]) -> None:
        """New objects (a bulk insert): one merge into the sorted list."""
        if len(items) < _BULK:
            for oid, obj in items:
                self.change(oid, None, obj)
            return
        entries = []
        field = self.field
        for oid, obj in items:
            value = obj.get(field)
            if value.__class__ is dict:
                if value.get("__type") == "GeoPoint":
                    lat = value.get("latitude")
                    if lat.__class__ is float:
                        entries.append((lat, oid))
                    elif lat.__class__ is int:
                        entries.append((float(lat), oid))
            elif value.__class__ is list:
                self.arrays += 1
        self.items.update(entries)

    def band(self, lo: float, lo_incl: bool, hi: float, hi_incl: bool) -> Iterator[Tuple[float, str]]:
        lo_b = (lo,) if lo_incl else (lo, _MAX)
        hi_b = (hi, _MAX) if hi_incl else (hi,)
        return self.items.irange(lo_b, True, hi_b, False)


class SortedIndex(FieldIndex):
    """Every object of the class as (value key..., objectId), in order. Keys are
    the matcher's value keys (type rank first), flattened so comparisons stay
    shallow."""

    kind = "sorted"

    def __init__(self, field: str, key: KeyFn, objects: Dict[str, dict]):
        self.field = field
        self._key = key
        self.arrays = 0  # objects whose value is an array: no ranges/ordering then
        self._null = key(None)
        items = []
        arrays = 0
        for oid, obj in objects.items():
            value = field_value(obj, field)
            if value is _MISSING or value is None:
                items.append(self._null + (oid,))
            else:
                if value.__class__ is list:
                    arrays += 1
                items.append(key(value) + (oid,))
        self.arrays = arrays
        self.items = SortedList(items)

    def _key_of(self, obj: dict) -> Tuple[Any, bool]:
        """(value key, is an array) of an object's field."""
        value = field_value(obj, self.field)
        if value is _MISSING or value is None:
            return self._null, False
        return self._key(value), value.__class__ is list

    @property
    def usable(self) -> bool:
        return self.arrays == 0

    def change(self, oid: str, old: Optional[dict], new: Optional[dict]) -> None:
        if unchanged(self.field, old, new):
            return
        ko = self._key_of(old) if old is not None else None
        kn = self._key_of(new) if new is not None else None
        if ko is not None and ko == kn:
            return  # the field did not change: the entry stays
        if ko is not None:
            self.arrays -= ko[1]
            self.items.discard(ko[0] + (oid,))
        if kn is not None:
            self.arrays += kn[1]
            self.items.add(kn[0] + (oid,))

    def add_many(self, items: List[Tuple[str, dict]]) -> None:
        """New objects (a bulk insert): one merge into the sorted list."""
        if len(items) < _BULK:
            for oid, obj in items:
                self.change(oid, None, obj)
            return
        entries = []
        append = entries.append
        if self.field in DATE_FIELDS:
            key_of = self._key_of
            for oid, obj in items:
                k, is_list = key_of(obj)
                self.arrays += is_list
                append(k + (oid,))
        else:
            key = self._key
            null = self._null
            field = self.field
            arrays = 0
            for oid, obj in items:
                value = obj.get(field)
                if value is None:  # missing or null
                    append(null + (oid,))
                else:
                    if value.__class__ is list:
                        arrays += 1
                    append(key(value) + (oid,))
            self.arrays += arrays
        self.items.update(entries)

    def range(self, lo: Any, lo_incl: bool, hi: Any, hi_incl: bool,
              reverse: bool = False) -> Iterator[tuple]:
        """Entries (key..., objectId) between two keys. An entry is the key tuple
        with the id appended, so ``key`` sorts before every entry of that key and
        ``key + (MAX,)`` after all of them."""
        lo_b = None if lo is None else (lo if lo_incl else lo + (_MAX,))
        hi_b = None if hi is None else (hi + (_MAX,) if hi_incl else hi)
        return self.items.irange(lo_b, True, hi_b, False, reverse)

    def count(self, lo: Any, lo_incl: bool, hi: Any, hi_incl: bool, exact: bool = True) -> int:
        """Entries between two keys (``exact=False``: an estimate, see SortedList)."""
        lo_b = None if lo is None else (lo if lo_incl else lo + (_MAX,))
        hi_b = None if hi is None else (hi + (_MAX,) if hi_incl else hi)
        return self.items.count_between(lo_b, True, hi_b, False, exact)


# Greater than every objectId: (key, _MAX) sorts after every entry of key.
_MAX = "\U0010ffff" * 4


class ClassIndexes:
    """The indexes of one class, kept current through ``change``."""

    def __init__(self, key: KeyFn):
        self._key = key
        self.hash: Dict[str, HashIndex] = {}
        self.sorted: Dict[str, SortedIndex] = {}
        self.geo: Dict[str, GeoIndex] = {}
        self._all: List[Any] = []  # every index above, in the order they were built

    def change(self, oid: str, old: Optional[dict], new: Optional[dict]) -> None:
        """One object changed: only the indexes of fields it changed are touched."""
        if old is not None and new is not None:
            for idx in self._all:
                field = idx.field
                if old.get(field, _MISSING) is not new.get(field, _MISSING):
                    idx.change(oid, old, new)
                # else: ops copy only what they change: same value, same entry
            return
        for idx in self._all:
            idx.change(oid, old, new)

    def change_many(self, changes: List[Tuple[str, Optional[dict], Optional[dict]]]) -> None:
        """Apply a statement's changes; new objects only (an insert) go in bulk."""
        indexes = self._all
        if not indexes:
            return
        if len(changes) > 1 and all(old is None and new is not None for _oid, old, new in changes):
            added = [(oid, new) for oid, _old, new in changes]
            for idx in indexes:
                idx.add_many(added)  # type: ignore[arg-type]
            return
        for idx in indexes:
            idx.change_many(changes)  # type: ignore[arg-type]

    def _built(self, table: Dict[str, Any], field: str, make: Callable[[], Any]) -> Any:
        """The index of ``field`` in ``table``, built on first use."""
        idx = table.get(field)
        if idx is None:
            idx = table[field] = make()
            self._all.append(idx)
        return idx

    def hash_index(self, field: str, objects: Dict[str, dict]) -> HashIndex:
        return self._built(self.hash, field, lambda: HashIndex(field, self._key, objects))

    def sorted_index(self, field: str, objects: Dict[str, dict]) -> SortedIndex:
        return self._built(self.sorted, field, lambda: SortedIndex(field, self._key, objects))

    def geo_index(self, field: str, objects: Dict[str, dict]) -> GeoIndex:
        return self._built(self.geo, field, lambda: GeoIndex(field, objects))

    def describe(self) -> List[str]:
        return ([f"{f} (hash)" for f in self.hash] + [f"{f} (sorted)" for f in self.sorted]
                + [f"{f} (geo)" for f in self.geo])

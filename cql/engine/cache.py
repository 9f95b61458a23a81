"""Decoded objects kept between statements, within a memory budget.

The file is the database; this is only a cache, so it may always be emptied
(store.py does, for a class, whenever another connection wrote to it, and for
every class a failed transaction touched). Entries are the store's private
dicts: callers get copies.

Per class: its objects by id, least recently used first, and a ``complete``
flag: the whole class is here, in objectId order, so a scan of a small hot
class runs from memory as fast as the in-memory engine did. A class loses
the flag when one of its objects is evicted or an id arrives out of order.

Costs are estimates (``cost`` = bytes of the object's JSON text times a factor
measured for decoded CPython dicts); the budget is the connection option
``cache_mb``. When over it, whole classes go first, least recently used
first, then the oldest objects of the class in use.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

# A decoded JSON object takes about this many bytes per byte of its text
# (CPython 3.11, GameScore-like objects: dicts, short strings, small ints).
DECODED_FACTOR = 5
ENTRY_OVERHEAD = 120


def cost_of(text_length: int) -> int:
    return ENTRY_OVERHEAD + DECODED_FACTOR * text_length


class ClassCache:
    __slots__ = ("objects", "costs", "complete", "cost")

    def __init__(self) -> None:
        self.objects: Dict[str, dict] = {}
        self.costs: Dict[str, int] = {}
        self.complete = False
        self.cost = 0


class ObjectCache:
    def __init__(self, limit_bytes: int):
        self.limit = max(int(limit_bytes), 0)
        self.classes: Dict[str, ClassCache] = {}  # least recently used class first
        self.cost = 0

    # -- reading ------------------------------------------------------------------
    def of(self, cls: str) -> ClassCache:
        """The cache of a class (marked as most recently used)."""
        cc = self.classes.pop(cls, None)
        if cc is None:
            cc = ClassCache()
        self.classes[cls] = cc
        return cc

    def peek(self, cls: str) -> Optional[ClassCache]:
        return self.classes.get(cls)

    def complete(self, cls: str) -> Optional[Dict[str, dict]]:
        """id -> object of the whole class, in objectId order, when all of it is here."""
        cc = self.classes.get(cls)
        return cc.objects if cc is not None and cc.complete else None

    # -- filling -----------------------------------------------------------------
    def put(self, cc: ClassCache, oid: str, obj: dict, cost: int) -> None:
        old = cc.costs.pop(oid, None)
        if old is not None:
            cc.cost -= old
            self.cost -= old
            if not cc.complete:  # re-inserted below, at the young end
                del cc.objects[oid]
        elif cc.complete and cc.objects and oid < next(reversed(cc.objects)):
            cc.complete = False  # an id out of order: a scan could not rely on id order
        if cost > self.limit:
            cc.objects.pop(oid, None)
            cc.complete = False
            return
        cc.objects[oid] = obj
        cc.costs[oid] = cost
        cc.cost += cost
        self.cost += cost
        if self.cost > self.limit:
            self._shrink(cc)

    def fill(self, cls: str, items: Iterable[Tuple[str, dict, int]]) -> bool:
        """Cache a whole class (``items`` in objectId order); False when it did
        not fit (then nothing of it is kept as complete)."""
        cc = ClassCache()
        total = 0
        for oid, obj, cost in items:
            cc.objects[oid] = obj
            cc.costs[oid] = cost
            total += cost
        if total > self.limit // 2:
            return False
        old = self.classes.pop(cls, None)
        if old is not None:
            self.cost -= old.cost
        cc.cost = total
        cc.complete = True
        self.classes[cls] = cc
        self.cost += total
        if self.cost > self.limit:
            self._shrink(cc)
        return cc.complete

    def _shrink(self, keep: ClassCache) -> None:
        for name in list(self.classes):
            if self.cost <= self.limit:
                return
            cc = self.classes[name]
            if cc is not keep:
                self.cost -= cc.cost
                del self.classes[name]
        objects, costs = keep.objects, keep.costs
        while self.cost > self.limit and objects:
            oid = next(iter(objects))
            del objects[oid]
            c = costs.pop(oid)
            keep.cost -= c
            self.cost -= c
            keep.complete = False

    # -- changes -----------------------------------------------------------------
    def apply(self, changes: List[Tuple[str, str, Optional[dict], int]], created: bool = False) -> None:
        """Committed changes: (class, id, new object or None, cost). Only classes
        already cached are updated; new objects of a complete class join it."""
        for cls, oid, new, cost in changes:
            cc = self.classes.get(cls)
            if cc is None:
                continue
            if new is None:
                c = cc.costs.pop(oid, None)
                if c is not None:
                    del cc.objects[oid]
                    cc.cost -= c
                    self.cost -= c
            elif oid in cc.objects or cc.complete:
                self.put(cc, oid, new, cost)

    def drop(self, cls: str) -> None:
        cc = self.classes.pop(cls, None)
        if cc is not None:
            self.cost -= cc.cost

    def clear(self) -> None:
        self.classes.clear()
        self.cost = 0

"""Ordering REST JSON objects the MongoDB way: ``order_objects``, ``order_key``,
``sort_key``, ``path_keys``, ``parse_order``. Import them from
``cql.engine.matcher`` (the stable API).

An object's sort key is the one MongoDB's sort stage uses: the keys a
compound index on the ORDER BY fields would hold for the object (its
BtreeKeyGenerator), of which the first in ORDER BY order wins. So an array
sorts by its smallest element ascending and its largest descending, ``[]``
before null, and paths under the same array take their values from one
element at a time (``order by a.c, a.b`` on ``a: [{b: 4, c: 1}, {b: 1, c: 2}]``
is ``(1, 4)``, never ``(1, 1)``). Where MongoDB refuses to sort (two different
arrays on the ORDER BY paths of one object: "parallel arrays"), each array
counts on its own (decided): every combination of their elements is a
candidate key.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .values import DATE_FIELDS, EMPTY_ARRAY_KEY, MISSING, date_key, plain_value_key, query_error

__all__ = ["parse_order", "sort_key", "order_key", "order_objects", "path_keys"]

Key = tuple

_NULL = plain_value_key(None)
# The key of an empty array where a path ends: MongoDB keys it as BSON
# undefined, which sorts before null.
_UNDEFINED = EMPTY_ARRAY_KEY


def parse_order(order: Union[str, Sequence[str], None]) -> List[Tuple[str, bool]]:
    """'-score,name' (or ['-score', 'name']) -> [('score', True), ('name', False)]."""
    if not order:
        return []
    items = [order] if isinstance(order, str) else list(order)
    out: List[Tuple[str, bool]] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            desc = part.startswith("-")
            name = part[1:].strip() if part[0] in "+-" else part
            if not name:
                raise query_error(f"invalid order {item!r}: a field name is missing")
            out.append((name, desc))
    return out


# --------------------------------------------------------------------------- one top-level field

def _top_level_key(field: str, descending: bool) -> Callable[[dict], Key]:
    """The key of a field that is not a dotted path: no other ORDER BY path can
    share its arrays, so an array simply gives its smallest (largest) element."""
    date_field = field in DATE_FIELDS
    pick = max if descending else min

    def key(o: dict) -> Key:
        v = o.get(field, MISSING)
        c = v.__class__
        if c is str:
            if not date_field:
                return (3, v)
            if len(v) == 24 and v[23] == "Z" and v[10] == "T" and v[19] == ".":
                return (9, v)
            return date_key(v)
        if c is int or c is float:
            return (2, v)
        if c is list:
            if not v:
                return _UNDEFINED
            return pick([plain_value_key(e) for e in v])
        return plain_value_key(v)
    return key


# --------------------------------------------------------------------------- paths sharing arrays

def _reach(v: Any, parts: Tuple[str, ...], j: int) -> Tuple[Any, int]:
    """Follow ``parts[j:]`` through objects from ``v``: (value, len(parts)) at
    the end, (MISSING, len(parts)) when absent (or a non-object is in the way),
    or (array, k) at the first array met, with ``parts[k:]`` still to go."""
    n = len(parts)
    while j < n:
        if v.__class__ is not dict:
            return MISSING, n
        v = v.get(parts[j], MISSING)
        if v is MISSING:
            return MISSING, n
        j += 1
        if v.__class__ is list:
            return v, j
    return v, n


def _index(part: str, size: int) -> Optional[int]:
    """The array position a path segment names ('0', '12'; not '01'), if in range."""
    if part.isdigit() and (part == "0" or part[0] != "0"):
        i = int(part)
        if i < size:
            return i
    return None


class _Paths:
    """Best key of an object over several dotted paths (MongoDB's
    BtreeKeyGenerator, then the first key in ORDER BY order).

    A component's state is ``(context, j, reached)``: continue ``parts[j:]``
    from the object ``context``, unless ``reached`` already holds where an
    array position led it (``(value, k, nested)``)."""

    def __init__(self, paths: Sequence[str], descending: Sequence[bool]):
        self.parts = [tuple(p.split(".")) for p in paths]
        if any(not s for parts in self.parts for s in parts):
            bad = next(p for p in paths if any(not s for s in p.split(".")))
            raise query_error(f"invalid field path {bad!r}: empty segment")
        self.desc = tuple(descending)
        self.dates = [len(p) == 1 and p[0] in DATE_FIELDS for p in self.parts]

    def key(self, obj: dict) -> Key:
        out: List[Key] = [_NULL] * len(self.parts)
        self._fill([(i, (obj, 0, None)) for i in range(len(self.parts))], out)
        return tuple(out)

    def _leaf(self, i: int, v: Any) -> Key:
        if self.dates[i] and v.__class__ is str:
            return date_key(v)
        return plain_value_key(v)

    def _fill(self, items: List[Tuple[int, tuple]], out: List[Key]) -> None:
        """Write the best keys of components ``items`` into ``out``. Components
        on different arrays are independent, so each array is chosen over alone."""
        groups: Dict[int, Tuple[list, list]] = {}
        for i, (context, j, reached) in items:
            if reached is None:
                v, k = _reach(context, self.parts[i], j)
                nested = False
            else:
                v, k, nested = reached
            if v is MISSING:
                out[i] = _NULL
            elif v.__class__ is list:
                group = groups.get(id(v))
                if group is None:
                    group = groups[id(v)] = (v, [])
                group[1].append((i, k, nested))
            else:
                out[i] = self._leaf(i, v)
        for array, members in groups.values():
            self._expand(array, members, out)

    def _expand(self, array: list, members: List[Tuple[int, int, bool]], out: List[Key]) -> None:
        """One element of ``array`` at a time gives each member a key; keep the best."""
        parts = self.parts
        if not array:
            for i, k, _ in members:
                out[i] = _UNDEFINED if k == len(parts[i]) else _NULL
            return
        # An array reached through an array position ('a.0' on [[1]]) is one value.
        whole = any(nested for _, _, nested in members)
        leaves = [i for i, k, _ in members if k == len(parts[i])]
        deeper = []
        for i, k, _ in members:
            if k == len(parts[i]):
                continue
            at = _index(parts[i][k], len(array))
            reached = None
            if at is not None:  # 'a.1.b': that element, whichever element is being keyed
                e = array[at]
                if e.__class__ is list:
                    reached = (e, k + 1, True)
                else:
                    v, k2 = (e, k + 1) if k + 1 == len(parts[i]) else _reach(e, parts[i], k + 1)
                    reached = (v, k2, False)
            deeper.append((i, k, reached))
        order = sorted(i for i, _, _ in members)
        desc = [self.desc[i] for i in order]
        best: Optional[Key] = None
        for e in array:
            for i in leaves:
                out[i] = self._leaf(i, array if whole else e)
            if deeper:
                context = e if e.__class__ is dict else {}
                self._fill([(i, (context, k, reached)) for i, k, reached in deeper], out)
            candidate = tuple([out[i] for i in order])
            if best is None or _before(candidate, best, desc):
                best = candidate
        for i, k in zip(order, best):  # type: ignore[arg-type]
            out[i] = k


def _before(a: Key, b: Key, desc: Sequence[bool]) -> bool:
    """Does key ``a`` come before ``b`` in ORDER BY order?"""
    for x, y, d in zip(a, b, desc):
        if x != y:
            return x > y if d else x < y
    return False


# --------------------------------------------------------------------------- one path

def path_keys(path: str) -> Callable[[dict], List[Key]]:
    """Every key a one-field MongoDB index on ``path`` holds for an object (its
    multikey entries, repeats kept): each element of an array the path ends on
    (an array inside it is one value; ``[]`` gives the key of undefined, before
    null), null where the path is missing or meets a non-object, and, through
    an array, the keys of each element in turn. A sort by ``path`` alone takes
    the smallest (ascending) or largest (descending) of them."""
    parts = tuple(path.split("."))
    if any(not p for p in parts):
        raise query_error(f"invalid field path {path!r}: empty segment")
    n = len(parts)
    date_field = path in DATE_FIELDS

    def collect(v: Any, j: int, out: List[Key]) -> None:
        """Keys of ``parts[j:]`` from the object ``v``."""
        v, j = _reach(v, parts, j)
        while True:  # v was reached with parts[j:] still to go
            if v is MISSING:
                out.append(_NULL)
                return
            if v.__class__ is not list:
                out.append(plain_value_key(v))
                return
            if j == n:  # the path ends on an array: each element is a key
                if v:
                    out.extend([plain_value_key(e) for e in v])
                else:
                    out.append(_UNDEFINED)
                return
            if not v:
                out.append(_NULL)
                return
            at = _index(parts[j], len(v))
            if at is None:
                for e in v:
                    if e.__class__ is dict:
                        collect(e, j, out)
                    else:
                        out.append(_NULL)
                return
            e = v[at]  # 'a.1.b': that element only
            if j + 1 == n:  # an array at that position is one value
                out.append(_UNDEFINED if e.__class__ is list and not e else plain_value_key(e))
                return
            if e.__class__ is list:
                v, j = e, j + 1
            else:
                v, j = _reach(e, parts, j + 1)

    def keys(o: dict) -> List[Key]:
        if date_field:  # createdAt/updatedAt: plain ISO strings are dates
            v = o.get(path, MISSING)
            if v.__class__ is str:
                return [date_key(v)]
        out: List[Key] = []
        collect(o, 0, out)
        return out
    return keys


# --------------------------------------------------------------------------- public

def sort_key(field: str, descending: bool = False) -> Callable[[dict], Key]:
    """Per-object key for ordering by ``field`` alone (sort with ``reverse=descending``).

    Missing/null sort first ascending and last descending; an array sorts by
    its smallest element ascending and its largest descending; [] before null.
    """
    if "." not in field:
        return _top_level_key(field, descending)
    keys = path_keys(field)
    pick = max if descending else min

    def key(o: dict) -> Key:
        got = keys(o)
        return got[0] if len(got) == 1 else pick(got)
    return key


def _groups(fields: List[Tuple[str, bool]]) -> List[List[int]]:
    """ORDER BY positions by top-level field: only paths under one top-level
    field can share an array, so each group is keyed on its own."""
    groups: Dict[str, List[int]] = {}
    for n, (field, _) in enumerate(fields):
        groups.setdefault(field.split(".", 1)[0], []).append(n)
    return list(groups.values())


def order_key(order: Union[str, Sequence[str], Sequence[Tuple[str, bool]], None]
              ) -> Callable[[dict], Key]:
    """Per-object key for ``order`` ('-score,name' or [(field, descending)]): a
    tuple with one value key per ORDER BY field, chosen together as MongoDB
    does. Sort on it field by field, each with ``reverse=descending``."""
    fields = _fields(order)
    parts: List[Tuple[List[int], Callable[[dict], Key]]] = []
    for members in _groups(fields):
        if len(members) == 1:
            one = sort_key(*fields[members[0]])
            parts.append((members, lambda o, _one=one: (_one(o),)))
        else:
            paths = _Paths([fields[n][0] for n in members], [fields[n][1] for n in members])
            parts.append((members, paths.key))
    if len(parts) == 1:
        return parts[0][1]
    size = len(fields)

    def key(o: dict) -> Key:
        out: List[Any] = [None] * size
        for members, fn in parts:
            for n, k in zip(members, fn(o)):
                out[n] = k
        return tuple(out)
    return key


def _fields(order: Any) -> List[Tuple[str, bool]]:
    if order and not isinstance(order, str) and all(isinstance(x, tuple) for x in order):
        return [(str(f), bool(d)) for f, d in order]
    return parse_order(order)


def _runs(fields: List[Tuple[str, bool]]) -> List[Tuple[bool, int, int]]:
    """(descending, start, end) of each run of ORDER BY fields with one direction."""
    runs: List[Tuple[bool, int, int]] = []
    for n, (_, desc) in enumerate(fields):
        if runs and runs[-1][0] == desc:
            runs[-1] = (desc, runs[-1][1], n + 1)
        else:
            runs.append((desc, n, n + 1))
    return runs


def order_objects(objects: Iterable[dict], order: Union[str, Sequence[str], None]) -> List[dict]:
    """A new list of ``objects`` sorted by ``order`` (MongoDB order, stable):
    one stable sort per run of fields with the same direction, last run first."""
    out = list(objects)
    fields = parse_order(order)
    if not fields:
        return out
    runs = _runs(fields)
    if all(len(g) == 1 for g in _groups(fields)):  # each field keyed alone
        for desc, lo, hi in reversed(runs):
            if hi - lo == 1:
                out.sort(key=sort_key(fields[lo][0], desc), reverse=desc)
            else:
                fns = [sort_key(f, desc) for f, _ in fields[lo:hi]]
                out.sort(key=lambda o: tuple([fn(o) for fn in fns]), reverse=desc)
        return out
    key = order_key(fields)
    keyed = [(key(o), o) for o in out]
    for desc, lo, hi in reversed(runs):
        keyed.sort(key=lambda t: t[0][lo:hi], reverse=desc)
    return [o for _, o in keyed]

"""Ordering REST JSON objects the MongoDB way: ``order_objects``, ``sort_key``,
``parse_order``. Import them from ``cql.engine.matcher`` (the stable API).
"""
from __future__ import annotations

from typing import Callable, Iterable, List, Sequence, Tuple, Union

from .values import (
    DATE_FIELDS, EMPTY_ARRAY_KEY, Fanout, date_key, field_getter, plain_value_key, query_error,
)

__all__ = ["parse_order", "sort_key", "order_objects"]


# --------------------------------------------------------------------------- ordering

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


def sort_key(field: str, descending: bool = False) -> Callable[[dict], tuple]:
    """Per-object key for ordering by ``field`` (sort with ``reverse=descending``).

    Missing/null sort first ascending and last descending; an array sorts by
    its smallest element ascending and its largest descending; [] before null.
    """
    date_field = field in DATE_FIELDS
    get = field_getter(field, dates=False)
    pick = max if descending else min

    def key(o: dict) -> tuple:
        v = get(o)
        c = v.__class__
        if c is str:
            if not date_field:
                return (3, v)
            if len(v) == 24 and v[23] == "Z" and v[10] == "T" and v[19] == ".":
                return (9, v)
            return date_key(v)
        if c is int or c is float:
            return (2, v)
        if c is list or c is Fanout:
            if not v:
                return EMPTY_ARRAY_KEY
            keys = []
            for e in v:
                if c is Fanout and e.__class__ is list:
                    keys.extend(plain_value_key(x) for x in e)
                    if not e:
                        keys.append(EMPTY_ARRAY_KEY)
                else:
                    keys.append(plain_value_key(e))
            return pick(keys)
        return plain_value_key(v)
    return key


def order_objects(objects: Iterable[dict], order: Union[str, Sequence[str], None]) -> List[dict]:
    """A new list of ``objects`` sorted by ``order`` (MongoDB order, stable)."""
    out = list(objects)
    keys = parse_order(order)
    # One stable pass per run of keys with the same direction, last run first.
    runs: List[Tuple[bool, List[str]]] = []
    for field, desc in keys:
        if runs and runs[-1][0] == desc:
            runs[-1][1].append(field)
        else:
            runs.append((desc, [field]))
    for desc, fields in reversed(runs):
        if len(fields) == 1:
            out.sort(key=sort_key(fields[0], desc), reverse=desc)
        else:
            fns = [sort_key(f, desc) for f in fields]
            out.sort(key=lambda o: tuple([fn(o) for fn in fns]), reverse=desc)
    return out

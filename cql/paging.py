"""Keyset cursors: a position in a query's order as an opaque string, and the
where JSON that selects the rows after (or up to) it.

A position is the last row's sort values plus its objectId, the tie-breaker
that makes the order total. "After the position" is written out in where JSON
(``$or`` of "equal on the first keys, beyond on the next"), so it works on any
backend, REST included, with no server support: a page never skips or repeats
a row, whatever the duplicates, and rows inserted between pages land where
the order puts them.

Null and missing values sort together and first in ascending order (MongoDB's
rule, which every backend of cql follows), so "beyond null" ascending is
``$ne: null`` and "beyond v" descending includes the nulls. A field holds one
type (LeanCloud's schema), so ``$gt``/``$lt`` within the type is the order.

Where no keyset can be written the cursor falls back to an offset (``skip``),
exact only while the data does not change: the distance order of ``near``, and
sort values that are arrays, objects, pointers or other typed values.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from .errors import CQLError, describe
from .names import DATE_FIELDS
from .planner import merge_and

TIE_BREAKER = "objectId"
_VERSION = 1


def bad_cursor(message: str) -> CQLError:
    return CQLError(message, 102)


def sort_keys(order: Sequence[str], near: bool = False) -> Tuple[str, ...]:
    """The order a cursor follows: the query's, plus objectId unless it is there
    (or the order is by distance, which no key can extend)."""
    keys = tuple(order)
    if near or any(k.lstrip("-+") == TIE_BREAKER for k in keys):
        return keys
    return keys + (TIE_BREAKER,)


@dataclass(frozen=True)
class Position:
    """Where a page ended. ``values`` (one per key of ``order``, REST JSON) is
    None for an offset-only position; ``skip`` counts rows past ``values``."""
    order: Tuple[str, ...]
    values: Optional[Tuple[Any, ...]]
    skip: int = 0

    def encode(self) -> str:
        data = {"v": _VERSION, "o": list(self.order), "k": None if self.values is None else list(self.values),
                "s": self.skip}
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def after(self) -> dict:
        """Where JSON of the rows after this position ({} for an offset position)."""
        if self.values is None:
            return {}
        return _or(_expand(self.order, self.values, _beyond, final=False))

    def up_to(self) -> dict:
        """Where JSON of the rows up to and including this position."""
        if self.values is None:
            raise bad_cursor("an end cursor needs a keyset position; this one is an offset "
                             "(near order or unsortable values): use limit instead")
        return _or(_expand(self.order, self.values, _before, final=True))


def decode(text: Any, order: Sequence[str]) -> Position:
    """The Position an opaque cursor string stands for, checked against the
    order of the query it is used with."""
    if isinstance(text, Position):
        data_order, position = text.order, text
    else:
        if not isinstance(text, str) or not text:
            raise bad_cursor(f"a cursor is the string cursor() or fetch_page() returned, got {describe(text)}")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw.decode("utf-8"))
            data_order = tuple(data["o"])
            values = data["k"]
            position = Position(data_order, None if values is None else tuple(values), int(data["s"]))
            if data.get("v") != _VERSION or (values is not None and len(values) != len(data_order)):
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise bad_cursor(f"not a cursor of cql: {text[:40]!r}") from None
    if tuple(order) != tuple(data_order):
        raise bad_cursor(f"this cursor belongs to a query ordered by {','.join(data_order) or '(nothing)'}, "
                         f"not {','.join(order) or '(nothing)'}: use it with the query that made it")
    return position


def position_after(order: Tuple[str, ...], row: dict, previous: Optional[Position], rows: int) -> Position:
    """The position after ``row``, the last of ``rows`` rows read from ``previous``."""
    values = [_sort_value(row, key.lstrip("-+")) for key in order] if order else None
    if values is None or not all(_keyable(v) for v in values):
        base = previous if previous is not None else Position(order, None, 0)
        return Position(order, base.values, base.skip + rows)
    return Position(order, tuple(values), 0)


# -- values -----------------------------------------------------------------------
def _sort_value(row: dict, field: str) -> Any:
    value: Any = row
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if field in DATE_FIELDS and isinstance(value, str):  # plain ISO text on the wire
        return {"__type": "Date", "iso": value}
    return value


def _keyable(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, dict) and value.get("__type") == "Date" and isinstance(value.get("iso"), str)


# -- where JSON -----------------------------------------------------------------------
def _beyond(field: str, descending: bool, value: Any) -> List[dict]:
    """Alternatives for "sorts strictly after value" on one key."""
    if value is None:
        return [] if descending else [{field: {"$ne": None}}]
    if descending:
        return [{field: {"$lt": value}}] + ([] if field == TIE_BREAKER else [{field: None}])
    return [{field: {"$gt": value}}]


def _before(field: str, descending: bool, value: Any) -> List[dict]:
    """Alternatives for "sorts strictly before value" on one key."""
    if value is None:
        return [{field: {"$ne": None}}] if descending else []
    if descending:
        return [{field: {"$gt": value}}]
    return [{field: {"$lt": value}}] + ([] if field == TIE_BREAKER else [{field: None}])


def _expand(order: Sequence[str], values: Sequence[Any], step, final: bool) -> List[dict]:
    """Lexicographic expansion: for each key, equal on the keys before it and
    ``step`` on it; with ``final``, equal on all keys too (the row itself)."""
    clauses: List[dict] = []
    prefix: List[dict] = []
    for key, value in zip(order, values):
        field, descending = key.lstrip("-+"), key.startswith("-")
        for alternative in step(field, descending, value):
            clauses.append(merge_and(prefix + [alternative]))
        prefix.append({field: value})
    if final:
        clauses.append(merge_and(prefix))
    return clauses


def _or(clauses: List[dict]) -> dict:
    if not clauses:
        return {"objectId": {"$in": []}}  # nothing is after the end
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}

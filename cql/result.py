"""Result: what running one statement gives, for Python callers and the shell.

Backends hand over REST JSON objects (``objects``); ``results`` decodes them to
Python values lazily, so the shell's JSON output and the REST client never pay
for a decode they do not need.
"""
from __future__ import annotations

from typing import Any, Collection, Iterator, List, Optional, Sequence, Tuple

from .names import DATE_FIELDS, SYSTEM_FIELDS
from .types import decode, parse_date

# Display order: objectId first, createdAt and updatedAt last.
SYSTEM_FIRST = SYSTEM_FIELDS[:1]
SYSTEM_LAST = SYSTEM_FIELDS[1:]


class Result:
    """One statement's outcome.

    kind: "select", "insert", "update" or "delete".
    objects: REST JSON objects (select rows; {objectId, createdAt} per inserted
        row; {objectId, updatedAt} per updated object; nothing for delete).
    count: the count when asked (select with count(*)), else None.
    rowcount: rows returned (select) or objects written (insert/update/delete).
    selected: the select list as written (None for ``*``), for ``columns``.
    truncated: True when the default limit (not one the user wrote) cut the rows.
    count_only: a ``select count(*)`` that returns no rows.
    """

    def __init__(self, kind: str, class_name: str, objects: Sequence[dict] = (), *,
                 count: Optional[int] = None, rowcount: Optional[int] = None,
                 selected: Optional[Sequence[str]] = None, truncated: bool = False,
                 count_only: bool = False, info: Optional[dict] = None):
        self.kind = kind
        self.class_name = class_name
        self.objects = list(objects)
        self.count = count
        self.rowcount = len(self.objects) if rowcount is None else rowcount
        self.selected = None if selected is None else tuple(selected)
        self.truncated = truncated
        self.count_only = count_only
        self.info = info or {}
        self._results: Optional[List[dict]] = None

    # LeanCloud SDK's CQLResult spelling
    @property
    def className(self) -> str:  # noqa: N802
        return self.class_name

    @property
    def results(self) -> List[dict]:
        if self._results is None:
            self._results = [decode_object(obj) for obj in self.objects]
        return self._results

    @property
    def columns(self) -> List[str]:
        """objectId, the selected fields in written order (all fields, sorted, for
        ``*``), then createdAt, updatedAt; ``["count"]`` for a count-only select."""
        if self.count_only:
            return ["count"]
        if self.kind == "delete":
            return []
        if self.selected is not None:
            middle = [c for c in self.selected if c not in SYSTEM_FIRST + SYSTEM_LAST]
            present = set().union(*(o.keys() for o in self.objects)) if self.objects else set()
            head = [c for c in SYSTEM_FIRST if c in present or self.kind == "select"]
            tail = [c for c in SYSTEM_LAST if c in present or self.kind == "select"]
        else:
            seen = set()
            for obj in self.objects:
                seen.update(obj.keys())
            middle = sorted(k for k in seen if k not in SYSTEM_FIRST + SYSTEM_LAST)
            head = [c for c in SYSTEM_FIRST if c in seen]
            tail = [c for c in SYSTEM_LAST if c in seen]
        # Keep a selected column once even if it was written twice.
        return list(dict.fromkeys(head + middle + tail))

    @property
    def rows(self) -> List[Tuple[Any, ...]]:
        """Python-valued rows in ``columns`` order (missing fields are None)."""
        if self.count_only:
            return [(self.count,)]
        cols = self.columns
        return [tuple(column_value(obj, c, None) for c in cols) for obj in self.results]

    def to_pandas(self) -> Any:
        """A pandas DataFrame (``pip install 'cql[pandas]'``): dates as UTC
        timestamps, pointers as objectIds, GeoPoints as two float columns."""
        from .frames import to_pandas
        return to_pandas(*self._frame())

    def to_arrow(self) -> Any:
        """A pyarrow Table (``pip install 'cql[arrow]'``), mapped as to_pandas()."""
        from .frames import to_arrow
        return to_arrow(*self._frame())

    def _frame(self) -> Tuple[List[str], List[dict], Collection[str]]:
        """(columns, REST JSON objects, fields holding dates as text) for cql.frames."""
        if self.count_only:
            return ["count"], [{"count": self.count}], ()
        return self.columns, self.objects, DATE_FIELDS

    def __iter__(self) -> Iterator[dict]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.objects)

    def __repr__(self) -> str:
        extra = f", count={self.count}" if self.count is not None else ""
        return f"<Result {self.kind} {self.class_name}: {self.rowcount} rows{extra}>"


def column_value(obj: dict, column: str, missing: Any = None) -> Any:
    """The value of ``column`` in ``obj``: a field, or a dotted path into an
    included object or an object field (``author.username``, ``meta.a.b``);
    ``missing`` when there is none."""
    if column in obj:
        return obj[column]
    if "." not in column:
        return missing
    value: Any = obj
    for key in column.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return missing
    return value


def decode_object(obj: dict) -> dict:
    """One REST JSON object as Python values; createdAt/updatedAt (plain ISO
    strings on the wire) become datetimes too."""
    out = decode(obj)
    for key in SYSTEM_LAST:
        value = out.get(key)
        if isinstance(value, str):
            try:
                out[key] = parse_date(value)
            except Exception:  # a user field that happens to hold text: keep it
                pass
    return out

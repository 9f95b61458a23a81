"""Rows as a pandas DataFrame or an Arrow table (the optional extras
``cql[pandas]`` and ``cql[arrow]``, imported only when asked for).

Columns are built from the REST JSON objects one column at a time, so dates
are parsed in one vectorised call instead of one Python datetime per value:
Dates (and createdAt/updatedAt) become UTC timestamps, a Pointer its objectId,
a GeoPoint two float columns ``<field>.latitude`` and ``<field>.longitude``, a
File its URL (else its name or id), a Relation its target class name, Bytes
``bytes``; arrays and objects stay Python lists and dicts (Arrow: JSON text).
A column whose values mix kinds keeps Python values.
"""
from __future__ import annotations

import json
from itertools import chain
from typing import Any, Collection, Dict, List, Sequence, Tuple

from .errors import CQLError
from .types import decode

__all__ = ["to_pandas", "to_arrow", "columns_of"]

_SCALAR_SET = frozenset((str, int, float, bool))


def _need(module: str, extra: str) -> Any:
    from importlib import import_module
    try:
        return import_module(module)
    except ImportError:
        raise CQLError(f"this needs {module}, an optional extra: pip install 'cql[{extra}]'") from None


_TYPED = {"Date": "date", "Pointer": "pointer", "GeoPoint": "geo", "File": "file", "Relation": "relation",
          "Bytes": "bytes"}


def _kind(name: str, values: List[Any], date_fields: Collection[str]) -> str:
    """What one column holds: date, pointer, geo, file, relation, bytes, json,
    plain (scalars), or mixed. Set operations over the classes first: this
    runs over every value of every column."""
    classes = set(map(type, values))
    classes.discard(type(None))
    if not classes:
        return "plain"
    if classes <= _SCALAR_SET:
        return "date" if name in date_fields and classes == {str} else "plain"
    if classes == {dict}:
        kinds = {_TYPED.get(v.get("__type"), "json") for v in values if v is not None}
        return kinds.pop() if len(kinds) == 1 else "mixed"
    if classes == {list}:
        return "json"
    return "mixed"


def _json_values(values: List[Any]) -> List[Any]:
    """Arrays and objects as Python values; a column of arrays of plain values
    (the common case) is checked in one pass and kept as it is."""
    if all(v is None or v.__class__ is list for v in values):
        inner = set(map(type, chain.from_iterable(v for v in values if v is not None)))
        if inner <= _SCALAR_SET | {type(None)}:
            return values
    return [decode(v) for v in values]


def columns_of(columns: Sequence[str], objects: Sequence[dict], date_fields: Collection[str] = ()
               ) -> List[Tuple[str, str, List[Any]]]:
    """(column name, kind, values) per output column, values still REST JSON
    except where the kind says how to map them (see the module docstring).
    ``date_fields`` hold dates as plain ISO text (createdAt, updatedAt)."""
    out: List[Tuple[str, str, List[Any]]] = []
    for name in columns:
        values = [o.get(name) for o in objects]
        kind = _kind(name, values, date_fields)
        if kind == "date":
            out.append((name, kind, [v if v is None or v.__class__ is str else v.get("iso") for v in values]))
        elif kind == "pointer":
            out.append((name, "plain", [None if v is None else v.get("objectId") for v in values]))
        elif kind == "geo":
            for part in ("latitude", "longitude"):
                out.append((f"{name}.{part}", "float", [None if v is None else v.get(part) for v in values]))
        elif kind == "file":
            out.append((name, "plain", [None if v is None else v.get("url") or v.get("name") or v.get("id")
                                        for v in values]))
        elif kind == "relation":
            out.append((name, "plain", [None if v is None else v.get("className") for v in values]))
        else:  # plain values; json, mixed and bytes are decoded by the caller

            out.append((name, kind, values))
    return out


def to_pandas(columns: Sequence[str], objects: Sequence[dict], date_fields: Collection[str] = ()) -> Any:
    """Rows of REST JSON objects as a pandas DataFrame (see the module docstring)."""
    pd = _need("pandas", "pandas")
    data: Dict[str, Any] = {}
    for name, kind, values in columns_of(columns, objects, date_fields):
        if kind == "date":
            data[name] = pd.to_datetime(values, utc=True, format="ISO8601")
        elif kind == "float":
            data[name] = pd.array(values, dtype="Float64") if None in values else values
        elif kind in ("json", "mixed", "bytes"):
            data[name] = pd.Series(_json_values(values), dtype=object)
        else:
            data[name] = values
    return pd.DataFrame(data, columns=list(data))


def to_arrow(columns: Sequence[str], objects: Sequence[dict], date_fields: Collection[str] = ()) -> Any:
    """Rows of REST JSON objects as a pyarrow Table: timestamps in UTC (ms),
    arrays and objects as JSON text."""
    pa = _need("pyarrow", "arrow")
    arrays, names = [], []
    for name, kind, values in columns_of(columns, objects, date_fields):
        if kind == "date":
            array = pa.array(values, pa.string()).cast(pa.timestamp("ms", tz="UTC"))
        elif kind == "float":
            array = pa.array(values, pa.float64())
        elif kind in ("json", "mixed"):
            array = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                             pa.string())
        elif kind == "bytes":
            array = pa.array([decode(v) for v in values], pa.binary())
        else:
            try:
                array = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. ints beside floats beyond 2**53
                array = pa.array([None if v is None else str(v) for v in values], pa.string())
        arrays.append(array)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


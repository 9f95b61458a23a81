"""REST JSON values as the matcher sees them: the absent-field marker, dotted
paths, and ``value_key``, the MongoDB (BSON) total order and equality.

Shared by the matcher (equality, comparisons), the ordering helpers, the
engine's indexes (keys) and ops (AddUnique/Remove equality), so all agree.
Import these names from ``cql.engine.matcher``; that is the stable API.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional, Sequence

from ..errors import CQLError, describe
from ..names import DATE_FIELDS
from ..types import parse_date

__all__ = ["MISSING", "Fanout", "DATE_FIELDS", "value_key", "values_equal", "field_getter",
           "get_path", "QUERY_ERROR", "REGEX_ERROR", "query_error", "canonical_iso", "date_key",
           "plain_value_key", "array_keys", "EMPTY_ARRAY_KEY"]

QUERY_ERROR = 102
REGEX_ERROR = 300


class _Missing:
    """The value of an absent field (distinct from an explicit null)."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return "MISSING"


MISSING: Any = _Missing()
M = MISSING


class Fanout(list):
    """The values a dotted path reaches through an array: one per object
    element (MISSING where it lacks the rest of the path), none for other
    elements; empty when the array holds no object."""
    __slots__ = ()


def query_error(message: str) -> CQLError:
    """A malformed where (code 102)."""
    return CQLError(message, QUERY_ERROR)


# --------------------------------------------------------------------------- values


_NULL_KEY = (1,)
EMPTY_ARRAY_KEY = (0,)  # MongoDB sorts [] before null/missing


def canonical_iso(text: str) -> Optional[str]:
    """A date string in the canonical form 'YYYY-MM-DDTHH:MM:SS.sssZ' (None if not a date)."""
    if len(text) == 24 and text[23] == "Z" and text[10] == "T" and text[19] == "." and text[4] == "-":
        return text
    return _canon_slow(text)


@lru_cache(maxsize=4096)
def _canon_slow(text: str) -> Optional[str]:
    try:
        d = parse_date(text)
    except CQLError:
        return None
    # zero-padded by hand: strftime("%Y") does not pad years before 1000
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond // 1000:03d}Z")


def date_key(iso: Any) -> tuple:
    """The order key of a date given by its ISO text."""
    if iso.__class__ is str:
        return (9, canonical_iso(iso) or iso)
    return (9, str(iso))


def _first(pair: tuple) -> Any:
    return pair[0]


def _element(name: str, v: Any) -> tuple:
    """Key of one field of an object: (type rank, name, value...), the order in
    which MongoDB's BSONElement::woCompare looks at them."""
    k = _key(v)
    return (k[0], name) + k[1:]


def _key(v: Any) -> tuple:
    """BSON-order key of a value (see value_key)."""
    c = v.__class__
    if c is str:
        return (3, v)
    if c is int or c is float:
        return (2, v)
    if c is bool:
        return (8, v)
    if v is None or v is M:
        return _NULL_KEY
    if c is list or c is Fanout:
        return (5, tuple([_key(e) for e in v]))
    if c is dict:
        t = v.get("__type")
        if t is not None:
            if t == "Date":
                return date_key(v.get("iso"))
            if t == "Pointer" or t == "Object":
                return (4, ((3, "__type", "Pointer"), _element("className", v.get("className")),
                            _element("objectId", v.get("objectId"))))
            if t == "GeoPoint":
                return (4, ((3, "__type", "GeoPoint"), _element("latitude", v.get("latitude")),
                            _element("longitude", v.get("longitude"))))
            if t == "Bytes":
                return (6, str(v.get("base64", "")))
            if t == "File":  # a file is its id (or name): url and metadata may differ
                ident = v.get("id") or v.get("objectId") or v.get("name")
                return (4, ((3, "__type", "File"), _element("id", ident)))
        return (4, tuple([_element(k, x) for k, x in sorted([(str(k), x) for k, x in v.items()],
                                                            key=_first)]))
    # Subclasses and foreign types (should not occur in REST JSON).
    if isinstance(v, bool):
        return (8, bool(v))
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, str(v))
    if isinstance(v, (list, tuple)):
        return (5, tuple([_key(e) for e in v]))
    if isinstance(v, dict):
        return _key(dict(v))
    return (12, repr(v))


def value_key(value: Any, field: Optional[str] = None) -> tuple:
    """Total-order, hashable key of a REST JSON value (MongoDB BSON order).

    Shape: ``(type rank, value...)``; null/missing ``(1,)``; an array ``(5,
    (element keys))``; an object ``(4, ((rank, name, value...), ...))``, one
    entry per field in sorted-name order, compared type rank, then name, then
    value (MongoDB's BSONElement::woCompare; sorting the names is our decision:
    key order is ignored). ``field`` matters only for createdAt/updatedAt,
    whose plain ISO strings are dates.
    """
    if field in DATE_FIELDS and value.__class__ is str:
        return date_key(value)
    return _key(value)


# value_key without the createdAt/updatedAt rule, one call cheaper: for callers
# that turn those plain ISO strings into Dates themselves (the engine's indexes).
plain_value_key: Callable[[Any], tuple] = _key


def array_keys(values: list) -> tuple:
    """(keys of the non-null elements, key of the whole list) of a list, with one
    key computation per element (an index keys an array under both)."""
    parts = [_key(e) for e in values]
    return [k for k in parts if k is not _NULL_KEY], (5, tuple(parts))


def values_equal(a: Any, b: Any) -> bool:
    """JSON equality as the matcher sees it (1 == 1.0, True != 1, pointers by id)."""
    return _key(a) == _key(b)


def _walk(v: Any, parts: Sequence[str], start: int) -> Any:
    for i in range(start, len(parts)):
        c = v.__class__
        p = parts[i]
        if c is dict:
            v = v.get(p, M)
            if v is M:
                return M
        elif c is list or c is Fanout:
            if p.isdigit() and c is list:
                idx = int(p)
                if idx < len(v):
                    v = v[idx]
                    continue
                return M
            # MongoDB: "a.b" on an array reaches each object element's b (an
            # object without b gives MISSING, so {"a.b": null} matches); other
            # elements give nothing, so an array holding no object reaches no
            # value at all: an empty Fanout, which {"a.b": null} does not match.
            out = Fanout()
            for e in v:
                if e.__class__ is dict:
                    r = _walk(e, parts, i)
                    if r.__class__ is Fanout:
                        out.extend(r)
                    else:
                        out.append(r)
            return out
        else:
            return M
    return v


def field_getter(path: str, dates: bool = True) -> Callable[[dict], Any]:
    """A function obj -> value at dotted ``path`` (MISSING when absent).

    With ``dates``, createdAt/updatedAt strings are returned as Date dicts.
    """
    if "." not in path:
        if dates and path in DATE_FIELDS:
            def get_date(o: dict, _f=path) -> Any:
                v = o.get(_f, M)
                return {"__type": "Date", "iso": v} if v.__class__ is str else v
            return get_date

        def get(o: dict, _f=path) -> Any:
            return o.get(_f, M)
        return get
    parts = tuple(path.split("."))
    if any(not p for p in parts):
        raise query_error(f"invalid field path {describe(path)}: empty segment")

    def get_dotted(o: dict) -> Any:
        return _walk(o, parts, 0)
    return get_dotted


def get_path(obj: dict, path: str) -> Any:
    """The value at dotted ``path`` of ``obj`` (MISSING when absent)."""
    return field_getter(path)(obj)

"""The reference semantics of REST ``where`` JSON: matching, ordering, geo.

LeanCloud keeps objects in MongoDB, so a ``where`` means what MongoDB makes of
it; this module is the one place that says so. The embedded engine runs it,
and the REST backend runs it on the client for what Parse Server on Postgres
cannot evaluate. Objects are REST JSON dicts (``{"__type": "Date", "iso": ...}``
dates, pointers, GeoPoints; ``createdAt``/``updatedAt`` plain ISO strings).

Public API (stable; everything below is importable from this module, though
keys and paths live in ``values.py``, ordering in ``ordering.py``, spherical
geometry in ``geo.py``)
-------------------
``compile_where(where, lookup=None, class_name=None) -> Callable[[dict], bool]``
    Compile once into closures; call the result per object. Subqueries
    (``$inQuery``, ``$notInQuery``, ``$select``, ``$dontSelect``) and
    ``$relatedTo`` are resolved through ``lookup`` ONCE, at compile time.
    ``{}``/``None`` matches everything.
``Lookup``
    What subqueries need: ``find(class_name, query) -> list[dict]`` where
    ``query`` is ``{"where": {...}}`` plus ``"limit"``, ``"skip"``, ``"order"``
    only when the subquery gives them (no default limit should be applied), and
    ``related_ids(class_name, object_id, key) -> set[str]``: the objectIds in
    relation ``key`` of object ``class_name/object_id``. Duck typing is enough.
``order_objects(objects, order) -> list``
    Stable sort by ``"-score,name"`` (or a sequence of such strings).
``parse_order(order) -> list[tuple[str, bool]]``  (field, descending)
``sort_key(field, descending=False) -> Callable[[dict], tuple]``
    The exact per-object key ``order_objects`` uses for one field (arrays: min
    element ascending, max descending; ``[]`` before null). Sort with
    ``reverse=descending``.
``value_key(value, field=None) -> tuple``
    A total order over REST JSON values (MongoDB BSON order): missing = null <
    numbers < strings < objects (Pointer, GeoPoint, File, plain) < arrays <
    Bytes < booleans < dates. Equal keys <=> equal values (1 == 1.0,
    True != 1, pointers by className+objectId (an included ``Object`` equals
    its pointer), GeoPoints by coordinates, Files by id,
    objects by deep equality ignoring key order, dates by instant). With
    ``field`` "createdAt"/"updatedAt" a plain ISO string is a date. Hashable.
``field_getter(path) -> Callable[[dict], Any]`` / ``get_path(obj, path)``
    The value at a dotted path, ``MISSING`` when absent (createdAt/updatedAt
    strings come back as Date dicts). A path through an array of objects
    gives a ``Fanout`` (a list subclass) of each element's value (``MISSING``
    for an element without it).
``near_spec(where) -> NearSpec | None``
    The ``$nearSphere`` of a where (top level or inside a top-level ``$and``),
    so the executor can sort nearest first: ``.field``, ``.latitude``,
    ``.longitude``, ``.distance(obj)`` (radians; ``inf`` when not a GeoPoint).
``values_equal(a, b) -> bool``  JSON equality as above (used by ops' AddUnique/Remove).
``compile_regex(pattern, options) -> re.Pattern``  the ``$regex`` translation (cached).
``MISSING``  the absent-field marker.

Semantics (MongoDB; pinned by tests/test_matcher.py)
----------------------------------------------------
- ``{"f": v}``: equal, or an array field containing v (or equal to v when v is
  an array). ``{"f": null}`` matches null, missing, and arrays holding null.
- ``$ne``/``$nin``/``$not``/``$notInQuery``/``$dontSelect`` are negations, so
  they match missing fields; ``{"$ne": null}`` matches present non-null values.
- ``$lt $lte $gt $gte`` never cross types (numbers, strings by code point,
  dates, booleans, ...); on arrays any element may satisfy. ``$lte``/``$gte``
  null match null/missing; ``$lt``/``$gt`` null match nothing.
- ``$exists``: an explicit null exists. ``$all``: every value is contained
  (a scalar field equal to a single value matches too, as in MongoDB);
  ``$all: []`` matches nothing (Parse). ``$size`` only matches arrays.
  ``$containedBy`` (Parse): an array whose every element is in the list.
- Dot notation reaches into objects ("meta.color"), array indexes
  ("tags.0"), and through arrays of objects (any element's value, MongoDB).
- ``$regex`` (``$options`` from ``imsx``; PCRE ``\\Q..\\E`` and ``(?<name>``
  are translated) matches strings and arrays with a matching string element.
- Dates: a string compared with a Date field does not match (no type
  crossing), EXCEPT on ``createdAt``/``updatedAt``, whose stored values are
  ISO strings and whose query values may be Date dicts or ISO strings.
- Geo: ``$nearSphere`` with ``$maxDistance`` (radians) or
  ``$maxDistanceIn{Radians,Kilometers,Miles}`` and ``$minDistance...``
  (inclusive bounds; Earth 6371.0 km / 3958.8 mi); ``$within``/``$geoWithin``
  with ``$box`` [sw, ne] (wraps at the antimeridian when sw longitude > ne
  longitude; a pole inside the latitude range is inside), ``$centerSphere``
  [point, radians], ``$polygon`` (planar in degrees; no antimeridian wrap).
- ``$elemMatch``: one array element meets every condition (operators on the
  element, or a where over object elements).
- ``{"relationField": Pointer}`` (top level) matches owners whose relation
  holds the pointer, when ``compile_where`` is given ``class_name``.
- Not supported: ``$text``, ``$relativeTime``: unknown operators are errors.

Errors (all ``CQLError``): malformed where / unknown operator / bad
``$options`` -> code 102; an invalid regular expression -> code 300; a bad
GeoPoint -> code 302 (``InvalidGeoPoint``); a subquery without a lookup -> 102.
"""
from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from functools import lru_cache
from math import asin as _asin, cos as _cos, inf, radians as _radians, sin as _sin, sqrt as _sqrt
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ..errors import CQLError, InvalidGeoPoint
from ..plan import is_operator_object
from . import geo
from .geo import DISTANCE_KEYS
from .ordering import order_objects, parse_order, sort_key
from .values import (
    DATE_FIELDS, MISSING, QUERY_ERROR, REGEX_ERROR, Fanout, M, canonical_iso, field_getter, get_path,
    plain_value_key, query_error, value_key, values_equal,
)

__all__ = [
    "MISSING", "Fanout", "Lookup", "NearSpec", "compile_where", "order_objects",
    "parse_order", "sort_key", "value_key", "field_getter", "get_path",
    "near_spec", "values_equal", "compile_regex", "QUERY_ERROR", "REGEX_ERROR", "DATE_FIELDS",
]

Predicate = Callable[[dict], bool]
ValuePredicate = Callable[[Any], bool]

class Lookup(ABC):
    """What the matcher needs from the store for subqueries and relations."""

    @abstractmethod
    def find(self, class_name: str, query: dict) -> List[dict]:
        """Objects of ``class_name`` matching ``query`` ({"where", "limit"?, "skip"?, "order"?})."""

    @abstractmethod
    def related_ids(self, class_name: str, object_id: str, key: str) -> Set[str]:
        """objectIds of the objects in relation ``key`` of ``class_name``/``object_id``."""


# --------------------------------------------------------------------------- predicates

def _true(o: Any) -> bool:
    return True


def _false(o: Any) -> bool:
    return False


def _all_of(preds: List[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if not preds:
        return _true
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds

        def both(o: Any) -> bool:
            return a(o) and b(o)
        return both
    ps = tuple(preds)

    def every(o: Any) -> bool:
        for p in ps:
            if not p(o):
                return False
        return True
    return every


def _any_of(preds: List[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds

        def either(o: Any) -> bool:
            return a(o) or b(o)
        return either
    ps = tuple(preds)

    def some(o: Any) -> bool:
        for p in ps:
            if p(o):
                return True
        return False
    return some


def _negate(p: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def neg(o: Any) -> bool:
        return not p(o)
    return neg


def _fan(vp: ValuePredicate) -> ValuePredicate:
    """Make a positive value predicate see each value a dotted path fanned out to."""
    def fanned(v: Any) -> bool:
        if v.__class__ is Fanout:
            for x in v:
                if vp(x):
                    return True
            return False
        return vp(v)
    return fanned


def _datify(q: Any, date_field: bool) -> Any:
    """On createdAt/updatedAt an ISO string in the query is a date."""
    if date_field and q.__class__ is str:
        if canonical_iso(q) is None:
            raise query_error(f"createdAt and updatedAt compare as dates, and {q!r} is not an ISO-8601 date"
                              " (e.g. '2015-06-21T18:02:52.249Z')")
        return {"__type": "Date", "iso": q}
    return q


# ---- equality

def _eq_vp(q: Any) -> ValuePredicate:
    """v equals q, or v is an array containing q (MongoDB equality)."""
    c = q.__class__
    if c is str:
        def eq_str(v: Any) -> bool:
            return v == q or (v.__class__ is list and q in v)
        return eq_str
    if c is int or c is float:
        def eq_num(v: Any) -> bool:
            t = v.__class__
            if t is int or t is float:
                return v == q
            if t is list:
                for e in v:
                    if e == q and e.__class__ is not bool:
                        return True
            return False
        return eq_num
    if c is bool:
        def eq_bool(v: Any) -> bool:
            if v is q:
                return True
            if v.__class__ is list:
                for e in v:
                    if e is q:
                        return True
            return False
        return eq_bool
    if q is None:
        def eq_null(v: Any) -> bool:
            return v is None or v is M or (v.__class__ is list and None in v)
        return eq_null
    qk = plain_value_key(q)
    qc = list if c is list else dict

    def eq_other(v: Any) -> bool:
        t = v.__class__
        if t is qc and plain_value_key(v) == qk:
            return True
        if t is list:
            for e in v:
                if e.__class__ is qc and plain_value_key(e) == qk:
                    return True
        return False
    return eq_other


# ---- comparisons

_CMP = {"$lt": operator.lt, "$lte": operator.le, "$gt": operator.gt, "$gte": operator.ge}
_SYM = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}

_CMP_TEMPLATE = """
def make_num(q, M):
    def cmp_num(v):
        t = v.__class__
        if t is int or t is float:
            return v {op} q
        if t is list:
            for e in v:
                t = e.__class__
                if (t is int or t is float) and e {op} q:
                    return True
        return False
    return cmp_num

def make_str(q, M):
    def cmp_str(v):
        t = v.__class__
        if t is str:
            return v {op} q
        if t is list:
            for e in v:
                if e.__class__ is str and e {op} q:
                    return True
        return False
    return cmp_str

def make_date(qi, canon, M):
    # v: a Date dict, or (createdAt/updatedAt) a plain ISO string
    def cmp_date(v):
        t = v.__class__
        if t is str:
            s = canon(v)
            return s is not None and s {op} qi
        if t is dict:
            if v.get("__type") != "Date":
                return False
            s = v.get("iso")
            if s.__class__ is not str:
                return False
            s = canon(s)
            return s is not None and s {op} qi
        if t is list:
            for e in v:
                if e.__class__ is dict and cmp_date(e):
                    return True
        return False
    return cmp_date
"""

_CMP_MAKERS: Dict[str, Dict[str, Callable]] = {}
for _name, _sym in _SYM.items():
    _ns: Dict[str, Any] = {}
    exec(_CMP_TEMPLATE.replace("{op}", _sym), _ns)  # noqa: S102 - fixed templates, no user text
    _CMP_MAKERS[_name] = _ns
del _name, _sym, _ns


def _cmp_vp(op: str, q: Any, date_field: bool) -> ValuePredicate:
    """Comparison predicate over a value (no type crossing; arrays: any element)."""
    makers = _CMP_MAKERS[op]
    q = _datify(q, date_field)
    c = q.__class__
    if q is None:
        vp = _eq_vp(None) if op in ("$lte", "$gte") else _false
    elif c is int or c is float:
        vp = makers["make_num"](q, M)
    elif c is str:
        vp = makers["make_str"](q, M)
    elif c is dict and q.get("__type") == "Date":
        iso = q.get("iso")
        qi = canonical_iso(iso) if iso.__class__ is str else None
        if qi is None:
            raise query_error(f"{op} needs a valid date, got {q!r}")
        vp = makers["make_date"](qi, canonical_iso, M)
        if not date_field:
            vp = _no_plain_strings(vp)
    else:
        if is_operator_object(q):
            raise query_error(f"{op} does not take an operator object: {q!r} is not supported")
        qk = plain_value_key(q)
        rank = qk[0]
        cmpf = _CMP[op]

        def cmp_any(v: Any) -> bool:
            k = plain_value_key(v)
            if k[0] == rank and cmpf(k, qk):
                return True
            if v.__class__ is list:
                for e in v:
                    ke = plain_value_key(e)
                    if ke[0] == rank and cmpf(ke, qk):
                        return True
            return False
        vp = cmp_any
    return vp


def _no_plain_strings(vp: ValuePredicate) -> ValuePredicate:
    """Outside createdAt/updatedAt a plain string is a string, never a date."""
    def dates_only(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return False
        if t is list:
            for e in v:
                if e.__class__ is dict and vp(e):
                    return True
            return False
        return vp(v)
    return dates_only


def _on_field(field: str, vp: ValuePredicate) -> Predicate:
    def on_field(o: dict) -> bool:
        return vp(o.get(field, M))
    return on_field


# ---- $in / $nin

def _in_vp(values: Any, what: str, date_field: bool, strict: bool = True) -> ValuePredicate:
    """Membership; ``strict``: a non-date string on createdAt/updatedAt is an error
    (else, for values a subquery produced, it simply matches nothing)."""
    if not isinstance(values, list):
        raise query_error(f"{what} needs an array of values, got {values!r}")
    strs: Set[str] = set()
    nums: Set[Any] = set()
    bools: Set[bool] = set()
    others: Set[tuple] = set()
    null = False
    for x in values:
        if date_field and not strict and x.__class__ is str and canonical_iso(x) is None:
            continue
        x = _datify(x, date_field)
        c = x.__class__
        if c is str:
            strs.add(x)
        elif c is int or c is float:
            nums.add(x)
        elif c is bool:
            bools.add(x)
        elif x is None:
            null = True
        else:
            others.add(plain_value_key(x))

    def scalar(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return v in strs
        if t is int or t is float:
            return v in nums
        if t is bool:
            return v in bools
        if v is None or v is M:
            return null
        return bool(others) and plain_value_key(v) in others

    def in_vp(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return v in strs
        if t is int or t is float:
            return v in nums
        if t is list:
            if others and plain_value_key(v) in others:
                return True
            for e in v:
                if scalar(e):
                    return True
            return False
        return scalar(v)
    return in_vp


# ---- $regex

_PCRE_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.S)
_PCRE_NAMED = re.compile(r"\(\?<(?=[A-Za-z_])")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@lru_cache(maxsize=1024)
def compile_regex(pattern: str, options: str = "") -> "re.Pattern[str]":
    """Python regex for a MongoDB/PCRE ``$regex`` with ``$options`` (cached)."""
    flags = 0
    for ch in options:
        if ch not in _FLAGS:
            raise query_error(f"Bad $options value for query: {options} (allowed: i, m, s, x)")
        flags |= _FLAGS[ch]
    text = _PCRE_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    text = _PCRE_NAMED.sub("(?P<", text)
    try:
        return re.compile(text, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise CQLError(f"invalid regular expression {pattern!r}: {exc}", REGEX_ERROR) from None


def _regex_vp(pattern: Any, options: Any) -> ValuePredicate:
    if not isinstance(pattern, str):
        raise query_error(f"$regex needs a string pattern, got {pattern!r}")
    if not isinstance(options, str):
        raise query_error(f"$options needs a string of flags, got {options!r}")
    search = compile_regex(pattern, options).search

    def regex_vp(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return search(v) is not None
        if t is list:
            for e in v:
                if e.__class__ is str and search(e) is not None:
                    return True
        return False
    return regex_vp


# ---- geo

def _geo_point(value: Any, what: str) -> Tuple[float, float]:
    """(lat, lng) of a query GeoPoint: a GeoPoint dict, {latitude, longitude}, or [lng, lat]."""
    lat = lng = None
    if isinstance(value, dict):
        lat, lng = value.get("latitude"), value.get("longitude")
    elif isinstance(value, list) and len(value) == 2:
        lng, lat = value
    if (lat.__class__ not in (int, float)) or (lng.__class__ not in (int, float)):
        raise InvalidGeoPoint(f"{what} needs a GeoPoint, got {value!r}")
    if not -90.0 <= lat <= 90.0:
        raise InvalidGeoPoint(f"{what}: latitude {lat} is out of range: it must be between -90 and 90")
    if not -180.0 <= lng <= 180.0:
        raise InvalidGeoPoint(f"{what}: longitude {lng} is out of range: it must be between -180 and 180")
    return float(lat), float(lng)


def _point_vp(test: Callable[[float, float], bool]) -> ValuePredicate:
    point_of = geo.point_of

    def geo_vp(v: Any) -> bool:
        t = v.__class__
        if t is dict:
            p = point_of(v)
            return p is not None and test(p[0], p[1])
        if t is list:
            for e in v:
                if e.__class__ is dict:
                    p = point_of(e)
                    if p is not None and test(p[0], p[1]):
                        return True
        return False
    return geo_vp


def _near_vp(point: Any, bounds: Dict[str, Any]) -> ValuePredicate:
    lat0, lng0 = _geo_point(point, "$nearSphere")
    lo, hi = 0.0, inf
    for key, amount in bounds.items():
        kind, unit = DISTANCE_KEYS[key]
        if amount.__class__ not in (int, float):
            raise query_error(f"{key} needs a number, got {amount!r}")
        r = geo.to_radians(amount, unit)
        if kind == "max":
            hi = min(hi, r)
        else:
            lo = max(lo, r)
    dist = geo.distance_radians
    if lo <= 0.0 and hi == inf:
        return _point_vp(lambda lat, lng: True)
    eps = 1e-12  # a point exactly at the bound stays inside despite rounding

    def within(lat: float, lng: float) -> bool:
        d = dist(lat0, lng0, lat, lng)
        return lo - eps <= d <= hi + eps
    return _point_vp(within)


def _within_vp(spec: Any, what: str) -> ValuePredicate:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise query_error(f"{what} needs one of {{\"$box\": [sw, ne]}}, {{\"$centerSphere\": [point, radians]}},"
                          f" {{\"$polygon\": [points]}}, got {spec!r}")
    (kind, arg), = spec.items()
    if kind == "$box":
        if not isinstance(arg, list) or len(arg) != 2:
            raise query_error(f"$box needs [southwest, northeast] GeoPoints, got {arg!r}")
        sw = _geo_point(arg[0], "$box")
        ne = _geo_point(arg[1], "$box")
        if sw[0] > ne[0]:
            raise query_error(f"$box: the south-west corner (latitude {sw[0]}) is north of the"
                              f" north-east corner (latitude {ne[0]})")
        in_box = geo.in_box
        return _point_vp(lambda lat, lng: in_box(lat, lng, sw, ne))
    if kind == "$centerSphere":
        if not isinstance(arg, list) or len(arg) != 2 or arg[1].__class__ not in (int, float) or arg[1] < 0:
            raise query_error(f"$centerSphere needs [GeoPoint, radius in radians], got {arg!r}")
        lat0, lng0 = _geo_point(arg[0], "$centerSphere")
        radius = float(arg[1]) + 1e-12
        dist = geo.distance_radians
        return _point_vp(lambda lat, lng: dist(lat0, lng0, lat, lng) <= radius)
    if kind == "$polygon":
        if not isinstance(arg, list) or len(arg) < 3:
            raise query_error(f"$polygon needs at least 3 GeoPoints, got {arg!r}")
        vertices = [_geo_point(p, "$polygon") for p in arg]
        in_polygon = geo.in_polygon
        return _point_vp(lambda lat, lng: in_polygon(lat, lng, vertices))
    raise query_error(f"unknown {what} shape {kind!r} (supported: $box, $centerSphere, $polygon)")


# ---- subqueries

def _need_lookup(lookup: Optional[Lookup], op: str) -> Lookup:
    if lookup is None:
        raise query_error(f"{op} needs a subquery, but no store was given to run it")
    return lookup


def _subquery(spec: Any, op: str, lookup: Optional[Lookup]) -> Tuple[str, List[dict]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("className"), str):
        raise query_error(f"{op} needs {{\"className\": ..., \"where\": {{...}}}}, got {spec!r}")
    where = spec.get("where", {})
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise query_error(f"{op}: the subquery's where must be an object, got {where!r}")
    query: Dict[str, Any] = {"where": where}
    for k in ("limit", "skip", "order"):
        if spec.get(k) is not None:
            query[k] = spec[k]
    found = _need_lookup(lookup, op).find(spec["className"], query)
    return spec["className"], list(found)


def _in_query_vp(spec: Any, op: str, lookup: Optional[Lookup]) -> ValuePredicate:
    class_name, found = _subquery(spec, op, lookup)
    ids = frozenset(o.get("objectId") for o in found)

    def points_in(v: Any) -> bool:
        t = v.__class__
        if t is dict:
            return (v.get("className") == class_name and v.get("objectId") in ids
                    and v.get("__type") in ("Pointer", "Object"))
        if t is list:
            for e in v:
                if e.__class__ is dict and points_in(e):
                    return True
        return False
    return points_in


def _select_vp(spec: Any, op: str, lookup: Optional[Lookup], date_field: bool) -> ValuePredicate:
    if not isinstance(spec, dict) or not isinstance(spec.get("key"), str) or "query" not in spec:
        raise query_error(f"{op} needs {{\"query\": {{\"className\": ..., \"where\": ...}}, \"key\": ...}}, got {spec!r}")
    _, found = _subquery(spec["query"], op, lookup)
    get = field_getter(spec["key"])
    values = []
    for o in found:
        v = get(o)
        if v is M:
            continue
        if v.__class__ is Fanout:
            values.extend(x for x in v if x is not M)
        else:
            values.append(v)
    return _in_vp(values, op, date_field, strict=False)


# ---- one field

_FIELD_OPS = frozenset((
    "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$exists", "$regex", "$options",
    "$not", "$all", "$size", "$inQuery", "$notInQuery", "$select", "$dontSelect", "$nearSphere",
    "$within", "$geoWithin", "$containedBy", "$elemMatch", *DISTANCE_KEYS,
))


def _ops_vp(path: str, ops: dict, lookup: Optional[Lookup], fan: bool) -> ValuePredicate:
    """The value predicate of an operator document such as {"$gt": 1, "$lte": 5}."""
    date_field = path in DATE_FIELDS
    _validate_ops(path, ops)
    bounds = {k: ops[k] for k in ops if k in DISTANCE_KEYS}
    positive: List[ValuePredicate] = []
    negative: List[ValuePredicate] = []  # predicates whose negation must hold
    fanned: List[ValuePredicate] = []  # positive predicates that handle Fanout themselves
    negative_fanned: List[ValuePredicate] = []  # $not: its inner document handles Fanout
    for op, q in ops.items():
        if op in ("$eq", "$ne"):
            (positive if op == "$eq" else negative).append(_eq_vp(_datify(q, date_field)))
        elif op in _CMP:
            positive.append(_cmp_vp(op, q, date_field))
        elif op in ("$in", "$nin"):
            (positive if op == "$in" else negative).append(_in_vp(q, op, date_field))
        elif op == "$exists":
            if q.__class__ not in (bool, int):
                raise query_error(f"$exists needs true or false, got {q!r}")
            # $exists false is the negation, so a fanned-out path needs every value absent
            (positive if q else negative).append(_present)
        elif op == "$regex":
            positive.append(_regex_vp(q, ops.get("$options", "")))
        elif op == "$not":
            if not is_operator_object(q):
                raise query_error(f"$not on field {path!r} needs an operator object such as"
                                  f" {{\"$regex\": ...}}, got {q!r}")
            negative_fanned.append(_ops_vp(path, q, lookup, fan=fan))
        elif op == "$all":
            if not isinstance(q, list):
                raise query_error(f"$all needs an array of values, got {q!r}")
            if not q:
                positive.append(_false)  # Parse: $all [] matches nothing
            else:
                # each value may be found in a different fanned-out value (MongoDB)
                eqs = [_eq_vp(_datify(x, date_field)) for x in q]
                if fan:
                    fanned.append(_all_of([_fan(e) for e in eqs]))
                else:
                    positive.append(_all_of(eqs))
        elif op == "$containedBy":
            inner = _in_vp(q, op, date_field)

            def contained(v: Any, _inner=inner) -> bool:
                return v.__class__ is list and all(_inner(e) for e in v)
            positive.append(contained)
        elif op == "$elemMatch":
            positive.append(_elem_match_vp(path, q, lookup))
        elif op == "$size":
            if q.__class__ is not int:
                raise query_error(f"$size needs a whole number, got {q!r}")

            def size_is(v: Any, _n=q) -> bool:
                return v.__class__ is list and len(v) == _n
            positive.append(size_is)
        elif op in ("$inQuery", "$notInQuery"):
            (positive if op == "$inQuery" else negative).append(_in_query_vp(q, op, lookup))
        elif op in ("$select", "$dontSelect"):
            (positive if op == "$select" else negative).append(_select_vp(q, op, lookup, date_field))
        elif op == "$nearSphere":
            positive.append(_near_vp(q, bounds))
        elif op in ("$within", "$geoWithin"):
            positive.append(_within_vp(q, op))
        # $options and distance bounds are consumed beside $regex / $nearSphere
    if fan:
        positive = [_fan(p) for p in positive]
        negative = [_fan(p) for p in negative]
    return _all_of(positive + fanned + [_negate(p) for p in negative + negative_fanned])


def _elem_match_vp(path: str, q: Any, lookup: Optional[Lookup]) -> ValuePredicate:
    """An array with one element meeting every condition: operators on the
    element itself ({"$gt": 1, "$lt": 5}) or a where over object elements."""
    if not isinstance(q, dict) or not q:
        raise query_error(f"$elemMatch on field {path!r} needs a non-empty object, got {q!r}")
    if all(isinstance(k, str) and k.startswith("$") and k not in ("$and", "$or", "$nor") for k in q):
        inner = _ops_vp(path, q, lookup, fan=False)
        # the element itself is the value: no array-contains semantics one level down
        def test(e: Any) -> bool:
            return e.__class__ is not list and inner(e)
    else:
        where = _compile(q, lookup)

        def test(e: Any) -> bool:
            return e.__class__ is dict and where(e)

    def elem_match(v: Any) -> bool:
        if v.__class__ is not list:
            return False
        for e in v:
            if test(e):
                return True
        return False
    return elem_match


def _present(v: Any) -> bool:
    return v is not M


# ---- object-level fast paths (top-level fields: one dict lookup, no extra calls)

_RANGE_TEMPLATE = """
def make(f, M, fallback, canon, {qs}):
    def pred(o):
        v = o.get(f, M)
        t = v.__class__
        if {test}:
{prep}            return {expr}
        if t is list or t is dict:
            return fallback(v)
        return False
    return pred
"""

_DATE_PREP = """            if not (len(v) == 24 and v[23] == "Z" and v[10] == "T" and v[19] == "."):
                v = canon(v)
                if v is None:
                    return False
"""


@lru_cache(maxsize=256)
def _range_maker(kind: str, ops: Tuple[str, ...]) -> Callable:
    names = [f"q{i}" for i in range(len(ops))]
    expr = " and ".join(f"v {_SYM[op]} {n}" for op, n in zip(ops, names))
    test = "t is int or t is float" if kind == "num" else "t is str"
    prep = _DATE_PREP if kind == "date" else ""
    src = _RANGE_TEMPLATE.format(qs=", ".join(names), test=test, prep=prep, expr=expr)
    ns: Dict[str, Any] = {}
    exec(src, ns)  # noqa: S102 - generated from fixed operator symbols only
    return ns["make"]


def _range_fast(path: str, cmps: Dict[str, Any], date_field: bool) -> Optional[Predicate]:
    """One closure for all comparisons on a top-level field when they agree on a type."""
    kinds = set()
    qs = []
    for op, q in cmps.items():
        q = _datify(q, date_field)
        c = q.__class__
        if c is int or c is float:
            kinds.add("num")
        elif c is str and not date_field:
            kinds.add("str")
        elif date_field and c is dict and q.get("__type") == "Date" and q.get("iso").__class__ is str:
            qi = canonical_iso(q["iso"])
            if qi is None:
                raise query_error(f"{op} needs a valid date, got {q!r}")
            kinds.add("date")
            q = qi
        else:
            return None
        qs.append(q)
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    fallback = _all_of([_cmp_vp(op, q, date_field) for op, q in cmps.items()])
    if kind == "num" and date_field:
        return None  # numbers never match a date field: leave it to the generic path
    return _range_maker(kind, tuple(cmps))(path, M, fallback, canonical_iso, *qs)


def _fast_op(path: str, op: str, q: Any, cond: dict) -> Optional[Predicate]:
    """An object-level predicate for common operators on a top-level, non-date field."""
    f = path
    c = q.__class__
    if op == "$exists" and c in (bool, int):
        if q:
            return lambda o: f in o
        return lambda o: f not in o
    if op in ("$eq", "$ne") and c is str:
        if op == "$eq":
            def eq_str(o: dict) -> bool:
                v = o.get(f, M)
                return v == q or (v.__class__ is list and q in v)
            return eq_str

        def ne_str(o: dict) -> bool:
            v = o.get(f, M)
            return v != q and not (v.__class__ is list and q in v)
        return ne_str
    if op in ("$eq", "$ne") and (c is int or c is float):
        vp = _eq_vp(q)
        want = op == "$eq"

        def eq_num(o: dict) -> bool:
            v = o.get(f, M)
            t = v.__class__
            if t is int or t is float:
                return (v == q) is want
            if t is list:
                return vp(v) is want
            return not want
        return eq_num
    if op in ("$in", "$nin"):
        vp = _in_vp(q, op, False)
        strs = frozenset(x for x in q if x.__class__ is str)
        nums = frozenset(x for x in q if x.__class__ is int or x.__class__ is float)
        if op == "$in":
            def in_field(o: dict) -> bool:
                v = o.get(f, M)
                t = v.__class__
                if t is str:
                    return v in strs
                if t is int or t is float:
                    return v in nums
                return vp(v)
            return in_field

        def nin_field(o: dict) -> bool:
            v = o.get(f, M)
            t = v.__class__
            if t is str:
                return v not in strs
            if t is int or t is float:
                return v not in nums
            return not vp(v)
        return nin_field
    if op == "$regex":
        vp = _regex_vp(q, cond.get("$options", ""))
        search = compile_regex(q, cond.get("$options", "")).search

        def regex_field(o: dict) -> bool:
            v = o.get(f, M)
            if v.__class__ is str:
                return search(v) is not None
            return vp(v)
        return regex_field
    return None


def _validate_ops(path: str, ops: dict) -> None:
    for k in ops:
        if not (isinstance(k, str) and k.startswith("$")):
            raise query_error(f"field {path!r}: cannot mix operators and plain keys in {ops!r}")
        if k not in _FIELD_OPS:
            raise query_error(f"unknown query operator {k!r} on field {path!r}"
                              f" (supported: {', '.join(sorted(_FIELD_OPS))})")
    if "$options" in ops and "$regex" not in ops:
        raise query_error(f"field {path!r}: $options needs a $regex beside it")
    bounds = [k for k in ops if k in DISTANCE_KEYS]
    if bounds and "$nearSphere" not in ops:
        raise query_error(f"field {path!r}: {', '.join(bounds)} needs a $nearSphere beside it")


def _compile_field(path: str, cond: Any, lookup: Optional[Lookup]) -> Predicate:
    if not isinstance(path, str) or not path:
        raise query_error(f"invalid field name {path!r} in where")
    simple = "." not in path
    date_field = path in DATE_FIELDS
    if not is_operator_object(cond):
        q = _datify(cond, date_field)
        if simple and not date_field:
            fast = _fast_op(path, "$eq", q, {})
            if fast is not None:
                return fast
            return _on_field(path, _eq_vp(q))
        vp = _eq_vp(q)
        get = field_getter(path)
        if not simple:
            vp = _fan(vp)
        return lambda o: vp(get(o))
    _validate_ops(path, cond)
    if not simple:
        get = field_getter(path)
        vp = _ops_vp(path, cond, lookup, fan=True)
        return lambda o: vp(get(o))
    preds: List[Predicate] = []
    rest: Dict[str, Any] = {}
    cmps = {op: q for op, q in cond.items() if op in _CMP}
    if cmps:
        fast = _range_fast(path, cmps, date_field)
        if fast is not None:
            preds.append(fast)
        else:
            rest.update(cmps)
    for op, q in cond.items():
        if op in _CMP:
            continue
        fast = None if date_field or op == "$options" else _fast_op(path, op, q, cond)
        if fast is not None:
            preds.append(fast)
        elif op != "$options" or "$regex" in rest or date_field:
            rest[op] = q
    if "$options" in rest and "$regex" not in rest:
        del rest["$options"]
    if rest:
        vp = _ops_vp(path, rest, lookup, fan=False)
        if date_field:
            get = field_getter(path)
            preds.append(lambda o: vp(get(o)))
        else:
            preds.append(_on_field(path, vp))
    return _all_of(preds)


def _compile_list(key: str, value: Any, lookup: Optional[Lookup]) -> List[Predicate]:
    if not isinstance(value, list) or not value:
        raise query_error(f"{key} needs a non-empty array of where objects, got {value!r}")
    return [_compile(w, lookup) for w in value]


def _or_of_equalities(branches: Any) -> Optional[Tuple[str, list]]:
    """(field, values) when every $or branch is {field: plain value} on one field."""
    if not isinstance(branches, list) or len(branches) < 2:
        return None
    field = None
    values = []
    for b in branches:
        if not isinstance(b, dict) or len(b) != 1:
            return None
        (k, v), = b.items()
        if not isinstance(k, str) or k.startswith("$") or (field is not None and k != field) \
                or is_operator_object(v):
            return None
        field = k
        values.append(v)
    return field, values


def _related_to(spec: Any, lookup: Optional[Lookup]) -> Predicate:
    if (not isinstance(spec, dict) or not isinstance(spec.get("object"), dict)
            or not isinstance(spec.get("key"), str)):
        raise query_error(f"$relatedTo needs {{\"object\": Pointer, \"key\": \"field\"}}, got {spec!r}")
    obj = spec["object"]
    cls, oid = obj.get("className"), obj.get("objectId")
    if not isinstance(cls, str) or not isinstance(oid, str):
        raise query_error(f"$relatedTo: object must be a Pointer with className and objectId, got {obj!r}")
    ids = frozenset(_need_lookup(lookup, "$relatedTo").related_ids(cls, oid, spec["key"]))

    def related(o: dict) -> bool:
        return o.get("objectId") in ids
    return related


def compile_where(where: Optional[dict], lookup: Optional[Lookup] = None,
                  class_name: Optional[str] = None) -> Predicate:
    """Compile REST ``where`` JSON into a predicate obj -> bool (see module doc).

    ``class_name`` (the queried class) is optional: with it and a ``lookup``,
    ``{"relationField": Pointer}`` matches the objects whose relation holds
    that pointer (Parse's shorthand for the owning side of a relation).
    """
    try:
        pred = _compile(where, lookup)
        if class_name is not None and lookup is not None and isinstance(where, dict):
            pred = _with_relation_equality(pred, where, lookup, class_name)
        return pred
    except RecursionError:
        raise query_error("where is nested too deeply") from None


def _with_relation_equality(pred: Predicate, where: dict, lookup: Lookup, class_name: str) -> Predicate:
    """Top-level {"f": Pointer} also matches when f is a Relation holding that pointer."""
    alts = []
    for key, cond in where.items():
        if (isinstance(key, str) and "." not in key and isinstance(cond, dict)
                and cond.get("__type") == "Pointer" and isinstance(cond.get("objectId"), str)):
            alts.append((key, cond.get("className"), cond["objectId"]))
    if not alts:
        return pred
    rest = _compile({k: v for k, v in where.items() if k not in {a[0] for a in alts}}, lookup)
    related_ids = lookup.related_ids
    field_tests = []
    for key, target_class, target_id in alts:
        plain = _compile({key: where[key]}, lookup)

        def test(o: dict, plain_value_key=key, _cls=target_class, _id=target_id, _plain=plain) -> bool:
            if _plain(o):
                return True
            v = o.get(plain_value_key)
            return (v.__class__ is dict and v.get("__type") == "Relation" and v.get("className") == _cls
                    and _id in related_ids(class_name, o.get("objectId"), plain_value_key))
        field_tests.append(test)
    return _all_of([rest] + field_tests)


def _compile(where: Optional[dict], lookup: Optional[Lookup]) -> Predicate:
    if where is None:
        return _true
    if not isinstance(where, dict):
        raise query_error(f"where must be a JSON object, got {type(where).__name__}: {where!r}")
    preds: List[Predicate] = []
    for key, cond in where.items():
        if not isinstance(key, str):
            raise query_error(f"invalid key {key!r} in where")
        if key.startswith("$"):
            if key == "$and":
                preds.append(_all_of(_compile_list(key, cond, lookup)))
            elif key == "$or":
                same = _or_of_equalities(cond)
                if same is not None:  # a = 1 or a = 2  ->  a in (1, 2): one closure
                    preds.append(_compile_field(same[0], {"$in": same[1]}, lookup))
                else:
                    preds.append(_any_of(_compile_list(key, cond, lookup)))
            elif key == "$nor":
                preds.append(_negate(_any_of(_compile_list(key, cond, lookup))))
            elif key == "$relatedTo":
                preds.append(_related_to(cond, lookup))
            else:
                raise query_error(f"unknown top-level query operator {key!r}"
                                  " (supported: $and, $or, $nor, $relatedTo)")
        else:
            preds.append(_compile_field(key, cond, lookup))
    return _all_of(preds)


# --------------------------------------------------------------------------- $nearSphere ordering

class NearSpec:
    """Where a query's $nearSphere points: the executor sorts by ``distance`` ascending."""
    __slots__ = ("field", "latitude", "longitude", "_get", "_lat", "_cos", "_lng")

    def __init__(self, field: str, latitude: float, longitude: float):
        self.field = field
        self.latitude = latitude
        self.longitude = longitude
        self._get = field_getter(field)
        self._lat = _radians(latitude)
        self._cos = _cos(self._lat)
        self._lng = _radians(longitude)

    def _one(self, v: Any) -> float:
        if v.__class__ is not dict or v.get("__type") != "GeoPoint":
            return inf
        lat, lng = v.get("latitude"), v.get("longitude")
        if lat.__class__ not in (int, float) or lng.__class__ not in (int, float):
            return inf
        lat = _radians(lat)
        h = _sin((lat - self._lat) / 2.0) ** 2 + \
            self._cos * _cos(lat) * _sin((_radians(lng) - self._lng) / 2.0) ** 2
        return 2.0 * _asin(_sqrt(h if h < 1.0 else 1.0))

    def distance(self, obj: dict) -> float:
        """Radians from the query point to the object's GeoPoint (nearest of an array); inf if none."""
        v = self._get(obj)
        if v.__class__ is dict:
            return self._one(v)
        if isinstance(v, list):
            return min((self._one(e) for e in v), default=inf)
        return inf

    def __repr__(self) -> str:
        return f"NearSpec({self.field!r}, latitude={self.latitude}, longitude={self.longitude})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, NearSpec) and (self.field, self.latitude, self.longitude)
                == (other.field, other.latitude, other.longitude))

    __hash__ = None  # type: ignore[assignment]


def near_spec(where: Optional[dict]) -> Optional[NearSpec]:
    """The $nearSphere of ``where`` (top level, or in a top-level $and), or None."""
    if not isinstance(where, dict):
        return None
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            for sub in cond:
                found = near_spec(sub)
                if found is not None:
                    return found
        elif isinstance(key, str) and not key.startswith("$") and isinstance(cond, dict) \
                and "$nearSphere" in cond:
            lat, lng = _geo_point(cond["$nearSphere"], "$nearSphere")
            return NearSpec(key, lat, lng)
    return None

"""The reference semantics of REST ``where`` JSON: matching, ordering, geo.

LeanCloud keeps objects in MongoDB, so a ``where`` means what MongoDB makes of
it; this module is the one place that says so. The embedded engine runs it,
and the REST backend runs it on the client for what Parse Server on Postgres
cannot evaluate. Objects are REST JSON dicts (``{"__type": "Date", "iso": ...}``
dates, pointers, GeoPoints; ``createdAt``/``updatedAt`` plain ISO strings).

Public API (stable; everything below is importable from this module, though
keys and paths live in ``values.py``, ordering in ``ordering.py``, spherical
geometry and the geo operators in ``geo.py``, subqueries and relations (the
parts that read the store) in ``subqueries.py``, ``$regex`` in ``regex.py``,
and the specialised closures of common cases in ``fastpaths.py``)
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
``order_key(order) -> Callable[[dict], tuple]``
    One key per ORDER BY field, chosen together: paths under one array take
    their values from the same element (MongoDB's compound sort key).
``path_keys(path) -> Callable[[dict], list[tuple]]``
    Every key a one-field MongoDB index on ``path`` holds for an object (for
    indexes that must agree with the sort).
``value_key(value, field=None) -> tuple``
    A total order over REST JSON values (MongoDB BSON order): missing = null <
    numbers < strings < objects (Pointer, GeoPoint, File, plain) < arrays <
    Bytes < booleans < dates; objects field by field in name order, each by
    type, then name, then value. Equal keys <=> equal values (1 == 1.0,
    True != 1, pointers by className+objectId (an included ``Object`` equals
    its pointer), GeoPoints by coordinates, Files by id,
    objects by deep equality ignoring key order, dates by instant). With
    ``field`` "createdAt"/"updatedAt" a plain ISO string is a date. Hashable.
``field_getter(path) -> Callable[[dict], Any]`` / ``get_path(obj, path)``
    The value at a dotted path, ``MISSING`` when absent (createdAt/updatedAt
    strings come back as Date dicts). A path through an array gives a
    ``Fanout`` (a list subclass) of each object element's value (``MISSING``
    for an object without it); other elements give nothing, so an array
    without objects gives an empty ``Fanout``: no value, not a missing one.
``near_spec(where) -> NearSpec | None``
    The ``$nearSphere`` of a where (top level or inside a top-level ``$and``),
    so the executor can sort nearest first: ``.field``, ``.latitude``,
    ``.longitude``, ``.distance(obj)`` (radians; ``inf`` when not a GeoPoint).
``values_equal(a, b) -> bool``  JSON equality as above (used by ops' AddUnique/Remove).
``regex_search(pattern, options)``  a ``$regex`` search in bounded time (regex.py);
    ``compile_regex`` its ``regex``-package pattern; ``statement_budget``.
``MISSING``  the absent-field marker.

Semantics (MongoDB; pinned by tests/test_matcher.py)
----------------------------------------------------
- ``{"f": v}``: equal, or an array field containing v (or equal to v when v is
  an array). ``{"f": null}`` matches null, missing, and arrays holding null.
  ``{"a.b": null}`` also matches a scalar ``a`` and an array ``a`` with an
  object lacking b, but not an array ``a`` without objects (``[1]``, ``[]``,
  ``[[]]``): MongoDB up to 8.x (9.0 changed it).
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
  ("tags.0"), and through arrays (any object element's value, MongoDB).
- Ordering: an object's key over several ORDER BY paths is the first, in
  ORDER BY order, of the keys a compound index on those paths would hold
  (MongoDB's sort stage); see ``ordering.py``.
- ``$regex`` (``$options`` from ``imsx``; PCRE syntax through the ``regex``
  package, ``\\Q..\\E`` translated) matches strings and arrays with a
  matching string element.
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
``$options`` -> code 102; an invalid (or too long, or too repetitive) regular
expression -> code 300; a statement out of its regex time budget -> 124; a bad
GeoPoint -> code 302 (``InvalidGeoPoint``); a subquery without a lookup -> 102.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ..errors import describe
from ..plan import is_operator_object
from .fastpaths import (
    all_of, always, any_of, date_comparison, field_predicate, negate, never, number_comparison, on_field,
    or_of_equalities, range_predicate, string_comparison,
)
from .geo import DISTANCE_KEYS, NearSpec, near_predicate, near_spec, within_predicate
from .ordering import order_key, order_objects, parse_order, path_keys, sort_key
from .regex import compile_regex, regex_predicate, regex_search, statement_budget
from .subqueries import Lookup, in_query_predicate, related_to_predicate, relation_holds, selected_values
from .values import (
    DATE_FIELDS, MISSING, QUERY_ERROR, REGEX_ERROR, Fanout, M, canonical_iso, field_getter, get_path,
    plain_value_key, query_error, value_key, values_equal,
)

__all__ = [
    "MISSING", "Fanout", "Lookup", "NearSpec", "compile_where", "order_objects", "order_key", "path_keys",
    "parse_order", "sort_key", "value_key", "field_getter", "get_path",
    "near_spec", "values_equal", "compile_regex", "regex_search", "statement_budget",
    "QUERY_ERROR", "REGEX_ERROR", "DATE_FIELDS",
]

Predicate = Callable[[dict], bool]
ValuePredicate = Callable[[Any], bool]


# --------------------------------------------------------------------------- predicates

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
            raise query_error(f"createdAt and updatedAt compare as dates, and {describe(q)} is not an ISO-8601 date"
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


def _cmp_vp(op: str, q: Any, date_field: bool) -> ValuePredicate:
    """Comparison predicate over a value (no type crossing; arrays: any element)."""
    q = _datify(q, date_field)
    c = q.__class__
    if q is None:
        vp = _eq_vp(None) if op in ("$lte", "$gte") else never
    elif c is int or c is float:
        vp = number_comparison(op, q)
    elif c is str:
        vp = string_comparison(op, q)
    elif c is dict and q.get("__type") == "Date":
        iso = q.get("iso")
        qi = canonical_iso(iso) if iso.__class__ is str else None
        if qi is None:
            raise query_error(f"{op} needs a valid date, got {describe(q)}")
        vp = date_comparison(op, qi)
        if not date_field:
            vp = _no_plain_strings(vp)
    else:
        if is_operator_object(q):
            raise query_error(f"{op} does not take an operator object: {describe(q)} is not supported")
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


# ---- $in / $nin

def _in_vp(values: Any, what: str, date_field: bool, strict: bool = True) -> ValuePredicate:
    """Membership; ``strict``: a non-date string on createdAt/updatedAt is an error
    (else, for values a subquery produced, it simply matches nothing)."""
    if not isinstance(values, list):
        raise query_error(f"{what} needs an array of values, got {describe(values)}")
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
        if v.__class__ is list:
            if others and plain_value_key(v) in others:
                return True
            for e in v:
                if scalar(e):
                    return True
            return False
        return scalar(v)
    return in_vp


# ---- one field: an operator document such as {"$gt": 1, "$lte": 5}

def _present(v: Any) -> bool:
    return v is not M


class _Field:
    """What an operator's handler knows of the field it tests."""
    __slots__ = ("path", "ops", "lookup", "fan", "date_field")

    def __init__(self, path: str, ops: dict, lookup: Optional[Lookup], fan: bool):
        self.path = path
        self.ops = ops  # the whole document: $regex reads $options, $nearSphere the distance bounds
        self.lookup = lookup
        self.fan = fan  # the path reaches through arrays of objects (its values come as a Fanout)
        self.date_field = path in DATE_FIELDS


# How a handler's value predicate joins the others of its document.
_MUST = 0             # must hold (for some value a fanned-out path reaches)
_MUST_NOT = 1         # must not hold (for any of them): negations match missing fields
_MUST_FANNED = 2      # must hold; it sees the Fanout itself
_MUST_NOT_FANNED = 3  # must not hold; it sees the Fanout itself

Handler = Callable[[_Field, str, Any], Tuple[int, ValuePredicate]]


def _op_equal(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return (_MUST if op == "$eq" else _MUST_NOT), _eq_vp(_datify(q, f.date_field))


def _op_compare(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return _MUST, _cmp_vp(op, q, f.date_field)


def _op_in(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return (_MUST if op == "$in" else _MUST_NOT), _in_vp(q, op, f.date_field)


def _op_exists(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    if q.__class__ not in (bool, int):
        raise query_error(f"$exists needs true or false, got {describe(q)}")
    # $exists false is the negation, so a fanned-out path needs every value absent
    return (_MUST if q else _MUST_NOT), _present


def _op_regex(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return _MUST, regex_predicate(q, f.ops.get("$options", ""))


def _op_not(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    if not is_operator_object(q):
        raise query_error(f"$not on field {describe(f.path)} needs an operator object such as"
                          f" {{\"$regex\": ...}}, got {describe(q)}")
    return _MUST_NOT_FANNED, _ops_vp(f.path, q, f.lookup, fan=f.fan)


def _op_all(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    if not isinstance(q, list):
        raise query_error(f"$all needs an array of values, got {describe(q)}")
    if not q:
        return _MUST, never  # Parse: $all [] matches nothing
    eqs = [_eq_vp(_datify(x, f.date_field)) for x in q]
    if f.fan:  # each value may be found in a different fanned-out value (MongoDB)
        return _MUST_FANNED, all_of([_fan(e) for e in eqs])
    return _MUST, all_of(eqs)


def _op_contained_by(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    inner = _in_vp(q, op, f.date_field)

    def contained(v: Any) -> bool:
        return v.__class__ is list and all(inner(e) for e in v)
    return _MUST, contained


def _op_elem_match(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return _MUST, _elem_match_vp(f.path, q, f.lookup)


def _op_size(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    if q.__class__ is not int:
        raise query_error(f"$size needs a whole number, got {describe(q)}")

    def size_is(v: Any) -> bool:
        return v.__class__ is list and len(v) == q
    return _MUST, size_is


def _op_in_query(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return (_MUST if op == "$inQuery" else _MUST_NOT), in_query_predicate(q, op, f.lookup)


def _op_select(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    values = selected_values(q, op, f.lookup)
    return (_MUST if op == "$select" else _MUST_NOT), _in_vp(values, op, f.date_field, strict=False)


def _op_near(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return _MUST, near_predicate(q, {k: f.ops[k] for k in f.ops if k in DISTANCE_KEYS})


def _op_within(f: _Field, op: str, q: Any) -> Tuple[int, ValuePredicate]:
    return _MUST, within_predicate(q, op)


#: Every operator a field's condition may use -> its handler.
_OPERATORS: Dict[str, Handler] = {
    "$eq": _op_equal, "$ne": _op_equal,
    "$lt": _op_compare, "$lte": _op_compare, "$gt": _op_compare, "$gte": _op_compare,
    "$in": _op_in, "$nin": _op_in, "$exists": _op_exists, "$regex": _op_regex, "$not": _op_not,
    "$all": _op_all, "$size": _op_size, "$containedBy": _op_contained_by, "$elemMatch": _op_elem_match,
    "$inQuery": _op_in_query, "$notInQuery": _op_in_query, "$select": _op_select, "$dontSelect": _op_select,
    "$nearSphere": _op_near, "$within": _op_within, "$geoWithin": _op_within,
}
#: Keys that qualify another operator and are read by its handler.
_MODIFIERS = ("$options", *DISTANCE_KEYS)
_FIELD_OPS = frozenset((*_OPERATORS, *_MODIFIERS))


def _ops_vp(path: str, ops: dict, lookup: Optional[Lookup], fan: bool) -> ValuePredicate:
    """The value predicate of an operator document such as {"$gt": 1, "$lte": 5}."""
    field = _Field(path, ops, lookup, fan)
    _validate_ops(path, ops)
    joined: Tuple[List[ValuePredicate], ...] = ([], [], [], [])
    for op, q in ops.items():
        handler = _OPERATORS.get(op)
        if handler is not None:  # a modifier has none: its operator's handler reads it
            how, vp = handler(field, op, q)
            joined[how].append(vp)
    positive, negative, fanned, negative_fanned = joined
    if fan:
        positive = [_fan(p) for p in positive]
        negative = [_fan(p) for p in negative]
    return all_of(positive + fanned + [negate(p) for p in negative + negative_fanned])


def _elem_match_vp(path: str, q: Any, lookup: Optional[Lookup]) -> ValuePredicate:
    """An array with one element meeting every condition: operators on the
    element itself ({"$gt": 1, "$lt": 5}) or a where over object elements."""
    if not isinstance(q, dict) or not q:
        raise query_error(f"$elemMatch on field {describe(path)} needs a non-empty object, got {describe(q)}")
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


def _validate_ops(path: str, ops: dict) -> None:
    for k in ops:
        if not (isinstance(k, str) and k.startswith("$")):
            raise query_error(f"field {describe(path)}: cannot mix operators and plain keys in {describe(ops)}")
        if k not in _FIELD_OPS:
            raise query_error(f"unknown query operator {describe(k)} on field {describe(path)}"
                              f" (supported: {', '.join(sorted(_FIELD_OPS))})")
    if "$options" in ops and "$regex" not in ops:
        raise query_error(f"field {describe(path)}: $options needs a $regex beside it")
    bounds = [k for k in ops if k in DISTANCE_KEYS]
    if bounds and "$nearSphere" not in ops:
        raise query_error(f"field {describe(path)}: {', '.join(bounds)} needs a $nearSphere beside it")


def _compile_field(path: str, cond: Any, lookup: Optional[Lookup]) -> Predicate:
    if not isinstance(path, str) or not path:
        raise query_error(f"invalid field name {describe(path)} in where")
    simple = "." not in path
    date_field = path in DATE_FIELDS
    if not is_operator_object(cond):
        q = _datify(cond, date_field)
        if simple and not date_field:
            fast = field_predicate(path, "$eq", q, "", lambda: _eq_vp(q))
            if fast is not None:
                return fast
            return on_field(path, _eq_vp(q))
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
        fast = range_predicate(path, {op: _datify(q, date_field) for op, q in cmps.items()}, date_field,
                               lambda: all_of([_cmp_vp(op, q, date_field) for op, q in cmps.items()]))
        if fast is not None:
            preds.append(fast)
        else:
            rest.update(cmps)
    field = _Field(path, cond, lookup, fan=False)
    for op, q in cond.items():
        if op in _CMP:
            continue
        fast = None if date_field or op == "$options" else field_predicate(
            path, op, q, cond.get("$options", ""), lambda op=op, q=q: _OPERATORS[op](field, op, q)[1])
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
            preds.append(on_field(path, vp))
    return all_of(preds)


def _compile_list(key: str, value: Any, lookup: Optional[Lookup]) -> List[Predicate]:
    if not isinstance(value, list) or not value:
        raise query_error(f"{key} needs a non-empty array of where objects, got {describe(value)}")
    return [_compile(w, lookup) for w in value]


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
    field_tests = [any_of([_compile({key: where[key]}, lookup),
                           relation_holds(lookup, class_name, key, target_class, target_id)])
                   for key, target_class, target_id in alts]
    return all_of([rest] + field_tests)


def _compile(where: Optional[dict], lookup: Optional[Lookup]) -> Predicate:
    if where is None:
        return always
    if not isinstance(where, dict):
        raise query_error(f"where must be a JSON object, got {type(where).__name__}: {describe(where)}")
    preds: List[Predicate] = []
    for key, cond in where.items():
        if not isinstance(key, str):
            raise query_error(f"invalid key {describe(key)} in where")
        if key.startswith("$"):
            if key == "$and":
                preds.append(all_of(_compile_list(key, cond, lookup)))
            elif key == "$or":
                same = or_of_equalities(cond)
                if same is not None:  # a = 1 or a = 2  ->  a in (1, 2): one closure
                    preds.append(_compile_field(same[0], {"$in": same[1]}, lookup))
                else:
                    preds.append(any_of(_compile_list(key, cond, lookup)))
            elif key == "$nor":
                preds.append(negate(any_of(_compile_list(key, cond, lookup))))
            elif key == "$relatedTo":
                preds.append(related_to_predicate(cond, lookup))
            else:
                raise query_error(f"unknown top-level query operator {describe(key)}"
                                  " (supported: $and, $or, $nor, $relatedTo)")
        else:
            preds.append(_compile_field(key, cond, lookup))
    return all_of(preds)

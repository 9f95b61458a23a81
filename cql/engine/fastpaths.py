"""The matcher's fast paths: the shapes its closures take for speed. Combinators
specialised for one and two predicates; comparisons generated with ``exec``
from fixed templates, so that the operator is inlined (no per-object call of
``operator.lt``); object-level closures for common operators on top-level
fields (one dict lookup); an ``$or`` of equalities on one field as one ``$in``.

Contract: every closure here answers exactly what the matcher's reference
value predicate answers (tests/test_matcher.py, TestProperties: the fast
top-level path agrees with the generic dotted path on generated wheres and
values). Each takes the reference predicate it stands in for (``generic``)
and falls back to it for the values it does not specialise (arrays, objects).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..plan import is_operator_object
from .regex import regex_search
from .values import MISSING as M, canonical_iso, query_error

__all__ = ["always", "never", "all_of", "any_of", "negate", "COMPARISONS", "number_comparison",
           "string_comparison", "date_comparison", "on_field", "range_predicate", "field_predicate",
           "or_of_equalities"]

Predicate = Callable[[dict], bool]
ValuePredicate = Callable[[Any], bool]

#: The comparison operators and the Python operator each is inlined as.
COMPARISONS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


# ---- combinators (the reference path uses these too)

def always(o: Any) -> bool:
    return True


def never(o: Any) -> bool:
    return False


def all_of(preds: List[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    """A predicate true when every one of ``preds`` is (shaped for one and two)."""
    if not preds:
        return always
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


def any_of(preds: List[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    """A predicate true when one of ``preds`` is (shaped for one and two)."""
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


def negate(p: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def neg(o: Any) -> bool:
        return not p(o)
    return neg


# ---- value predicates of one comparison (the reference path uses these too)

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
for _name, _sym in COMPARISONS.items():
    _ns: Dict[str, Any] = {}
    exec(_CMP_TEMPLATE.replace("{op}", _sym), _ns)  # noqa: S102 - fixed templates, no user text
    _CMP_MAKERS[_name] = _ns
del _name, _sym, _ns


def number_comparison(op: str, q: Any) -> ValuePredicate:
    """A number (or an array with a number element) ``op`` the number ``q``."""
    return _CMP_MAKERS[op]["make_num"](q, M)


def string_comparison(op: str, q: str) -> ValuePredicate:
    """A string (or an array with a string element) ``op`` the string ``q``, by code point."""
    return _CMP_MAKERS[op]["make_str"](q, M)


def date_comparison(op: str, qi: str) -> ValuePredicate:
    """A Date dict or (createdAt/updatedAt) an ISO string ``op`` the canonical ISO text ``qi``."""
    return _CMP_MAKERS[op]["make_date"](qi, canonical_iso, M)


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
    expr = " and ".join(f"v {COMPARISONS[op]} {n}" for op, n in zip(ops, names))
    test = "t is int or t is float" if kind == "num" else "t is str"
    prep = _DATE_PREP if kind == "date" else ""
    src = _RANGE_TEMPLATE.format(qs=", ".join(names), test=test, prep=prep, expr=expr)
    ns: Dict[str, Any] = {}
    exec(src, ns)  # noqa: S102 - generated from fixed operator symbols only
    return ns["make"]


def on_field(field: str, vp: ValuePredicate) -> Predicate:
    """``vp`` of a top-level field: one dict lookup."""
    def on_field(o: dict) -> bool:
        return vp(o.get(field, M))
    return on_field


def range_predicate(path: str, cmps: Dict[str, Any], date_field: bool,
                    generic: Callable[[], ValuePredicate]) -> Optional[Predicate]:
    """One closure for all the comparisons on a top-level field (``cmps``: op ->
    value, createdAt/updatedAt strings already made Dates) when they agree on
    a type, else None. ``generic()`` builds the reference predicate of all of
    them, for arrays and objects."""
    kinds = set()
    qs = []
    for op, q in cmps.items():
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
    if kind == "num" and date_field:
        return None  # numbers never match a date field: leave it to the generic path
    return _range_maker(kind, tuple(cmps))(path, M, generic(), canonical_iso, *qs)


def field_predicate(path: str, op: str, q: Any, options: str,
                    generic: Callable[[], ValuePredicate]) -> Optional[Predicate]:
    """An object-level predicate for ``{path: {op: q}}`` on a top-level field that
    is not a date, or None when there is none. ``generic()`` builds the
    reference value predicate of the positive operator ($eq for $ne, $in for
    $nin, $regex), which the closure uses for the values it does not specialise."""
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
        vp = generic()
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
        vp = generic()
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
    if op == "$regex" and c is str and options.__class__ is str:
        vp = generic()
        search = regex_search(q, options)

        def regex_field(o: dict) -> bool:
            v = o.get(f, M)
            if v.__class__ is str:
                return search(v)
            return vp(v)
        return regex_field
    return None


def or_of_equalities(branches: Any) -> Optional[Tuple[str, list]]:
    """(field, values) when every $or branch is {field: plain value} on one field:
    ``a = 1 or a = 2`` then compiles as ``a in (1, 2)``, one closure."""
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

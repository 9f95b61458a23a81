"""MongoDB fidelity of the embedded engine (issue 11): dotted paths through
arrays that hold no object, embedded-object comparison, and compound sorts on
paths that share an array.

Three kinds of evidence:
- the issue's examples, as CQL statements on the embedded engine;
- answers replayed from MongoDB's own test suite (jstests
  ``null_query_semantics.js`` as of MongoDB 4.x-8.x, ``sort_dotted_paths.js``),
  minus the documents holding BSON ``undefined``, which JSON cannot express;
- property tests comparing the engine with a small reference written here
  from MongoDB's rules, independent of ``cql.engine.values``/``ordering``.
"""
from __future__ import annotations

from functools import cmp_to_key
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cql
from cql.engine.matcher import compile_where, order_key, order_objects, path_keys, sort_key, value_key
from cql.plan import Create, Find


def engine(rows: List[dict], cls: str = "T") -> cql.Connection:
    conn = cql.connect(None, strict_types=False)  # the shapes mix types in one field
    conn.backend.run(Create(cls, tuple(rows)))
    return conn


def ks(conn, sql: str, *params) -> List[int]:
    return [o["k"] for o in conn.execute(sql, *params).objects]


# ------------------------------------------------------------------ the issue's examples

class TestIssueExamples:
    @pytest.fixture(scope="class")
    def shapes(self):
        conn = cql.connect(None, strict_types=False)
        conn.execute("insert into T (k, o) values (1, [1, 2]), (2, []), (3, [null]), (4, 5), "
                     "(5, [{a: 1}]), (6, [{b: 1}])")
        conn.execute("insert into T (k) values (7)")
        yield conn
        conn.close()

    @pytest.mark.parametrize("cond,expected", [
        ("o.a = null", [4, 6, 7]),
        ("o.a is null", [4, 6, 7]),
        ("o.a in (null, 9)", [4, 6, 7]),
        ("o.a all (null)", [4, 6, 7]),
        ("o.a <= null", [4, 6, 7]),
        ("o.a >= null", [4, 6, 7]),
        ("o.a < null", []),
        ("o.a != null", [1, 2, 3, 5]),
        ("o.a is not null", [1, 2, 3, 5]),
        ("o.a not in (null, 9)", [1, 2, 3, 5]),
        ("o.a is not exists", [1, 2, 3, 4, 6, 7]),
        ("o.a is exists", [5]),
        ("o.a = 1", [5]),
        ("o.a != 1", [1, 2, 3, 4, 6, 7]),
    ])
    def test_dotted_path_through_an_array_without_objects(self, shapes, cond, expected):
        assert ks(shapes, f"select k from T where {cond} order by k") == expected

    def test_objects_compare_type_before_field_name(self):
        conn = engine([{"k": 1, "o": {"a": "x"}}, {"k": 2, "o": {"b": 1}}])
        assert ks(conn, "select k from T order by o, k") == [2, 1]
        assert ks(conn, "select k from T order by -o, k") == [1, 2]
        assert ks(conn, "select k from T where o < {b: 1}") == []
        assert ks(conn, "select k from T where o > {a: 'x'}") == []
        assert ks(conn, "select k from T where o < {a: 'x'}") == [2]
        assert ks(conn, "select k from T where o > {b: 1}") == [1]

    def test_object_equality_still_ignores_key_order(self):
        conn = engine([{"k": 1, "o": {"a": 1, "b": "x"}}, {"k": 2, "o": {"b": "x", "a": 1}},
                       {"k": 3, "o": {"a": 1}}])
        assert ks(conn, "select k from T where o = {b: 'x', a: 1} order by k") == [1, 2]
        assert ks(conn, "select k from T where o >= {b: 'x', a: 1} order by k") == [1, 2]
        assert ks(conn, "select k from T where o < {a: 1, b: 'x'} order by k") == [3]  # a prefix is less

    def test_compound_sort_takes_one_array_element_at_a_time(self):
        conn = engine([{"k": 1, "a": [{"b": 4, "c": 1}, {"b": 1, "c": 2}]},
                       {"k": 2, "a": [{"b": 2, "c": 1}, {"b": 4, "c": 2}]}])
        assert ks(conn, "select k from T order by a.c, a.b, k") == [2, 1]
        assert ks(conn, "select k from T order by a.c, a.b, k limit 1") == [2]


# ------------------------------------------------------------------ MongoDB's own tests

# null_query_semantics.js (MongoDB 4.x-8.x; 9.0 changed it, SERVER-36681). The
# documents holding BSON undefined are left out; in a_object_array_all_b_nulls
# the {b: undefined} element is dropped.
NULL_DOCS = {
    "a_empty_subobject": {"a": {}},
    "a_null": {"a": None},
    "a_number": {"a": 4},
    "a_subobject_b_not_null": {"a": {"b": "hi"}},
    "a_subobject_b_null": {"a": {"b": None}},
    "no_a": {},
    "a_double_array": {"a": [[]]},
    "a_empty_array": {"a": []},
    "a_object_array_all_b_nulls": {"a": [{"b": None}, {"b": None}, {}]},
    "a_object_array_no_b_nulls": {"a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
    "a_object_array_some_b_nulls": {"a": [{"b": None}, {"b": 3}, {"b": None}]},
    "a_object_array_some_b_missing": {"a": [{"b": 3}, {}]},
    "a_value_array_all_nulls": {"a": [None, None]},
    "a_value_array_no_nulls": {"a": [1, "string", 4]},
    "a_value_array_with_null": {"a": [1, "string", None, 4]},
}
DOTTED_NULL = {"a_empty_subobject", "a_null", "a_number", "a_subobject_b_null", "no_a",
               "a_object_array_all_b_nulls", "a_object_array_some_b_nulls", "a_object_array_some_b_missing"}
TOP_NULL = {"a_null", "no_a", "a_value_array_all_nulls", "a_value_array_with_null"}
EVERY = set(NULL_DOCS)


@pytest.mark.parametrize("where,expected", [
    ({"a.b": None}, DOTTED_NULL),
    ({"a.b": {"$eq": None}}, DOTTED_NULL),
    ({"a.b": {"$ne": None}}, EVERY - DOTTED_NULL),
    ({"a.b": {"$in": [None, 75]}}, DOTTED_NULL),
    ({"$or": [{"a.b": None}, {"a.b": 75}]}, DOTTED_NULL),
    ({"a.b": {"$nin": [None, 75]}}, EVERY - DOTTED_NULL),
    ({"a.b": {"$exists": False}},
     {"no_a", "a_empty_subobject", "a_null", "a_number", "a_double_array", "a_empty_array",
      "a_value_array_all_nulls", "a_value_array_no_nulls", "a_value_array_with_null"}),
    ({"a": None}, TOP_NULL),
    ({"a": {"$ne": None}}, EVERY - TOP_NULL),
    ({"a": {"$not": {"$gte": None}}}, EVERY - TOP_NULL),
    ({"a": {"$in": [None, 75]}}, TOP_NULL),
    ({"a": {"$nin": [None, 75]}}, EVERY - TOP_NULL),
    ({"a": {"$nin": [None, []]}}, EVERY - TOP_NULL - {"a_double_array", "a_empty_array"}),
    ({"a": {"$elemMatch": {"$eq": None}}}, {"a_value_array_all_nulls", "a_value_array_with_null"}),
])
def test_null_query_semantics_js(where, expected):
    docs = [dict(d, _id=name) for name, d in NULL_DOCS.items()]
    pred = compile_where(where)
    assert {d["_id"] for d in docs if pred(d)} == expected
    conn = engine([dict(d, name=name) for name, d in NULL_DOCS.items()])
    got = conn.backend.run(Find("T", where=where, limit=1000)).objects
    assert {o["name"] for o in got} == expected


# sort_dotted_paths.js: (documents by _id, [(sort pattern, expected _id order)]); the
# pattern's trailing _id becomes k. Documents holding undefined are left out.
SORT_CASES = [
    ({1: {"a": 1}, 3: {"a": None}, 4: {"a": {}}, 5: {"a": []}, 6: {"a": [1]}, 7: {"a": [[1]]}, 8: {}},
     [("a,k", [5, 3, 8, 1, 6, 4, 7]), ("-a,k", [7, 4, 1, 6, 3, 8, 5]),
      ("a.0,k", [1, 3, 4, 5, 8, 6, 7]), ("-a.0,k", [7, 6, 1, 3, 4, 5, 8])]),
    ({1: {"a": 1, "b": [2]}, 2: {"a": 2, "b": []}, 3: {"a": [], "b": 4}, 4: {"a": [1], "b": 4},
      5: {"a": [2, 3], "b": 2}, 6: {"a": 2, "b": [3, 5]}, 7: {"a": 1, "b": [1, 3]},
      8: {"a": [1, 2], "b": 3}, 9: {"a": 2, "b": 3}},
     [("a,b,k", [3, 7, 1, 8, 4, 2, 5, 6, 9]), ("a,-b,k", [3, 4, 7, 8, 1, 6, 9, 5, 2]),
      ("-a,b,k", [5, 2, 6, 8, 9, 7, 1, 4, 3]), ("-a,-b,k", [5, 6, 8, 9, 2, 4, 7, 1, 3])]),
    ({1: {"a": {"b": 2}}, 2: {"a": {"b": []}}, 3: {"a": {"b": [2, 3]}}, 4: {"a": {"c": 1}}, 5: {"a": []},
      6: {"a": [{"b": [5]}]}, 7: {"a": [{"b": [4, 5]}, {"b": 7}]}, 8: {"a": [{"b": [1, 3]}, {"b": [2, 5]}]},
      9: {"a": [{"b": []}, {"b": [1, 3]}]}},
     [("a.b,k", [2, 9, 4, 5, 8, 1, 3, 7, 6]), ("a.b,-k", [9, 2, 5, 4, 8, 3, 1, 7, 6]),
      ("-a.b,k", [7, 6, 8, 3, 9, 1, 4, 5, 2]), ("-a.b,-k", [7, 8, 6, 9, 3, 1, 5, 4, 2])]),
    ({1: {"a": [{"b": 4, "c": 1}, {"b": 1, "c": 2}]}, 2: {"a": [{"b": 2, "c": 1}, {"b": 4, "c": 2}]},
      3: {"a": [{"b": 6, "c": 1}, {"b": 9, "c": 2}]}, 4: {"a": [{"b": 4, "c": 1}, {"b": 5, "c": 3}]},
      5: {"a": [{"b": 2, "c": 1}, {"b": 7, "c": 3}]}, 6: {"a": [{"b": 5, "c": 1}, {"b": 3, "c": 3}]},
      7: {"a": [{"b": 7, "c": 2}, {"b": 2, "c": 3}]}, 8: {"a": [{"b": 3, "c": 2}, {"b": 8, "c": 3}]},
      9: {"a": [{"b": 8, "c": 2}, {"b": 6, "c": 3}]}},
     [("a.c,a.b,k", [2, 5, 1, 4, 6, 3, 8, 7, 9]), ("a.c,-a.b,k", [3, 6, 1, 4, 2, 5, 9, 7, 8]),
      ("-a.c,a.b,k", [7, 6, 4, 9, 5, 8, 1, 2, 3]), ("-a.c,-a.b,k", [8, 5, 9, 4, 6, 7, 3, 2, 1]),
      ("a.c,a,k", [2, 5, 1, 4, 6, 3, 8, 7, 9]), ("a.c,-a,k", [3, 6, 1, 4, 2, 5, 9, 7, 8]),
      ("-a.c,a,k", [7, 6, 4, 9, 5, 8, 1, 2, 3]), ("-a.c,-a,k", [8, 5, 9, 4, 6, 7, 3, 2, 1])]),
    ({1: {"a": [{"b": [4, 1], "c": 1}, {"b": [1, 5], "c": 2}]}, 2: {"a": [{"b": 2, "c": [1, 3]}, {"b": 4, "c": [2, 4]}]},
      3: {"a": [{"b": [6, 4], "c": 1}, {"b": [9, 7], "c": 2}]}, 4: {"a": [{"b": 4, "c": [1, 2]}, {"b": 5, "c": [3, 2]}]},
      5: {"a": [{"b": [2, 3], "c": 1}, {"b": [7, 6], "c": 3}]}, 6: {"a": [{"b": 5, "c": []}, {"b": 3, "c": 3}]},
      7: {"a": [{"b": [], "c": 2}, {"b": 2, "c": 3}]}, 8: {"a": [{"b": 3, "c": [2]}, {"b": 8, "c": [3]}]},
      9: {"a": [{"b": [8], "c": 2}, {"b": [6], "c": 3}]}},
     [("a.c,a.b,k", [6, 1, 2, 5, 3, 4, 7, 8, 9]), ("a.c,-a.b,k", [6, 3, 1, 4, 5, 2, 9, 8, 7]),
      ("-a.c,a.b,k", [2, 7, 6, 4, 5, 9, 8, 1, 3]), ("-a.c,-a.b,k", [2, 8, 5, 9, 4, 6, 7, 3, 1]),
      ("a.b,a,k", [7, 1, 2, 5, 6, 8, 4, 3, 9]), ("a.b,-a,k", [7, 1, 5, 2, 8, 6, 3, 4, 9]),
      ("-a.b,a,k", [3, 8, 9, 5, 6, 4, 1, 2, 7]), ("-a.b,-a,k", [3, 9, 8, 5, 1, 4, 6, 2, 7]),
      ("a.0.b,k", [7, 1, 2, 5, 8, 3, 4, 6, 9]), ("a.0.b,-k", [7, 1, 5, 2, 8, 4, 3, 6, 9]),
      ("-a.0.b,k", [9, 3, 6, 1, 4, 5, 8, 2, 7]), ("-a.0.b,-k", [9, 3, 6, 4, 1, 8, 5, 2, 7])]),
    ({1: {"a": {"b": 1}, "c": [{"d": [4, 1]}, {"d": [1, 5]}]}, 2: {"a": [{"b": [1, 3]}, {"b": [2, 4]}], "c": {"d": 2}},
      3: {"a": {"b": 1}, "c": [{"d": [6, 4]}, {"d": [9, 7]}]}, 4: {"a": [{"b": [2]}, {"b": [3, 2]}], "c": {"d": 4}},
      5: {"a": {"b": 1}, "c": [{"d": [2, 3]}, {"d": [7, 6]}]}, 6: {"a": [{"b": []}, {"b": 3}], "c": {"d": 4}},
      7: {"a": {"b": 2}, "c": [{"d": []}, {"d": 2}]}, 8: {"a": [{"b": [2]}, {"b": [3]}], "c": {"d": 3}},
      9: {"a": {"b": 3}, "c": [{"d": [8]}, {"d": [6]}]}},
     [("a.b,c.d,k", [6, 1, 2, 5, 3, 7, 8, 4, 9]), ("a.b,-c.d,k", [6, 3, 5, 1, 2, 4, 8, 7, 9]),
      ("-a.b,c.d,k", [2, 8, 4, 6, 9, 7, 1, 5, 3]), ("-a.b,-c.d,k", [2, 9, 4, 6, 8, 7, 3, 5, 1])]),
    ({1: {"a": {"b": {"c": 2}}}, 2: {"a": {"b": {"c": []}}}, 3: {"a": [{"b": []}, {"b": {"c": []}}]},
      4: {"a": [{"b": {"c": 1}}]}, 5: {"a": {"b": [{"c": 3}, {"d": 1}]}}, 6: {"a": {"b": [{"c": [5]}]}},
      7: {"a": []}, 8: {"a": {"b": [{"c": [1, 3]}, {"c": [2, 5]}]}}, 9: {"a": [{"b": [{"c": []}, {"c": [1, 3]}]}]}},
     [("a.b.c,k", [2, 3, 9, 5, 7, 4, 8, 1, 6]), ("a.b.c,-k", [9, 3, 2, 7, 5, 8, 4, 1, 6]),
      ("-a.b.c,k", [6, 8, 5, 9, 1, 4, 3, 7, 2]), ("-a.b.c,-k", [8, 6, 9, 5, 1, 4, 7, 3, 2])]),
]


@pytest.mark.parametrize("docs,order,expected", [
    (docs, order, expected) for docs, tests in SORT_CASES for order, expected in tests],
    ids=[f"{order}-{n}" for n, (_, tests) in enumerate(SORT_CASES) for order, _ in tests])
def test_sort_dotted_paths_js(docs, order, expected):
    objs = [dict(d, k=k, objectId=f"{k:03d}") for k, d in docs.items()]
    assert [o["k"] for o in order_objects(objs, order)] == expected
    conn = engine([dict(d, k=k) for k, d in docs.items()])
    got = conn.backend.run(Find("T", order=tuple(order.split(",")), limit=1000)).objects
    assert [o["k"] for o in got] == expected
    got = conn.backend.run(Find("T", order=tuple(order.split(",")), limit=3, skip=2)).objects
    assert [o["k"] for o in got] == expected[2:5]


def test_parallel_arrays_sort_each_array_on_its_own():
    """MongoDB refuses to sort when two different arrays lie on the ORDER BY paths
    of one object; we decided to take every combination (each array by its own
    smallest/largest element), which is what the other objects get anyway."""
    objs = [{"k": 1, "a": [], "b": 1}, {"k": 2, "a": 1, "b": []}, {"k": 3, "a": [], "b": []},
            {"k": 4, "a": [2, 0], "b": [5, 3]}, {"k": 5, "a": {"b": [1, 2], "c": [3, 4]}}]
    assert [o["k"] for o in order_objects(objs, "a,b,k")] == [3, 1, 4, 2, 5]
    assert [o["k"] for o in order_objects(objs, "-a,-b,k")] == [5, 4, 2, 1, 3]
    assert order_key("a.b,-a.c")(objs[4]) == (value_key(1), value_key(4))


# ------------------------------------------------------------------ the reference

class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
UNDEFINED = object()  # the sort key of an empty array where a path ends (BSON undefined)


def rank(v: Any) -> int:
    """BSON canonical type order of the JSON values the generators make."""
    if v is UNDEFINED:
        return 0
    if v is None or v is MISSING:
        return 1
    if isinstance(v, bool):
        return 8
    if isinstance(v, (int, float)):
        return 2
    if isinstance(v, str):
        return 3
    if isinstance(v, dict):
        return 4
    assert isinstance(v, list)
    return 5


def sign(x: Any, y: Any) -> int:
    return (x > y) - (x < y)


def compare(x: Any, y: Any) -> int:
    """MongoDB's comparison (BSONElement::woCompare), with an object's fields
    taken in sorted-name order (our decision: key order does not matter)."""
    rx, ry = rank(x), rank(y)
    if rx != ry:
        return sign(rx, ry)
    if rx in (0, 1):
        return 0
    if rx in (2, 3, 8):
        return sign(x, y)
    if rx == 5:
        for ex, ey in zip(x, y):
            c = compare(ex, ey)
            if c:
                return c
        return sign(len(x), len(y))
    for (nx, vx), (ny, vy) in zip(sorted(x.items()), sorted(y.items())):
        c = sign(rank(vx), rank(vy)) or sign(nx, ny) or compare(vx, vy)
        if c:
            return c
    return sign(len(x), len(y))


def reached(doc: dict, path: str) -> list:
    """The values MongoDB's matcher sees at ``path``: through an array it visits
    the object elements only (an object without the rest gives MISSING); any
    other element gives nothing."""
    parts = path.split(".")

    def go(v: Any, i: int) -> list:
        if i == len(parts):
            return [v]
        if isinstance(v, dict):
            return go(v[parts[i]], i + 1) if parts[i] in v else [MISSING]
        if isinstance(v, list):
            return [x for e in v if isinstance(e, dict) for x in go(e, i)]
        return [MISSING]
    return go(doc, 0)


def equal(v: Any, q: Any) -> bool:
    """{f: q} on one reached value: the value, or an element of an array value, equals q."""
    if q is None and v is MISSING:
        return True
    return any(compare(c, q) == 0 for c in [v] + (v if isinstance(v, list) else []))


def ordered(op: str, v: Any, q: Any) -> bool:
    if q is None:
        return op in ("$lte", "$gte") and equal(v, None)
    for c in [v] + (v if isinstance(v, list) else []):
        if rank(c) == rank(q):
            c = compare(c, q)
            if {"$lt": c < 0, "$lte": c <= 0, "$gt": c > 0, "$gte": c >= 0}[op]:
                return True
    return False


def reference_match(doc: dict, path: str, op: str, q: Any) -> bool:
    vals = reached(doc, path)
    if op == "$eq":
        return any(equal(v, q) for v in vals)
    if op == "$ne":
        return not reference_match(doc, path, "$eq", q)
    if op == "$in":
        return any(equal(v, x) for v in vals for x in q)
    if op == "$nin":
        return not reference_match(doc, path, "$in", q)
    if op == "$all":
        return bool(q) and all(any(equal(v, x) for v in vals) for x in q)
    if op == "$exists":
        return any(v is not MISSING for v in vals) == q
    return any(ordered(op, v, q) for v in vals)


def reference_keys(doc: dict, paths: List[str]) -> List[tuple]:
    """Every sort key a compound index on ``paths`` would hold for ``doc``: each
    array on the way is expanded one element at a time, every path through that
    same array taking the same element (different arrays: all combinations); a
    numeric segment picks that element of an array."""
    parts = [p.split(".") for p in paths]
    EMPTY = object()

    def resolve(path: List[str], chosen: dict) -> Any:
        v, i = doc, 0
        while True:
            if isinstance(v, list) and i < len(path) and path[i].isdigit() and int(path[i]) < len(v) \
                    and str(int(path[i])) == path[i]:
                e, i = v[int(path[i])], i + 1  # a position picks that element, whichever is keyed
                if i == len(path):
                    return UNDEFINED if e == [] else e
                v = e
                continue
            if isinstance(v, list):
                if id(v) not in chosen:
                    return ("need", v)
                pick = chosen[id(v)]
                if pick is EMPTY:
                    return UNDEFINED if i == len(path) else None
                e = v[pick]
                if i == len(path):
                    return e  # an array inside the array counts as one value
                if not isinstance(e, dict):
                    return None
                v = e
            if i == len(path):
                return v
            if not isinstance(v, dict) or path[i] not in v:
                return None
            v, i = v[path[i]], i + 1

    out = []

    def expand(chosen: dict) -> None:
        got = [resolve(p, chosen) for p in parts]
        for g in got:
            if isinstance(g, tuple) and g[0] == "need":
                array = g[1]
                for pick in (range(len(array)) if array else [EMPTY]):
                    expand({**chosen, id(array): pick})
                return
        out.append(tuple(got))
    expand({})
    return out


def reference_order(docs: List[dict], fields: List[tuple]) -> List[int]:
    """The k order MongoDB's sort stage gives (k, unique, breaks ties)."""
    def cmp_keys(a: tuple, b: tuple) -> int:
        for x, y, (_, desc) in zip(a, b, fields):
            c = compare(x, y)
            if c:
                return -c if desc else c
        return 0
    best = {d["k"]: min(reference_keys(d, [f for f, _ in fields]), key=cmp_to_key(cmp_keys)) for d in docs}
    return sorted(best, key=cmp_to_key(lambda a, b: cmp_keys(best[a], best[b]) or sign(a, b)))


# ------------------------------------------------------------------ properties

scalar = st.one_of(st.none(), st.booleans(), st.integers(0, 3), st.just(1.5), st.sampled_from(["", "x", "y"]))
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["b", "c"]), inner, max_size=2)),
    max_leaves=6)
doc = st.dictionaries(st.sampled_from(["a", "b"]), value, max_size=2)
PATHS = ["a", "a.b", "a.c", "a.b.c", "a.b.b", "b"]
condition = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne", "$lt", "$lte", "$gt", "$gte"]), value),
    st.tuples(st.sampled_from(["$in", "$nin", "$all"]), st.lists(value, max_size=3)),
    st.tuples(st.just("$exists"), st.booleans()),
)
QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestAgainstReference:
    @QUICK
    @given(st.lists(doc, min_size=1, max_size=6), st.sampled_from(PATHS), condition)
    def test_matching(self, docs, path, cond):
        op, q = cond
        where = {path: q} if op == "$eq" and not (isinstance(q, dict) and q) else {path: {op: q}}
        pred = compile_where(where)
        for d in docs:
            assert pred(d) == reference_match(d, path, op, q), (d, where)

    @QUICK
    @given(value, value)
    def test_value_order(self, x, y):
        assert sign(value_key(x), value_key(y)) == compare(x, y)

    @QUICK
    @given(st.lists(doc, min_size=1, max_size=6),
           st.lists(st.tuples(st.sampled_from(PATHS + ["a.0", "a.0.b"]), st.booleans()),
                    min_size=1, max_size=3, unique_by=lambda t: t[0]))
    def test_order(self, docs, fields):
        docs = [dict(d, k=n, objectId=f"{n:03d}") for n, d in enumerate(docs)]
        order = ",".join(("-" if desc else "") + f for f, desc in fields) + ",k"
        assert [o["k"] for o in order_objects(docs, order)] == reference_order(docs, fields + [("k", False)])
        if len(fields) == 1:  # sort_key alone agrees with the compound key
            field, desc = fields[0]
            one = sort_key(field, desc)
            assert [one(o) for o in docs] == [order_key([(field, desc)])(o)[0] for o in docs]

    @QUICK
    @given(doc, st.sampled_from(PATHS + ["a.0", "a.1.b", "a.0.0"]), st.booleans())
    def test_path_keys_are_the_index_keys(self, d, path, desc):
        """path_keys (for indexes) holds what a one-field index would; sort_key picks from it."""
        got = path_keys(path)(d)
        assert sorted(got) == sorted((0,) if v is UNDEFINED else value_key(v) for v in reference_keys(d, [path])
                                     for v in [v[0]])
        assert sort_key(path, desc)(d) == (max(got) if desc else min(got))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(doc, min_size=1, max_size=8), st.sampled_from(PATHS), condition,
           st.lists(st.tuples(st.sampled_from(PATHS), st.booleans()), min_size=1, max_size=2,
                    unique_by=lambda t: t[0]))
    def test_engine_end_to_end(self, docs, path, cond, fields):
        """Through the executor (indexes, ORDER BY + LIMIT walks) on a real engine."""
        op, q = cond
        rows = [dict(d, k=n) for n, d in enumerate(docs)]
        conn = engine(rows)
        where = {path: {op: q}}
        order = tuple(("-" if desc else "") + f for f, desc in fields) + ("k",)
        got = [o["k"] for o in conn.backend.run(Find("T", where=where, order=order, limit=1000)).objects]
        matching = [r for r in rows if reference_match(r, path, op, q)]
        assert got == reference_order(matching, fields + [("k", False)])
        page = [o["k"] for o in conn.backend.run(Find("T", where=where, order=order, limit=2, skip=1)).objects]
        assert page == got[1:3]
        conn.close()

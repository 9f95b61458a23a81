"""Robustness: any text, and valid statements mangled, give statements or a CQLError.

Never another exception type, never a hang (each example is bounded in time).
"""
import dataclasses
import time

from hypothesis import HealthCheck, given, settings, strategies as st

import cql
from cql import ast, parser
from cql.plan import requests_of
from cql.planner import plan

SEEDS = [
    "select * from GameScore where score > 80 and score <= 100 order by -score limit 10",
    "select count(*), * from Todo where title like '%李总%' or priority in (1, 2)",
    "select include author, title from Post where author in (select * from _User where age >= 18)",
    "select * from Shop where location near [116.4, 39.9] min 1 km max 2.0 km limit 5, 10",
    "select * from Shop where location within [116.0, 39.0] and [117.0, 40.0]",
    "select * from Post where related likes to pointer('_User', 'u1') and tags all ('a', 'b')",
    "select * from C where size(tags) = 2 and name regexp '\\d+' and x is not exists",
    "select * from C where d > date('2011-08-20T02:06:57.931Z') and `order` != null",
    "insert into Todo(title, tags, meta) values ('a', [1, 2], {k: 'v'}), (?, [], {})",
    "update Todo set views = op('Increment', {'amount': 1}), done = true where objectId = ?",
    "delete from Todo where done = true and owner = pointer('_User', ?)",
    "select a from C where b in (select k from D where e = 1 limit 3) order by a, b desc",
]

TOKENS = ["select", "*", "from", "C", "where", "a", "=", "1", "and", "or", "(", ")", ",", "?",
          "'x'", "[", "]", "{", "}", ":", "near", "within", "in", "not", "like", "limit", "order",
          "by", "desc", "insert", "into", "values", "update", "set", "delete", ";", "count",
          "size", "date", "op", "related", "to", "is", "exists", "max", "km", "-", "+", ".",
          "`n`", "--", "/*", "*/", "\"", "'", "0x1f", "1e5", "分数", "\\", "\n"]

FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def positions(node):
    """Every node's type and position, depth first (equality ignores positions)."""
    if isinstance(node, (list, tuple)):
        return [positions(x) for x in node]
    if not dataclasses.is_dataclass(node) or isinstance(node, ast.Pos):
        return node
    out = [type(node).__name__, node.pos]
    if isinstance(node, ast.Statement):
        out += [node.end, node.param_count]
    return out + [positions(getattr(node, f.name)) for f in dataclasses.fields(node)
                  if f.name not in ("pos", "source")]


def outcome(text):
    parser.clear_cache()
    try:
        return positions(cql.parse(text))
    except cql.CQLError as exc:
        return (type(exc), exc.message, exc.line, exc.column)


def same_on_both_paths(text):
    """The fast lexer/LALR loop and Lark's own parser agree (result or error)."""
    try:
        parser.FAST_PATH = False
        slow = outcome(text)
    finally:
        parser.FAST_PATH = True
    assert outcome(text) == slow, text


def check(text, params=None):
    """Parse and plan; only CQLError may escape; and it must be quick."""
    same_on_both_paths(text)
    start = time.perf_counter()
    try:
        statements = cql.parse(text)
    except cql.CQLError as exc:
        str(exc)  # rendering the caret must not fail either
        assert exc.code
    else:
        for stmt in statements:
            args = params if params is not None else [1] * stmt.param_count
            try:
                requests_of(plan(stmt, args))
            except cql.CQLError as exc:
                str(exc)
    assert time.perf_counter() - start < 2.0, f"too slow on {text!r}"


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    check(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup(tokens):
    check(" ".join(tokens))
    check("".join(tokens))


def _tokens(text):
    return text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()


@st.composite
def mangled(draw):
    words = _tokens(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(words) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if kind == "delete" and len(words) > 1:
            del words[i]
        elif kind == "duplicate":
            words.insert(i, words[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(words) - 1))
            words[i], words[j] = words[j], words[i]
        else:
            words.insert(i, draw(st.sampled_from(TOKENS)))
    return " ".join(words)


@FAST
@given(mangled())
def test_mangled_statements(text):
    check(text)


@FAST
@given(st.sampled_from(SEEDS), st.lists(st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=4)), max_size=3))
def test_any_parameters(text, params):
    check(text, params)


def test_seeds_are_valid():
    for text in SEEDS:
        same_on_both_paths(text)
        for stmt in cql.parse(text):
            requests_of(plan(stmt, ["p"] * stmt.param_count))


def test_large_inputs_stay_linear():
    big = "select * from C where " + " and ".join(f"a{i} = 'v{i}'" for i in range(5000))
    start = time.perf_counter()
    parser.clear_cache()
    cql.explain(big)
    assert time.perf_counter() - start < 5
    for text in ["'" * 20000, "/*" * 20000, "(" * 20000, "select * from C where a = " + "[" * 20000]:
        start = time.perf_counter()
        check(text)
        assert time.perf_counter() - start < 5

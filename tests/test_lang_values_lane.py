"""The VALUES row lane of the fast parser (cql/lalr.py) builds exactly the
nodes, positions and ? numbering the LALR path and Lark's parser build, and
gives way to them on anything it does not handle."""
from hypothesis import given, settings, strategies as st
from test_lang_fuzz import positions

import cql
from cql import ast, lalr, parser, values_tail

FAST = settings(max_examples=250, deadline=None)


def outcome(text, fast):
    parser.clear_cache()
    parser.FAST_PATH = fast
    try:
        return positions(cql.parse(text))
    except cql.CQLError as exc:
        return (type(exc), exc.message, exc.line, exc.column)
    finally:
        parser.FAST_PATH = True


blank = st.sampled_from(["", " ", "  ", "\n", " \n\t", "\r\n"])
scalar = st.one_of(
    st.sampled_from(["1", "-2", "+3", "0.5", ".5", "1e3", "-1.5E-2", "0x1F", "007", "true", "FALSE", "Null",
                     "?", "''", "'it''s'", "'a\\nb'", "'\\u00e9'", "'李'", "\"dq\"", "'x\ny'", "'\\\\'",
                     "1" * 30, "9" * 5000, "1e999", "'unterminated"]),
    st.text(alphabet="ab' \\\n", max_size=6).map(lambda t: "'" + t.replace("'", "''") + "'"))


@st.composite
def value(draw, depth=2):
    if depth and draw(st.integers(0, 4)) == 0:
        items = draw(st.lists(value(depth - 1), max_size=3))
        return "[" + draw(blank) + ("," + draw(blank)).join(items) + draw(blank) + "]"
    if draw(st.integers(0, 12)) == 0:  # things the lane leaves to the LALR loop
        return draw(st.sampled_from(["date('2020-01-01')", "{k: 1}", "geopoint(1, 2)", "/* c */ 1", "-- c\n1",
                                     "x", "1 2", ""]))
    return draw(scalar)


@st.composite
def insert_text(draw):
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        items = draw(st.lists(value(), min_size=0, max_size=4))
        rows.append("(" + draw(blank) + ("," + draw(blank)).join(items) + draw(blank) + ")")
    head = draw(st.sampled_from(["insert into T (a, b) values", "INSERT INTO T(a) VALUES", "insert into T (a)\nvalues"]))
    tail = draw(st.sampled_from(["", ";", "; select * from T where a = ?", ", ", ")"]))
    return head + draw(blank) + ("," + draw(blank)).join(rows) + tail


@FAST
@given(insert_text())
def test_the_lane_and_the_lalr_loop_and_lark_agree(text):
    fast = outcome(text, True)
    assert fast == outcome(text, False), text


def test_long_texts_use_the_lane_and_agree():
    rows = ", ".join(f"('p{i}', {i}, [{i % 7}, 'x'], {'true' if i % 2 else 'null'}, ?)" for i in range(3000))
    text = f"insert into T (a, b, c, d, e) values\n{rows}"
    calls = []
    real, one_pass = lalr._row, values_tail.MIN_LENGTH
    try:
        lalr._row = lambda *a: calls.append(1) or real(*a)
        values_tail.MIN_LENGTH = 10 ** 12  # the lane itself (a long plain text takes values_tail's one pass)
        fast = outcome(text, True)
    finally:
        lalr._row, values_tail.MIN_LENGTH = real, one_pass
    assert len(calls) >= 3000
    assert fast == outcome(text, False)
    stmt = cql.parse(text)[0]
    assert stmt.param_count == 3000 and stmt.rows[2999][4] == ast.Param(2999)


# -- long texts: the tail of plain literals read in one pass (cql/values_tail.py) -----------

def typed(node):
    """A node's values with their types (1, 1.0 and True differ), no positions."""
    if isinstance(node, ast.Literal):
        return (type(node.value).__name__, node.value)
    if isinstance(node, ast.Array):
        return ("array", tuple(typed(n) for n in node.items))
    return ("node", repr(node))


def long_outcome(text, one_pass):
    parser.clear_cache()
    saved = values_tail.MIN_LENGTH
    values_tail.MIN_LENGTH = saved if one_pass else 10 ** 12
    try:
        statements = cql.parse(text)
    except cql.CQLError as exc:
        return (type(exc), exc.message, exc.line, exc.column)
    finally:
        values_tail.MIN_LENGTH = saved
    return [(type(s).__name__, getattr(s, "class_name", None), getattr(s, "columns", None),
             getattr(s, "param_count", None), s.source, s.end,
             tuple(tuple(typed(v) for v in row) for row in getattr(s, "rows", ()))) for s in statements]


_one_pass = st.one_of(  # values the one pass reads
    st.sampled_from(["0", "-0", "1", "-2", "15", "123456789012345", "0.5", "-0.25", "1.00000000000000001",
                     "true", "false", "null", "''", "'李'", "?"]),
    st.text(alphabet="ab,; 李", max_size=6).map(lambda t: f"'{t}'"))
_left_to_the_parser = st.one_of(
    st.sampled_from(["1234567890123456", "1.5e3", "1.", "007", "0x1F", "+3", "TRUE", "Null", "'it''s'",
                     "'a\\nb'", "'(x)'", "'\"'", "'x\ny'", "'a?b'", "'?'"]),
    st.text(alphabet="ab(),;? \t\\\"'李", max_size=6).map(lambda t: "'" + t.replace("'", "''") + "'"))
plain = st.integers(0, 30).flatmap(lambda n: _left_to_the_parser if n == 0 else _one_pass)


@st.composite
def long_value(draw):
    if draw(st.integers(0, 5)) == 0:
        items = draw(st.lists(plain, max_size=3))
        if draw(st.integers(0, 6)) == 0:
            items.append("[1]")
        return "[" + draw(blank) + ("," + draw(blank)).join(items) + draw(blank) + "]"
    return draw(plain)


@st.composite
def long_insert(draw):
    width = draw(st.integers(1, 3))
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        items = [draw(long_value()) for _ in range(width if draw(st.integers(0, 40)) else width + 1)]
        rows.append("(" + draw(blank) + ("," + draw(blank)).join(items) + draw(blank) + ")")
    columns = ", ".join("abc"[:width])
    head = draw(st.sampled_from([f"insert into T ({columns}) values", f"INSERT INTO T({columns}) VALUES",
                                 f"  insert into `T` ({columns})\nvalues"]))
    first = "(" + ", ".join(["1"] * width) + ")"
    body = ("," + draw(blank)).join(rows)
    repeat = values_tail.MIN_LENGTH // max(len(body), 1) + 1
    tail = draw(st.sampled_from(["", ";", " ;\n"]) if draw(st.integers(0, 5)) else
                st.sampled_from(["; select * from T", " -- done", ","]))
    return head + draw(blank) + first + ", " + ", ".join([body] * repeat) + tail


@settings(max_examples=60, deadline=None)
@given(long_insert())
def test_long_inserts_read_in_one_pass_agree_with_the_parser(text):
    assert len(text) >= values_tail.MIN_LENGTH
    assert long_outcome(text, True) == long_outcome(text, False)


def test_a_long_plain_insert_takes_the_one_pass_and_keeps_types():
    rows = ", ".join(f"('p{i}', {i}, [{i % 7}, 'x y'], {'true' if i % 2 else 'null'}, {i}.5)" for i in range(3000))
    text = f"insert into T (a, b, c, d, e) values ('first', ?, [], false, 0.0),\n{rows};"
    calls = []
    real = values_tail._nodes
    try:
        values_tail._nodes = lambda *a: calls.append(1) or real(*a)
        stmt, = cql.parse(text)
    finally:
        values_tail._nodes = real
    assert calls == [1] and stmt.param_count == 1 and len(stmt.rows) == 3001
    assert typed(stmt.rows[0][1]) == ("node", repr(ast.Param(0))) or isinstance(stmt.rows[0][1], ast.Param)
    assert [typed(v) for v in stmt.rows[3000]] == [
        ("str", "p2999"), ("int", 2999), ("array", (("int", 2999 % 7), ("str", "x y"))), ("bool", True),
        ("float", 2999.5)]
    assert long_outcome(text, True) == long_outcome(text, False)
    c = cql.connect()
    assert c.execute(text, 7).rowcount == 3001
    assert c.execute("select count(*) from T where d = true and e > 100").count == 1450

"""The VALUES row lane of the fast parser (cql/lalr.py) builds exactly the
nodes, positions and ? numbering the LALR path and Lark's parser build, and
gives way to them on anything it does not handle."""
from hypothesis import given, settings, strategies as st
from test_lang_fuzz import positions

import cql
from cql import ast, lalr, parser

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
    real = lalr._row
    try:
        lalr._row = lambda *a: calls.append(1) or real(*a)
        fast = outcome(text, True)
    finally:
        lalr._row = real
    assert len(calls) >= 3000
    assert fast == outcome(text, False)
    stmt = cql.parse(text)[0]
    assert stmt.param_count == 3000 and stmt.rows[2999][4] == ast.Param(2999)

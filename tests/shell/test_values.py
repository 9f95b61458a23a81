"""The shell's own values: CQL literals written by .dump read back as the
same value; :name variables and ?-arguments are bound, never pasted; the
continuation prompt says what is open."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cql.parser import parse
from cql.planner import plan
from cql.shell.errors import CommandError
from cql.shell.repl import continuation, open_hint
from cql.shell.values import bind, literal, literal_value, split_args


def read_back(text):
    (stmt,) = parse(f"insert into X (v) values ({text})")
    return plan(stmt, ()).rows[0]["v"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 53, 2 ** 53) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
                                                                 inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_literal_reads_back_as_the_same_value(value):
    back = read_back(literal(value))
    assert back == value and type(back) is type(value)


def test_typed_literals_read_back():
    for value in ({"__type": "Date", "iso": "2015-06-21T18:02:52.249Z"},
                  {"__type": "Pointer", "className": "_User", "objectId": "6b10"},
                  {"__type": "GeoPoint", "latitude": 39.9, "longitude": 116.4},
                  {"__type": "Bytes", "base64": "aGk="}, {"__type": "File", "id": "f1"},
                  {"__type": "File", "id": "f1", "name": "a.png", "url": "http://x/a.png"},
                  [{"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}, {"k": {"__type": "GeoPoint",
                                                                               "latitude": 1.0, "longitude": 2.0}}]):
        assert read_back(literal(value)) == value


def test_variables_and_arguments_are_bound_in_order():
    text, params = bind("select * from T where a = ? and b = :bee and c = ':bee' -- :bee\nand d = ?", [1, 2],
                        {"bee": "B"})
    assert params == [1, "B", 2]
    assert text == "select * from T where a = ? and b = ?    and c = ':bee' -- :bee\nand d = ?"
    assert bind("update T set n = op('Increment', {'amount':1}), o = {'x':true} where a = ?", [5], {}) == \
        ("update T set n = op('Increment', {'amount':1}), o = {'x':true} where a = ?", [5])
    with pytest.raises(CommandError, match="no variable :nope"):
        bind("select * from T where a = :nope", [], {})
    with pytest.raises(CommandError, match="more \\? placeholders"):
        bind("select * from T where a = ? and b = :b", [], {"b": 1})


def test_arguments_are_cql_values_or_text():
    assert split_args("10 'two words' pointer('C', 'x y') [1, 2] bare") == \
        ["10", "'two words'", "pointer('C', 'x y')", "[1, 2]", "bare"]
    assert [literal_value(w, {"v": 7}) for w in ("10", "'a b'", "true", "bare", ":v", "2.5", "date('2020-01-01')")] \
        == [10, "a b", True, "bare", 7, 2.5, {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}]
    assert literal_value("1), (2", {}) == "1), (2"  # one value or the text: never a second row


def test_the_continuation_prompt_says_what_is_open():
    text = "select * from T\nwhere a = 'x\ny' and b = \"p\nq\" and c = 1 /* a\nb */\n"
    assert [continuation(text, n, 0, 5) for n in range(1, 6)] == ["...> ", "  '> ", '  "> ', " */> ", "...> "]
    assert continuation(text, 2, 1, 5) == ""  # a line the terminal wrapped
    assert open_hint("select 'abc") == "open ': close it with ', or Ctrl-C to cancel "
    assert open_hint("select 'abc'") == ""

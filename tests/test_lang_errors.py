"""Every error the language core raises: class, code, message and position."""
import pytest

import cql
from cql.errors import (CQLSyntaxError, InvalidClassName, InvalidGeoPoint, InvalidJSON, InvalidKey,
                        ParameterError, UnsupportedError)


def error(text, *params):
    with pytest.raises(cql.CQLError) as info:
        cql.explain(text, *params)
    return info.value


def col(text, needle):
    return text.index(needle) + 1


def test_syntax_error_names_found_and_expected_with_caret():
    text = "select * GameScore"
    err = error(text)
    assert type(err) is CQLSyntaxError and err.code == 300
    assert err.message == "expected FROM after the select list, found 'GameScore'"
    assert (err.line, err.column) == (1, 10)
    assert str(err).endswith("select * GameScore\n         ^")


def test_caret_lines_up_under_wide_characters_and_tabs():
    # one caret renderer for str(CQLError) and the shell: a CJK character is two columns wide
    err = error("select * from C where name = '名字' = 1")
    assert str(err).endswith("select * from C where name = '名字' = 1\n"
                             + " " * (len("select * from C where name = ''") + 4 + 1) + "^")
    err = error("select *\tfrom C where a = = 1")
    assert str(err).endswith("\n        \t" + " " * len("from C where a = ") + "^")


def test_syntax_error_on_a_later_line():
    text = "select *\nfrom C\nwhere a = = 1"
    err = error(text)
    assert (err.line, err.column) == (3, 11)
    assert "found '='" in err.message and "expected a value" in err.message
    assert "where a = = 1\n          ^" in str(err)


@pytest.mark.parametrize("text,needle,words", [
    ("selec * from C", "selec", ["SELECT, INSERT, UPDATE or DELETE", "'selec'"]),
    ("select * from", None, ["a name", "end of input"]),
    ("select * from C where", None, ["a condition", "WHERE", "end of input"]),
    ("select * from C where a", None, ["an operator", "end of input"]),
    ("select * from C where a > ", None, ["a value", "end of input"]),
    ("select * from C order score", "score", ["BY", "'score'"]),
    ("select * from C where (a = 1", None, ["')'"]),
    ("insert into C values (1)", "values", ["'('"]),
    ("update C a = 1", "a = 1", ["SET"]),
    ("delete C", "C", ["FROM"]),
    ("select * from C limit", None, ["a number", "'?'"]),
    ("select * from C where a ~ 1", "~", ["unexpected character '~'"]),
    ("select * from C where a = 'abc", "'abc", ["unterminated string"]),
    ("select * from C where a = \"abc", "\"abc", ["unterminated string"]),
    ("select * from `C", "`C", ["unterminated `name`"]),
    ("select * from C /* no end", "/*", ["unterminated comment"]),
    ("select * from C where a = 1 order by ?", "?", ["placeholder"]),
    ("select ? from C", "?", ["placeholder"]),
    ("select * from ? ", "?", ["placeholder"]),
    ("select * from C limit 1.5", "1.5", ["whole number"]),
    ("select * from C limit -1", "-1", ["whole number"]),
    ("select * from C where loc near [1, 2] max 3 parsecs", "parsecs", ["unit", "km"]),
    ("select * from C where a = date()", "date", ["date() takes 1 argument"]),
    ("select * from C where a = 'x\\ud83d'", "'x", ["surrogate"]),
    ("insert into C(a, a) values (1, 2)", "a)", ["listed twice"]),
    ("update C set a = 1, a = 2", "a = 2", ["set twice"]),
])
def test_syntax_errors(text, needle, words):
    err = error(text)
    assert isinstance(err, CQLSyntaxError) and err.code == 300, repr(err)
    for word in words:
        assert word in err.message, err.message
    assert err.line is not None and err.column is not None
    if needle is not None:
        assert err.column == col(text, needle)
    else:
        assert err.column >= len(text.rstrip()) - 1
    assert "^" in str(err)


@pytest.mark.parametrize("text,needle,feature", [
    ("select a as b from C", "as", "AS"),
    ("select distinct a from C", "distinct", "DISTINCT"),
    ("select * from A join B on a = b", "join", "JOIN"),
    ("select * from A inner join B on a = b", "join", "JOIN"),
    ("select * from A, B", ",", "join"),
    ("select a from C group by a", "group", "GROUP BY"),
    ("select a from C having a > 1", "having", "HAVING"),
    ("select * from A union select * from B", "union", "UNION"),
    ("select max(score) from C", "max", "max()"),
    ("select min(score) from C", "min", "min()"),
    ("select sum(score) from C", "sum", "sum()"),
    ("select avg(score) from C", "avg", "avg()"),
    ("select upper(name) from C", "upper", "upper()"),
    ("select count(name) from C", "count", "count(name)"),
    ("select * from C where size(f) > 2", "size", "size(f) >"),
    ("select * from C where length(f) = 2", "length", "length()"),
    ("select * from C where a in (select a, b from D)", "b from", "second field"),
    ("select * from C where a in (select count(*) from D)", "count", "count()"),
    ("select * from C where a > (select k from D)", "a >", "subquery"),
    ("select * from C where not a = 1", "not", "NOT"),
    ("select * from C limit 10 offset 5", "offset", "OFFSET"),
    ("select * from C where a between 1 and 2", "between", "BETWEEN"),
    ("create table C (a int)", "create", "CREATE"),
    ("drop table C", "drop", "DROP"),
    ("select * from C where a = foo(1)", "foo", "foo()"),
    ("select * from C where a = op('Increment', {'amount': 1})", "op(", "op()"),
    ("update C set a = op('Frobnicate', {})", "'Frob", "Frobnicate"),
])
def test_unsupported_sql_names_the_feature(text, needle, feature):
    err = error(text)
    assert isinstance(err, UnsupportedError) and err.code == 300, repr(err)
    assert feature in err.message, err.message
    assert err.column == col(text, needle), (err.column, col(text, needle))


@pytest.mark.parametrize("text,cls,code", [
    ("select * from 分数", InvalidClassName, 103),
    ("select 分数 from C", InvalidKey, 105),
    ("select _a from C", InvalidKey, 105),
    ("select * from C where loc near [200, 10]", InvalidGeoPoint, 302),
    ("select * from C where loc near [10, 95]", InvalidGeoPoint, 302),
    ("select * from C where loc near geopoint(10, -91)", InvalidGeoPoint, 302),
    ("select * from C where loc within [0, 0] and [181, 1]", InvalidGeoPoint, 302),
    ("select * from C where loc near [1, 2, 3]", InvalidGeoPoint, 302),
    ("select * from C where loc near 'here'", InvalidGeoPoint, 302),
    ("insert into C(p) values (geopoint(1, 100))", InvalidGeoPoint, 302),
    ("select * from C where d > date('yesterday')", InvalidJSON, 107),
    ("select * from C where b = base64('***')", InvalidJSON, 107),
])
def test_coded_errors(text, cls, code):
    err = error(text)
    assert type(err) is cls and err.code == code
    assert err.line == 1 and err.column is not None


@pytest.mark.parametrize("text,params,words", [
    ("select * from C where a = ?", (), ["expected 1", "got 0"]),
    ("select * from C where a = ? and b = ?", (1,), ["expected 2", "got 1"]),
    ("select * from C where a = 1", (1,), ["expected 0", "got 1"]),
    ("select * from C where a = '?'", (1,), ["expected 0", "got 1"]),
    ("insert into C(a, b) values (1)", (), ["row 1", "1 value", "2 columns"]),
    ("insert into C(a) values (1), (2, 3)", (), ["row 2", "2 values", "1 column"]),
    ("select * from C limit ?", ("ten",), ["LIMIT", "whole number"]),
    ("select * from C where a in ?", (5,), ["list"]),
    ("select * from C where a like ?", (5,), ["string"]),
    ("select * from C where related k to ?", ("x",), ["pointer"]),
    ("select * from C where size(a) = ?", ("x",), ["whole number"]),
    ("select * from C where loc near [1, 2] max ? km", ("far",), ["distance"]),
    ("update C set a = op('Add', ?) where objectId = 'x'", (5,), ["object"]),
])
def test_parameter_errors(text, params, words):
    err = error(text, *params)
    assert isinstance(err, ParameterError) and err.code == 300
    for word in words:
        assert word in err.message, err.message


def test_bad_parameter_type_is_a_cql_error():
    err = error("select * from C where a = ?", object())
    assert isinstance(err, cql.CQLError)


def test_error_positions_in_scripts_point_into_the_script():
    text = "select * from A;\nselect * from B where x = = 1"
    with pytest.raises(CQLSyntaxError) as info:
        cql.parse(text)
    assert (info.value.line, info.value.column) == (2, 27)


def test_explain_takes_one_statement():
    with pytest.raises(cql.CQLError):
        cql.explain("select * from A; select * from B")
    with pytest.raises(cql.CQLError):
        cql.explain("")


def test_deep_nesting_is_a_cql_error_not_a_crash():
    deep = "select * from C where " + "(" * 3000 + "a = 1" + ")" * 3000
    assert cql.explain(deep)[0]["params"]["where"] == {"a": 1}
    arrays = "select * from C where a = " + "[" * 5000 + "]" * 5000
    try:
        cql.explain(arrays)
    except cql.CQLError:
        pass
    long_or = "select * from C where " + " or ".join(f"a = {i}" for i in range(3000))
    assert len(cql.explain(long_or)[0]["params"]["where"]["$or"]) == 3000


@pytest.mark.parametrize("number", ["9" * 5000, "1e999", "-1e999"])
def test_numbers_out_of_range(number):
    err = error(f"select * from C where a = {number}")
    assert isinstance(err, CQLSyntaxError) and "out of range" in err.message
    assert err.column == 27

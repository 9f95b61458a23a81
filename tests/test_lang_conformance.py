"""SPEC conformance review: each SPEC rule, table row and example (and the statements of
LeanCloud's CQL guide) lowered by cql.explain and compared with what SPEC.md says."""
from __future__ import annotations

import pytest

import cql

G = lambda lng, lat: {"__type": "GeoPoint", "latitude": float(lat), "longitude": float(lng)}  # noqa: E731
P = lambda c, i: {"__type": "Pointer", "className": c, "objectId": i}  # noqa: E731
D = lambda iso: {"__type": "Date", "iso": iso}  # noqa: E731


def params(text: str, *args):
    [req] = cql.explain(text, *args)
    assert req["method"] == "GET"
    return req.get("params", {})


def where(text: str, *args):
    return params(text, *args)["where"]


# -- SPEC 1, conditions table: tests/where_table.py, one table with
# tests/test_lang_explain_spec.py (test_condition runs every row)


VALUE_ROWS = [
    ("'O''Brien'", "O'Brien"),
    ("'O\\'Brien'", "O'Brien"),
    ('"say \\"hi\\""', 'say "hi"'),
    ("'a\\nb\\tc\\u00e9\\\\'", "a\nb\tc\u00e9\\"),
    ("'\\d+'", "\\d+"),
    ("'?'", "?"),
    ("-5", -5), ("0.25", 0.25), ("1e3", 1000.0), ("0x10", 16),
    ("true", True), ("false", False), ("null", None),
    ("{k: 1, 'q': [1, {z: null}]}", {"k": 1, "q": [1, {"z": None}]}),
    ("date('2011-08-20T02:06:57.931Z')", D("2011-08-20T02:06:57.931Z")),
    ("date('2011-08-20T02:06:57Z')", D("2011-08-20T02:06:57.000Z")),
    ("date('2011-08-20T10:06:57.931+08:00')", D("2011-08-20T02:06:57.931Z")),
    ("pointer('Post', 'p1')", P("Post", "p1")),
    ("geopoint(116.4, 39.9)", G(116.4, 39.9)),
    ("file('f1')", {"__type": "File", "id": "f1"}),
    ("base64('aGVsbG8=')", {"__type": "Bytes", "base64": "aGVsbG8="}),
    ("{className:'Post', objectId:'p1', __type:'Pointer'}", P("Post", "p1")),
]


@pytest.mark.parametrize("text,expected", VALUE_ROWS, ids=[t for t, _ in VALUE_ROWS])
def test_values(text, expected):
    assert where(f"select * from C where f = {text}") == {"f": expected}


def test_placeholders_bind_left_to_right_everywhere_a_value_stands():
    assert params("select * from GameScore where name=? and score>? limit ?,?", "a", 1, 0, 10) == {
        "where": {"name": "a", "score": {"$gt": 1}}, "limit": 10, "skip": 0}
    assert where("select * from C where d > date(?) and p = pointer('X', ?) and l near ? max ? km",
                 "2011-08-20T02:06:57.931Z", "y", [1, 2], 5) == {
        "d": {"$gt": D("2011-08-20T02:06:57.931Z")}, "p": P("X", "y"),
        "l": {"$nearSphere": G(1, 2), "$maxDistanceInKilometers": 5}}
    assert where("select * from C where f in (?, ?)", 1, 2) == {"f": {"$in": [1, 2]}}
    assert params("select * from C limit ?", "10") == {"limit": 10}
    assert where("select * from C where f = ?", {"__type": "Date", "iso": "2011-08-20T02:06:57.931Z"}) == {
        "f": D("2011-08-20T02:06:57.931Z")}


@pytest.mark.parametrize("text,args", [
    ("select * from C where a = ?", ()),
    ("select * from C where a = ?", (1, 2)),
    ("insert into C(a, b) values (?)", (1,)),
    ("insert into C(a, b) values (1)", ()),
])
def test_parameter_and_row_counts_are_code_300(text, args):
    with pytest.raises(cql.CQLError) as err:
        cql.explain(text, *args)
    assert err.value.code == 300
    assert "expected" in str(err.value) or "column" in str(err.value)


# -- select items, keys, include, count, order, limit -----------------------------------
SELECT_ROWS = [
    ("select name,score from GameScore", {"keys": "name,score"}),
    ("select name, * from GameScore", {}),
    ("select count(*) from GameScore", {"count": 1, "limit": 0}),
    ("select count(objectId) from GameScore", {"count": 1, "limit": 0}),
    ("select count(*) from GameScore limit 10", {"count": 1, "limit": 0}),
    ("select count(*), * from GameScore", {"count": 1}),
    ("select count(*), * from GameScore limit 10", {"count": 1, "limit": 10}),
    ("select count(*), name from GameScore", {"count": 1, "keys": "name"}),
    ("select include post, * from Comment", {"include": "post"}),
    ("select include post,include author from Comment", {"include": "post,author"}),
    ("select include post.category,* from Comment", {"include": "post.category"}),
    ("select include p.q, name from C", {"keys": "name,p", "include": "p.q"}),
    ("select objectId, mime_type, createdAt, updatedAt from _File limit 10",
     {"keys": "objectId,mime_type,createdAt,updatedAt", "limit": 10}),
    ("select * from GameScore limit 100,10", {"limit": 10, "skip": 100}),
    ("select * from Post limit 0,100 order by pubUser", {"limit": 100, "skip": 0, "order": "pubUser"}),
    ("select * from C order by -score, +name limit 10", {"order": "-score,name", "limit": 10}),
    ("select * from GameScore order by score desc", {"order": "-score"}),
    ("select * from GameScore order by -score", {"order": "-score"}),
    ("select * from GameScore order by score,+name desc", {"order": "-score,name"}),
    ("select * from GameScore order by -score,name asc", {"order": "-score,name"}),
    ("SELECT * FROM GameScore ORDER BY score", {"order": "score"}),
]


@pytest.mark.parametrize("text,expected", SELECT_ROWS, ids=[t for t, _ in SELECT_ROWS])
def test_select_params(text, expected):
    assert params(text) == expected


# -- writes -------------------------------------------------------------------------------
def test_writes_lower_as_spec_section_2():
    assert cql.explain("insert into Player(name, location) values ('x', geopoint(1, 2))") == [
        {"method": "POST", "path": "/classes/Player", "body": {"name": "x", "location": G(1, 2)}}]
    [batch] = cql.explain("insert into Player(name, age) values ('LeanCloud', 2), ('b', 3)")
    assert batch["method"] == "POST" and batch["path"] == "/batch"
    assert [r["body"] for r in batch["body"]["requests"]] == [{"name": "LeanCloud", "age": 2},
                                                                {"name": "b", "age": 3}]
    assert cql.explain("update Account set account=op('Decrement', {'amount': 50}) "
                       "where objectId='558e' and amount>=100") == [
        {"method": "PUT", "path": "/classes/Account/558e", "params": {"where": {"amount": {"$gte": 100}}},
         "body": {"account": {"__op": "Decrement", "amount": 50}}}]
    assert cql.explain("delete from C where objectId = ?", "abc") == [
        {"method": "DELETE", "path": "/classes/C/abc"}]
    first, second = cql.explain("update C set a = 1 where b = 2")
    assert first == {"method": "GET", "path": "/classes/C", "params": {"where": {"b": 2}, "keys": "objectId"}}
    assert second["path"] == "/batch"


@pytest.mark.parametrize("text,body", [
    ("op('Increment', {'amount': 3})", {"__op": "Increment", "amount": 3}),
    ("op('Decrement', {'amount': 3})", {"__op": "Decrement", "amount": 3}),
    ("op('Add',{'objects':['Apple','Google']})", {"__op": "Add", "objects": ["Apple", "Google"]}),
    ("op('AddUnique', {'objects': [1, 2]})", {"__op": "AddUnique", "objects": [1, 2]}),
    ("op('Remove', {'objects': [1]})", {"__op": "Remove", "objects": [1]}),
    ("op('AddRelation', {'objects': [pointer('_User', 'u')]})",
     {"__op": "AddRelation", "objects": [P("_User", "u")]}),
    ("op('RemoveRelation', {'objects': [pointer('_User', 'u')]})",
     {"__op": "RemoveRelation", "objects": [P("_User", "u")]}),
    ("op('Delete', {})", {"__op": "Delete"}),
    ("op('Delete', {'x': 1})", {"__op": "Delete"}),
    ("op('Delete')", {"__op": "Delete"}),
    ("op('BitAnd', {'value': 0x0000000000000004})", {"__op": "BitAnd", "value": 4}),
    ("op('BitOr', {'value': 1})", {"__op": "BitOr", "value": 1}),
    ("op('BitXor', {'value': 1})", {"__op": "BitXor", "value": 1}),
])
def test_op_functions(text, body):
    [req] = cql.explain(f"update C set f = {text} where objectId = 'x'")
    assert req == {"method": "PUT", "path": "/classes/C/x", "body": {"f": body}}


@pytest.mark.parametrize("text", [
    "update C set a = 1 where objectId = ''",
    "delete from C where objectId = ''",
    "delete from C where objectId = '' and a = 1",
])
def test_an_empty_object_id_is_104_not_a_request_to_the_class_path(text):
    # Before: PUT/DELETE /classes/C/ (the class path with a trailing slash).
    with pytest.raises(cql.CQLError) as err:
        cql.explain(text)
    assert err.value.code == 104
    assert err.value.line == 1 and err.value.column is not None


def test_an_empty_object_id_parameter_is_104_too():
    with pytest.raises(cql.MissingObjectId):
        cql.explain("update C set a = 1 where objectId = ?", "")


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("text,code", [
    ("select * from 类", 103), ("select * from `类`", 103), ("select * from C where 名字 = 1", 105),
    ("select * from C where _a = 1", 105), ("insert into C(_a) values (1)", 105),
    ("select * from C where f near geopoint(200, 39.9)", 302),
    ("select * from C where f near [116.4, 91]", 302),
    ("select * from C where f = geopoint(1, 200)", 302),
    ("select a as b from C", 300), ("select * from C join D", 300),
    ("select * from C group by a", 300), ("select max(a) from C", 300),
    ("select min(a) from C", 300), ("select sum(a) from C", 300),
    ("select distinct a from C", 300), ("select * from C where size(f) > 3", 300),
    ("select * from C where a = date('not a date')", 107),
    ("select * from ? where a = 1", 300), ("select * from C order by ?", 300),
])
def test_error_codes(text, code):
    with pytest.raises(cql.CQLError) as err:
        cql.explain(text, *(["x"] if "?" in text else []))
    assert err.value.code == code


@pytest.mark.parametrize("text", ["select a as b from C", "select * from C group by a",
                                  "select max(a) from C", "select distinct a from C",
                                  "select * from C join D"])
def test_unsupported_features_are_named(text):
    with pytest.raises(cql.CQLError) as err:
        cql.explain(text)
    word = text.split()[1] if "max" in text or "distinct" in text else None
    message = str(err.value).lower()
    assert ("alias" in message or "group by" in message or "max" in message or "distinct" in message
            or "join" in message), message
    if word:
        assert word.split("(")[0] in message


def test_syntax_error_has_line_column_and_caret():
    with pytest.raises(cql.CQLError) as err:
        cql.parse("select *\nfrom C\nwhere a = = 1")
    assert (err.value.code, err.value.line, err.value.column) == (300, 3, 11)
    assert str(err.value).splitlines()[-1].index("^") == 10


@pytest.mark.parametrize("text,name,column", [
    ("select * from C where a = b", "b", 27),
    ("select * from C where a = b and c = 1", "b", 27),
    ("select * from C where a in (1, b)", "b", 32),
    ("update C set a = b where objectId = 'x'", "b", 18),
])
def test_a_bare_name_where_a_value_stands_says_so(text, name, column):
    # Before: "expected '(' after 'b'" (the name read as the start of a function call).
    with pytest.raises(cql.CQLError) as err:
        cql.parse(text)
    assert err.value.code == 300 and err.value.column == column
    assert f"'{name}' is not a value" in str(err.value)


def test_function_names_keep_the_expected_paren_message():
    with pytest.raises(cql.CQLError) as err:
        cql.parse("select * from C where a = date")
    assert "expected '('" in str(err.value)


def test_a_class_name_before_values_keeps_the_expected_paren_message():
    with pytest.raises(cql.CQLError) as err:
        cql.parse("insert into C values (1)")
    assert "expected '('" in str(err.value) and "is not a value" not in str(err.value)


@pytest.mark.parametrize("text,args", [
    ("select * from C where a = ?", (float("nan"),)),
    ("select * from C where a < ?", (float("inf"),)),
    ("select * from C where a in (?, ?)", (1, [float("-inf")])),
    ("select * from C where a = ?", ({"x": {"y": [float("nan")]}},)),
    ("insert into C(a) values (?)", (float("nan"),)),
])
def test_nan_and_infinity_parameters_are_107_on_every_backend(text, args):
    # Before: explain showed NaN in the where JSON and the engine ran the query
    # (a < Infinity matched), while the REST client refused it with 107.
    with pytest.raises(cql.InvalidJSON) as err:
        cql.explain(text, *args)
    assert err.value.code == 107 and "NaN" in str(err.value) and err.value.column is not None
    with pytest.raises(cql.InvalidJSON):
        cql.connect(None).execute(text, *args)


def test_finite_float_parameters_still_bind():
    assert where("select * from C where a = ? and b = ?", 1.5, {"x": [2.5]}) == {"a": 1.5, "b": {"x": [2.5]}}


@pytest.mark.parametrize("text,expected", [
    ("select * from C where related = 7", {"related": 7}),
    ("select * from C where related in (1, 2) and related.x > 1",
     {"related": {"$in": [1, 2]}, "related.x": {"$gt": 1}}),
    ("select * from C where related related to pointer('Post', 'p')",
     {"$relatedTo": {"object": P("Post", "p"), "key": "related"}}),
    ("select * from C where related likes to pointer('Post', 'p') or related is exists",
     {"$or": [{"$relatedTo": {"object": P("Post", "p"), "key": "likes"}}, {"related": {"$exists": True}}]}),
])
def test_related_is_reserved_only_where_it_stands(text, expected):
    # README: keywords are reserved only where they can stand. Before: `where related = 7`
    # was a syntax error ("expected a name after 'related'"): only `related` was reserved.
    assert where(text) == expected
    from cql import parser
    from cql.ast_builder import parse_state as _state
    _state.reset(text)
    fast = parser._load_fast().parse(text)
    _state.reset(text)
    assert fast == parser._lark_parse(text)


def test_related_as_a_column_and_order_key():
    assert params("select related, a from C order by -related") == {"keys": "related,a", "order": "-related"}
    assert cql.explain("update C set related = 1 where objectId = 'x'") == [
        {"method": "PUT", "path": "/classes/C/x", "body": {"related": 1}}]


def test_expected_lists_do_not_name_the_related_keyword_beside_a_name():
    with pytest.raises(cql.CQLError) as err:
        cql.parse("select")
    assert "RELATED" not in str(err.value)

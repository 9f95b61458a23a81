"""SPEC §1-2, row by row, as exact cql.explain() results (the reference lowering)."""
from datetime import datetime, timezone

import pytest

import cql
from cql import GeoPoint, Pointer, explain
from where_table import WHERE_ROWS


def where_of(statement, *params):
    [req] = explain(statement, *params)
    assert req["method"] == "GET"
    return req.get("params", {}).get("where", {})


def get(path, **params):
    out = {"method": "GET", "path": path}
    if params:
        out["params"] = params
    return out


PT = {"__type": "GeoPoint", "latitude": 39.9, "longitude": 116.4}


# ---- conditions table ---------------------------------------------------------------
# The table of conditions and their where JSON is shared: tests/where_table.py.


@pytest.mark.parametrize("cond,where", WHERE_ROWS, ids=[c for c, _ in WHERE_ROWS])
def test_condition(cond, where):
    assert where_of(f"select * from T where {cond}") == where


# ---- values ---------------------------------------------------------------------------
VALUES = [
    ("'O''Brien'", "O'Brien"),
    ('"say ""hi"""', 'say "hi"'),
    ("'it\\'s'", "it's"),
    ('"a\\"b"', 'a"b'),
    ("'a\\\\b'", "a\\b"),
    ("'a\\nb\\tc'", "a\nb\tc"),
    ("'\\u4e2d\\u6587'", "中文"),
    ("'\\ud83d\\ude00'", "😀"),
    ("'\\d+\\.x'", "\\d+\\.x"),
    ("'工程师周会'", "工程师周会"),
    ("'?'", "?"),
    ("-5", -5),
    ("0.25", 0.25),
    ("1e3", 1000.0),
    ("0x10", 16),
    ("true", True),
    ("FALSE", False),
    ("Null", None),
    ("[1, 'a', [2]]", [1, "a", [2]]),
    ("[]", []),
    ("{key: 1, 'k2': 'v'}", {"key": 1, "k2": "v"}),
    ("date('2011-08-20T10:06:57.931+08:00')", {"__type": "Date", "iso": "2011-08-20T02:06:57.931Z"}),
    ("date('2011-08-20T02:06:57Z')", {"__type": "Date", "iso": "2011-08-20T02:06:57.000Z"}),
    ("pointer('_User', 'u1')", {"__type": "Pointer", "className": "_User", "objectId": "u1"}),
    ("geopoint(116.4, 39.9)", PT),
    ("file('f1')", {"__type": "File", "id": "f1"}),
    ("base64('aGVsbG8=')", {"__type": "Bytes", "base64": "aGVsbG8="}),
]


@pytest.mark.parametrize("text,value", VALUES, ids=[t for t, _ in VALUES])
def test_value(text, value):
    assert where_of(f"select * from T where f = {text}") == {"f": value}


def test_current_timestamp_is_now_in_utc():
    iso = where_of("select * from T where f < current_timestamp()")["f"]["$lt"]["iso"]
    assert iso.endswith("Z") and len(iso) == 24
    then = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - then).total_seconds()) < 60


# ---- select lowering ------------------------------------------------------------------------
SELECTS = [
    ("select * from GameScore", [get("/classes/GameScore")]),
    ("select * from GameScore where score > 80 order by -score limit 10",
     [get("/classes/GameScore", where={"score": {"$gt": 80}}, order="-score", limit=10)]),
    ("select playerName, score from GameScore",
     [get("/classes/GameScore", keys="playerName,score")]),
    ("select score, playerName from GameScore", [get("/classes/GameScore", keys="score,playerName")]),
    ("select *, score from GameScore", [get("/classes/GameScore")]),
    ("select count(*) from C", [get("/classes/C", count=1, limit=0)]),
    ("select count(objectId) from C where a = 1",
     [get("/classes/C", where={"a": 1}, count=1, limit=0)]),
    ("select count(*) from C limit 10", [get("/classes/C", count=1, limit=0)]),
    ("select count(*), * from C", [get("/classes/C", count=1)]),
    ("select count(*), * from C limit 5", [get("/classes/C", count=1, limit=5)]),
    ("select count(*), name from C", [get("/classes/C", keys="name", count=1)]),
    ("select include author, * from Post", [get("/classes/Post", include="author")]),
    ("select include author from Post", [get("/classes/Post", include="author")]),
    ("select title, include author from Post",
     [get("/classes/Post", keys="title,author", include="author")]),
    ("select include author.profile, title from Post",
     [get("/classes/Post", keys="title,author", include="author.profile")]),
    ("select include a, include b.c, * from Post", [get("/classes/Post", include="a,b.c")]),
    ("select * from C limit 10, 20", [get("/classes/C", limit=20, skip=10)]),
    ("select * from C order by name limit 10", [get("/classes/C", order="name", limit=10)]),
    ("select * from C limit 10 order by name", [get("/classes/C", order="name", limit=10)]),
    ("select * from C order by -score, name", [get("/classes/C", order="-score,name")]),
    ("select * from C order by +score, name", [get("/classes/C", order="score,name")]),
    ("select * from C order by score, name desc", [get("/classes/C", order="-score,-name")]),
    ("select * from C order by -score, name desc", [get("/classes/C", order="-score,-name")]),
    ("select * from C order by score asc", [get("/classes/C", order="score")]),
    ("select * from C order by -score, +name desc", [get("/classes/C", order="-score,name")]),
    ("select * from C order by a desc, b asc", [get("/classes/C", order="-a,b")]),
    ("select * from C order by a desc, b", [get("/classes/C", order="-a,b")]),
    ("SELECT * FROM C WHERE a = 1 ORDER BY b DESC LIMIT 1",
     [get("/classes/C", where={"a": 1}, order="-b", limit=1)]),
    ("select * from C where a = 1 limit 0", [get("/classes/C", where={"a": 1}, limit=0)]),
    ("select * from _User", [get("/classes/_User")]),
    ("select `order`, `select` from `Order` where `limit` = 1",
     [get("/classes/Order", keys="order,select", where={"limit": 1})]),
    ("select * from C where limit = 1 and order = 2 and count = 3",
     [get("/classes/C", where={"limit": 1, "order": 2, "count": 3})]),
    ("select * from C where a.b = 1", [get("/classes/C", where={"a.b": 1})]),
]


@pytest.mark.parametrize("text,requests", SELECTS, ids=[t for t, _ in SELECTS])
def test_select(text, requests):
    assert explain(text) == requests


# ---- writes -------------------------------------------------------------------------------------
def test_insert_one_row():
    assert explain("insert into TodoFolder(name, priority) values('工作', 78)") == [
        {"method": "POST", "path": "/classes/TodoFolder", "body": {"name": "工作", "priority": 78}}]


def test_insert_rows_go_through_batch():
    assert explain("insert into C(a, b) values (1, 'x'), (2, null)") == [
        {"method": "POST", "path": "/batch", "body": {"requests": [
            {"method": "POST", "path": "/classes/C", "body": {"a": 1, "b": "x"}},
            {"method": "POST", "path": "/classes/C", "body": {"a": 2, "b": None}}]}}]


def test_insert_batches_hold_at_most_50():
    rows = ", ".join(f"({i})" for i in range(120))
    reqs = explain(f"insert into C(n) values {rows}")
    assert [len(r["body"]["requests"]) for r in reqs] == [50, 50, 20]
    assert all(r["method"] == "POST" and r["path"] == "/batch" for r in reqs)
    assert [q["body"]["n"] for r in reqs for q in r["body"]["requests"]] == list(range(120))


def test_update_by_object_id():
    assert explain("update TodoFolder set name = ? where objectId = ?", "家庭", "57318f14df0eea006331a19a") == [
        {"method": "PUT", "path": "/classes/TodoFolder/57318f14df0eea006331a19a", "body": {"name": "家庭"}}]


def test_update_by_object_id_with_condition_is_conditional():
    assert explain("update C set f = op('Increment', {'amount': 1}) where objectId = 'x1' and f < 10") == [
        {"method": "PUT", "path": "/classes/C/x1", "params": {"where": {"f": {"$lt": 10}}},
         "body": {"f": {"__op": "Increment", "amount": 1}}}]
    assert explain("update C set a = 1 where b = 2 and objectId = 'x1' and c = 3") == [
        {"method": "PUT", "path": "/classes/C/x1", "params": {"where": {"b": 2, "c": 3}}, "body": {"a": 1}}]


def test_update_other_where_queries_ids_then_batches():
    assert explain("update C set a = 1, b = 'x' where c > 2") == [
        get("/classes/C", where={"c": {"$gt": 2}}, keys="objectId"),
        {"method": "POST", "path": "/batch", "body": {"requests": [
            {"method": "PUT", "path": "/classes/C/{objectId}", "body": {"a": 1, "b": "x"}}]}}]


def test_update_without_where_touches_all():
    assert explain("update C set a = 1") == [
        get("/classes/C", keys="objectId"),
        {"method": "POST", "path": "/batch", "body": {"requests": [
            {"method": "PUT", "path": "/classes/C/{objectId}", "body": {"a": 1}}]}}]


def test_update_objectid_inside_or_is_not_pinned():
    reqs = explain("update C set a = 1 where objectId = 'x' or b = 2")
    assert reqs[0] == get("/classes/C", where={"$or": [{"objectId": "x"}, {"b": 2}]}, keys="objectId")


def test_delete_by_object_id():
    assert explain("delete from Todo where objectId = ?", "5731a29d71cfe4006cbdbc22") == [
        {"method": "DELETE", "path": "/classes/Todo/5731a29d71cfe4006cbdbc22"}]


def test_delete_by_object_id_with_condition():
    assert explain("delete from Todo where objectId = 'x' and done = true") == [
        {"method": "DELETE", "path": "/classes/Todo/x", "params": {"where": {"done": True}}}]


def test_delete_other_where():
    assert explain("delete from Todo where done = true") == [
        get("/classes/Todo", where={"done": True}, keys="objectId"),
        {"method": "POST", "path": "/batch", "body": {"requests": [
            {"method": "DELETE", "path": "/classes/Todo/{objectId}"}]}}]
    assert explain("delete from Todo")[0] == get("/classes/Todo", keys="objectId")


OPS = [
    ("op('Increment', {'amount': 1})", {"__op": "Increment", "amount": 1}),
    ("op('Decrement', {'amount': 2})", {"__op": "Decrement", "amount": 2}),
    ("op('Add', {'objects': [1, 2]})", {"__op": "Add", "objects": [1, 2]}),
    ("op('AddUnique', {'objects': ['a']})", {"__op": "AddUnique", "objects": ["a"]}),
    ("op('Remove', {'objects': ['a']})", {"__op": "Remove", "objects": ["a"]}),
    ("op('AddRelation', {'objects': [pointer('_User', 'u1')]})",
     {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": "u1"}]}),
    ("op('RemoveRelation', {'objects': [pointer('_User', 'u1')]})",
     {"__op": "RemoveRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": "u1"}]}),
    ("op('Delete', {'delete': true})", {"__op": "Delete"}),
    ("op('Delete')", {"__op": "Delete"}),
    ("op('BitAnd', {'value': 6})", {"__op": "BitAnd", "value": 6}),
    ("op('BitOr', {'value': 6})", {"__op": "BitOr", "value": 6}),
    ("op('BitXor', {'value': 6})", {"__op": "BitXor", "value": 6}),
    ("op('increment', {'amount': 1})", {"__op": "Increment", "amount": 1}),
]


@pytest.mark.parametrize("text,body", OPS, ids=[t for t, _ in OPS])
def test_op(text, body):
    [req] = explain(f"update C set f = {text} where objectId = 'x'")
    assert req["body"] == {"f": body}


# ---- parameters ---------------------------------------------------------------------------------
def test_parameters_python_values():
    when = datetime(2015, 6, 21, 18, 2, 52, 249000, tzinfo=timezone.utc)
    assert where_of("select * from C where a = ? and b = ? and c = ? and d = ? and e = ? and g = ?",
                    "s", 1, 2.5, True, None, when) == {
        "a": "s", "b": 1, "c": 2.5, "d": True, "e": None,
        "g": {"__type": "Date", "iso": "2015-06-21T18:02:52.249Z"}}
    assert where_of("select * from C where p = ? and l = ? and o = ? and b = ?",
                    Pointer("Post", "p1"), [1, 2], {"k": "v"}, b"hi") == {
        "p": {"__type": "Pointer", "className": "Post", "objectId": "p1"},
        "l": [1, 2], "o": {"k": "v"}, "b": {"__type": "Bytes", "base64": "aGk="}}
    assert where_of("select * from C where f = ?", cql.File("f1")) == {"f": {"__type": "File", "id": "f1"}}


def test_parameters_rest_json():
    ptr = {"__type": "Pointer", "className": "Post", "objectId": "p1"}
    assert where_of("select * from C where p = ?", ptr) == {"p": ptr}


def test_parameters_everywhere_a_value_may_stand():
    assert explain("select * from C where a in (?, ?) and d > date(?) and loc near ? limit ?, ?",
                   1, 2, "2011-08-20T02:06:57.931Z", GeoPoint(latitude=39.9, longitude=116.4), 5, "10") == [
        get("/classes/C", where={"a": {"$in": [1, 2]},
                                 "d": {"$gt": {"__type": "Date", "iso": "2011-08-20T02:06:57.931Z"}},
                                 "loc": {"$nearSphere": PT}}, limit=10, skip=5)]
    assert explain("insert into C(a, b) values (?, ?)", 1, "x") == [
        {"method": "POST", "path": "/classes/C", "body": {"a": 1, "b": "x"}}]
    assert explain("update C set a = ? where objectId = ?", [1], "i")[0]["body"] == {"a": [1]}


def test_parameter_in_quotes_is_text():
    assert where_of("select * from C where a = '?' and b = ?", 1) == {"a": "?", "b": 1}


def test_limit_parameter_takes_int_or_digit_string():
    assert explain("select * from C limit ?", 7) == [get("/classes/C", limit=7)]
    assert explain("select * from C limit ?", "7") == [get("/classes/C", limit=7)]
    with pytest.raises(cql.ParameterError):
        explain("select * from C limit ?", "7; drop")
    with pytest.raises(cql.ParameterError):
        explain("select * from C limit ?", -1)


def test_parameters_are_never_pasted_into_text():
    evil = "x' or '1' = '1"
    assert where_of("select * from C where a = ?", evil) == {"a": evil}


def test_parameters_in_subquery_count_left_to_right():
    assert where_of("select * from C where a = ? and f in (select * from D where b = ?) and c = ?", 1, 2, 3) == {
        "a": 1, "f": {"$inQuery": {"className": "D", "where": {"b": 2}}}, "c": 3}


def test_in_param_list_and_near_list():
    assert where_of("select * from C where a in ?", [1, 2]) == {"a": {"$in": [1, 2]}}
    assert where_of("select * from C where loc near ?", [116.4, 39.9]) == {"loc": {"$nearSphere": PT}}
    assert where_of("select * from C where loc near ?", PT) == {"loc": {"$nearSphere": PT}}


def test_related_to_parameter():
    assert where_of("select * from C where related likes to ?", Pointer("Post", "p")) == {
        "$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": "p"}, "key": "likes"}}


# ---- dialects ----------------------------------------------------------------------------------------
def test_unknown_dialect_is_a_cql_error():
    with pytest.raises(cql.CQLError) as info:
        explain("select * from C", dialect="no-such-dialect")
    assert "no-such-dialect" in str(info.value)

"""Statements as LeanCloud's CQL guide and SDK users write them, with their exact lowering."""
import pytest

import cql

PTR = {"__type": "Pointer", "className": "_User", "objectId": "u1"}

CASES = [
    ("select * from GameScore", (), {}),
    ("select name,score from GameScore", (), {"keys": "name,score"}),
    ("select * from GameScore where name='dennis'", (), {"where": {"name": "dennis"}}),
    ("select * from GameScore where name is exists and score > 80 and score <= 100", (),
     {"where": {"name": {"$exists": True}, "score": {"$gt": 80, "$lte": 100}}}),
    ("select * from GameScore limit 100,10", (), {"limit": 10, "skip": 100}),
    ("select * from GameScore order by score,+name desc", (), {"order": "-score,name"}),
    ("select * from GameScore where name!='dennis'", (), {"where": {"name": {"$ne": "dennis"}}}),
    ("select * from GameScore where createdAt < date('2011-08-20T02:06:57.931Z')", (),
     {"where": {"createdAt": {"$lt": {"__type": "Date", "iso": "2011-08-20T02:06:57.931Z"}}}}),
    ("select * from GameScore where scores=100", (), {"where": {"scores": 100}}),
    ("select * from GameScore where scores all (100,100)", (), {"where": {"scores": {"$all": [100, 100]}}}),
    ("select * from GameScore where size(scores) = 2", (), {"where": {"scores": {"$size": 2}}}),
    ("select * from GameScore where name in ('dennis','catty','green')", (),
     {"where": {"name": {"$in": ["dennis", "catty", "green"]}}}),
    ("select * from GameScore where name not in ('dennis','catty','green')", (),
     {"where": {"name": {"$nin": ["dennis", "catty", "green"]}}}),
    ("select * from Player where name in (select name from GameScore where score>80)", (),
     {"where": {"name": {"$select": {"query": {"className": "GameScore", "where": {"score": {"$gt": 80}}},
                                     "key": "name"}}}}),
    ("select * from Player where name =(select name from GameScore where score>80)", (),
     {"where": {"name": {"$select": {"query": {"className": "GameScore", "where": {"score": {"$gt": 80}}},
                                     "key": "name"}}}}),
    ("select * from Player where name !=(select name from GameScore where score<=80)", (),
     {"where": {"name": {"$dontSelect": {"query": {"className": "GameScore", "where": {"score": {"$lte": 80}}},
                                         "key": "name"}}}}),
    ("SELECT *\nFROM player\nWHERE NAME IN (SELECT NAME\nFROM gamescore\nWHERE score > 80)\nAND region = 'cn'", (),
     {"where": {"NAME": {"$select": {"query": {"className": "gamescore", "where": {"score": {"$gt": 80}}},
                                     "key": "NAME"}}, "region": "cn"}}),
    ("select * from Todo where status = ? and priority = ?", (1, 4), {"where": {"status": 1, "priority": 4}}),
    ("select count(*) from Todo where priority = 0", (), {"where": {"priority": 0}, "count": 1, "limit": 0}),
    ("select * from Todo where title LIKE '%李总%'", (), {"where": {"title": {"$regex": "李总"}}}),
    ("select include iconFileObj, * from hb_countrys where status = 1 order by orderCode asc limit 1000", (),
     {"where": {"status": 1}, "include": "iconFileObj", "order": "orderCode", "limit": 1000}),
    ("select * from Project where group in (select * from _User where objectId=?) "
     "and creator in (select follower from _Follower where user=pointer('_User', ?))", ("u1", "u1"),
     {"where": {"group": {"$inQuery": {"className": "_User", "where": {"objectId": "u1"}}},
                "creator": {"$select": {"query": {"className": "_Follower", "where": {"user": PTR}},
                                        "key": "follower"}}}}),
    ("select count(*) from shell_app_config where id=? ", ("x",), {"where": {"id": "x"}, "count": 1, "limit": 0}),
    ("select * from GameScore where playerName='Cuice'", (), {"where": {"playerName": "Cuice"}}),
]


@pytest.mark.parametrize("text,params,expected", CASES, ids=[c[0] for c in CASES])
def test_documented_selects(text, params, expected):
    [req] = cql.explain(text, *params)
    assert req["method"] == "GET"
    assert req.get("params", {}) == expected


def test_documented_writes():
    assert cql.explain("insert into TodoFolder(name, priority) values('工作', 78)") == [
        {"method": "POST", "path": "/classes/TodoFolder", "body": {"name": "工作", "priority": 78}}]
    assert cql.explain("update TodoFolder set name = ? where objectId = ?", "家庭", "57318f14df0eea006331a19a") == [
        {"method": "PUT", "path": "/classes/TodoFolder/57318f14df0eea006331a19a", "body": {"name": "家庭"}}]
    assert cql.explain("delete from Todo where objectId = ?", "5731a29d71cfe4006cbdbc22") == [
        {"method": "DELETE", "path": "/classes/Todo/5731a29d71cfe4006cbdbc22"}]


def test_op_only_at_the_top_of_a_set_value():
    with pytest.raises(cql.UnsupportedError):
        cql.explain("update C set a = {'x': op('Increment', {'amount': 1})} where objectId = 'i'")
    with pytest.raises(cql.UnsupportedError):
        cql.explain("insert into C(a) values (op('Increment', {'amount': 1}))")

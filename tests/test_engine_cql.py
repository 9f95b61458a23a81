"""The embedded engine driven by CQL text through cql.connect(): every layer real."""
import pytest

import cql


@pytest.fixture
def con():
    c = cql.connect()
    yield c
    c.close()


def ids_of(res):
    return [o["objectId"] for o in res.objects]


def col(res, name):
    return [o.get(name) for o in res.objects]


def test_keys_limit_skip_count_order(con):
    con.execute("insert into GameScore (name, score, cheat) values ('a', 10, false), ('b', 30, false),"
                " ('c', 20, true), ('d', 30, false), ('e', 5, false)")
    res = con.execute("select name from GameScore where cheat = false order by -score, name limit 1, 2")
    assert col(res, "name") == ["d", "a"]
    assert set(res.objects[0]) == {"objectId", "name", "createdAt", "updatedAt"}
    res = con.execute("select count(*), name from GameScore where score >= ? order by score", 10)
    assert res.count == 4 and col(res, "name") == ["a", "c", "b", "d"]
    assert con.execute("select count(*) from GameScore where score < 100 limit 2").count == 5
    res = con.execute("select * from GameScore order by score asc limit ?", "2")
    assert col(res, "name") == ["e", "a"]


def test_default_limit_is_100(con):
    cur = con.cursor()
    cur.executemany("insert into N (i) values (?)", [(i,) for i in range(130)])
    res = con.execute("select * from N")
    assert res.rowcount == 100 and res.truncated
    res = con.execute("select * from N limit 1000")
    assert res.rowcount == 130 and not res.truncated


def test_include_nested(con):
    country = con.execute("insert into Country (name) values ('FR')").objects[0]["objectId"]
    author = con.execute("insert into Author (name, country) values ('ann', pointer('Country', ?))",
                         country).objects[0]["objectId"]
    con.execute("insert into Book (title, author) values ('b1', pointer('Author', ?)),"
                " ('b2', pointer('Author', '000000000000000000000000'))", author)
    res = con.execute("select title, include author.country from Book order by title")
    b1, b2 = res.objects
    assert b1["author"]["name"] == "ann" and b1["author"]["country"]["name"] == "FR"
    assert b1["author"]["__type"] == "Object" and b1["author"]["country"]["className"] == "Country"
    assert b2["author"]["__type"] == "Pointer"
    decoded = res.results[0]["author"]
    assert decoded["name"] == "ann"


def test_subqueries(con):
    p = ids_of(con.execute("insert into Post (title, hot) values ('p1', true), ('p2', false)"))
    con.execute("insert into Comment (body, post) values ('c1', pointer('Post', ?)), ('c2', pointer('Post', ?)),"
                " ('c3', null)", p[0], p[1])
    res = con.execute("select * from Comment where post in (select * from Post where hot = true)")
    assert col(res, "body") == ["c1"]
    res = con.execute("select * from Comment where post not in (select * from Post where hot = true)"
                      " order by body")
    assert col(res, "body") == ["c2", "c3"]
    con.execute("insert into Fav (title) values ('p2')")
    res = con.execute("select * from Post where title in (select title from Fav)")
    assert col(res, "title") == ["p2"]
    res = con.execute("select * from Post where title not in (select title from Fav)")
    assert col(res, "title") == ["p1"]


def test_related_to(con):
    users = ids_of(con.execute("insert into _User (username) values ('u1'), ('u2')"))
    post = con.execute("insert into Post (title) values ('p')").objects[0]["objectId"]
    con.execute("update Post set fans = op('AddRelation', {'objects': [pointer('_User', ?), pointer('_User', ?)]})"
                " where objectId = ?", users[0], users[1], post)
    res = con.execute("select * from _User where related fans to pointer('Post', ?) order by username", post)
    assert col(res, "username") == ["u1", "u2"]
    con.execute("update Post set fans = op('RemoveRelation', {'objects': [pointer('_User', ?)]})"
                " where objectId = ?", users[0], post)
    res = con.execute("select * from _User where related fans to pointer('Post', ?)", post)
    assert col(res, "username") == ["u2"]
    assert con.schema()["Post"]["fans"] == "Relation<_User>"


def test_near_and_within(con):
    con.execute("insert into City (name, loc) values ('paris', geopoint(2.35, 48.85)),"
                " ('london', geopoint(-0.12, 51.5)), ('tokyo', geopoint(139.7, 35.7))")
    res = con.execute("select * from City where loc near [2, 48]")
    assert col(res, "name") == ["paris", "london", "tokyo"]
    res = con.execute("select * from City where loc near geopoint(2, 48) max 500 km")
    assert col(res, "name") == ["paris", "london"]
    res = con.execute("select * from City where loc near ? order by name limit 2", cql.GeoPoint(latitude=48, longitude=2))
    assert col(res, "name") == ["london", "paris"]
    res = con.execute("select * from City where loc within [-1, 48] and [3, 52] order by name")
    assert col(res, "name") == ["london", "paris"]


@pytest.mark.parametrize("expr,before,after", [
    ("op('Increment', {'amount': 2})", "5", 7),
    ("op('Decrement', {'amount': 2})", "5", 3),
    ("op('Add', {'objects': ['b']})", "['a']", ["a", "b"]),
    ("op('AddUnique', {'objects': ['a', 'c']})", "['a']", ["a", "c"]),
    ("op('Remove', {'objects': ['a']})", "['a', 'b', 'a']", ["b"]),
    ("op('Delete', {'delete': true})", "1", None),
    ("op('Delete')", "1", None),
    ("op('BitAnd', {'value': 3})", "6", 2),
    ("op('BitOr', {'value': 3})", "6", 7),
    ("op('BitXor', {'value': 3})", "6", 5),
    ("current_timestamp()", "null", "date"),
])
def test_ops_through_update(con, expr, before, after):
    oid = con.execute(f"insert into O (f) values ({before})").objects[0]["objectId"]
    res = con.execute(f"update O set f = {expr} where objectId = ?", oid)
    assert res.objects[0]["objectId"] == oid
    obj = con.execute("select * from O").objects[0]
    if after is None:
        assert "f" not in obj
    elif after == "date":
        assert obj["f"]["__type"] == "Date"
    else:
        assert obj["f"] == after


def test_conditional_write(con):
    oid = con.execute("insert into Acc (balance) values (10)").objects[0]["objectId"]
    with pytest.raises(cql.ConditionNotMet) as exc:
        con.execute("update Acc set balance = op('Decrement', {'amount': 20})"
                    " where objectId = ? and balance >= 20", oid)
    assert exc.value.code == 305
    assert con.execute("select * from Acc").objects[0]["balance"] == 10
    con.execute("update Acc set balance = op('Decrement', {'amount': 5}) where objectId = ? and balance >= 5", oid)
    assert con.execute("select * from Acc").objects[0]["balance"] == 5
    with pytest.raises(cql.ObjectNotFound):
        con.execute("delete from Acc where objectId = '000000000000000000000000'")


def test_atomic_update_of_many(con, tmp_path):
    path = str(tmp_path / "atomic.db")
    c = cql.connect(path)
    c.execute("insert into Mix (i, v) values (0, 0), (1, 1), (2, 2), (3, 3)")
    c.execute("insert into Mix (i, v, w) values (4, 4, 'text')")
    c.execute("insert into Mix (i, v) values (5, 5), (6, 6)")
    before = c.execute("select * from Mix order by i").objects
    with pytest.raises(cql.TypeMismatch) as exc:
        c.execute("update Mix set v = op('Increment', {'amount': 1}), w = op('Increment', {'amount': 1})")
    assert exc.value.code == 111
    assert c.execute("select * from Mix order by i").objects == before
    c.close()
    assert cql.connect(path).execute("select * from Mix order by i").objects == before


def test_update_and_delete_by_where(con):
    con.execute("insert into T (n) values (1), (2), (3), (4)")
    res = con.execute("update T set n = op('Increment', {'amount': 10}) where n > 2")
    assert res.rowcount == 2
    assert sorted(col(con.execute("select * from T"), "n")) == [1, 2, 13, 14]
    assert con.execute("delete from T where n < 10").rowcount == 2
    assert con.execute("delete from T").rowcount == 2
    assert con.execute("select count(*) from T").count == 0


def test_system_fields_cannot_be_written(con):
    with pytest.raises(cql.CQLError) as exc:
        con.execute("insert into T (objectId, n) values ('x', 1)")
    assert exc.value.code == 105
    con.execute("insert into T (n) values (1)")
    with pytest.raises(cql.CQLError) as exc:
        con.execute("update T set createdAt = date('2020-01-01T00:00:00Z')")
    assert exc.value.code == 105


def test_dates_compare_with_created_at(con):
    con.execute("insert into T (at) values (date('2020-01-02T00:00:00.000Z')), (date('2021-01-02T00:00:00Z'))")
    res = con.execute("select * from T where at > date('2020-06-01T00:00:00Z')")
    assert len(res.objects) == 1 and res.objects[0]["at"]["iso"] == "2021-01-02T00:00:00.000Z"
    assert con.execute("select count(*) from T where createdAt > date('2020-01-01T00:00:00Z')").count == 2
    assert con.execute("select count(*) from T where createdAt < date('2020-01-01T00:00:00Z')").count == 0


def test_sub_keys_of_an_included_object(con):
    p = con.execute("insert into Player (name, age) values ('x', 3)").objects[0]["objectId"]
    con.execute("insert into GameScore (score, player) values (1, pointer('Player', ?))", p)
    row = con.execute("select player.name, include player from GameScore").objects[0]
    assert set(row["player"]) == {"__type", "className", "objectId", "name", "createdAt", "updatedAt"}
    assert "score" not in row
    row = con.execute("select score, include player from GameScore").objects[0]
    assert row["player"]["age"] == 3 and row["score"] == 1

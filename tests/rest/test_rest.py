"""Integration tests of the REST backend against the real test server, both
flavors: every statement kind, the request counts they cost, paging, writes,
errors, credentials and schema."""
from __future__ import annotations

import pytest

import cql
from cql.rest import RestBackend
from testserver import APP_ID, MASTER_KEY, REST_KEY, connect


def calls(conn) -> int:
    return conn.backend.http.calls


def seed(conn, cls, n, extra=""):
    rows = ", ".join(f"({i}, 'n{i}', [{'x' if i % 2 else 'y'!r}, 'z']{extra})" for i in range(n))
    conn.execute(f"insert into {cls} (k, name, tags) values {rows}")


def test_description_and_repr(conn, flavor):
    what = "Parse Server" if flavor == "parse" else "LeanCloud app"
    assert conn.description.startswith(what) and "(dialect parse-postgres)" in conn.description
    assert MASTER_KEY not in repr(conn) + repr(conn.backend) + repr(conn.backend.http)


def test_default_dialect_follows_flavor(server):
    lc = connect(server, "leancloud", dialect=None)
    assert lc.backend.dialect.name == "leancloud"
    assert lc.backend.http.base.endswith("/1.1")
    ps = connect(server, "parse", dialect=None)
    assert ps.backend.dialect.name == "parse-postgres"


def test_insert_one_then_select(conn, cls):
    before = calls(conn)
    result = conn.execute(f"insert into {cls} (title, n, due, where_, tags) values "
                          f"('héllo', 1.5, date('2024-02-03T04:05:06.789Z'), geopoint(2.35, 48.85), ['a'])")
    assert calls(conn) - before == 1
    assert result.kind == "insert" and result.rowcount == 1
    created = result.objects[0]
    assert set(created) == {"objectId", "createdAt"}
    rows = conn.execute(f"select * from {cls}")
    obj = rows.objects[0]
    assert obj["objectId"] == created["objectId"]
    assert isinstance(obj["createdAt"], str) and obj["createdAt"].endswith("Z")
    assert obj["due"] == {"__type": "Date", "iso": "2024-02-03T04:05:06.789Z"}
    assert obj["where_"] == {"__type": "GeoPoint", "latitude": 48.85, "longitude": 2.35}
    value = rows.results[0]
    assert value["title"] == "héllo" and value["where_"] == cql.GeoPoint(latitude=48.85, longitude=2.35)


def test_multi_row_insert_uses_batches_of_50(conn, cls):
    before = calls(conn)
    rows = ", ".join(f"({i})" for i in range(120))
    result = conn.execute(f"insert into {cls} (k) values {rows}")
    assert calls(conn) - before == 3
    assert result.rowcount == 120 and len({o["objectId"] for o in result.objects}) == 120
    assert conn.execute(f"select count(*) from {cls}").count == 120


def test_rows_and_count_in_one_request(conn, cls):
    seed(conn, cls, 30)
    conn.schema()  # the schema is known from here on
    before = calls(conn)
    result = conn.execute(f"select count(*), k from {cls} where k >= 10 limit 5")
    assert calls(conn) - before == 1
    assert result.count == 20 and len(result.objects) == 5
    assert result.columns == ["objectId", "k", "createdAt", "updatedAt"]
    # An order on a field that could be missing costs one check first (Postgres
    # sorts missing values last, MongoDB first); system fields never miss.
    before = calls(conn)
    result = conn.execute(f"select count(*), k from {cls} where k >= 10 order by -k limit 5")
    assert calls(conn) - before == 2
    assert result.count == 20 and [o["k"] for o in result.objects] == [29, 28, 27, 26, 25]
    before = calls(conn)
    conn.execute(f"select count(*), k from {cls} where k >= 10 order by -createdAt limit 5")
    assert calls(conn) - before == 1


def test_count_with_empty_where_is_exact(conn, cls):
    seed(conn, cls, 7)  # a fresh table: Postgres' estimate would say 0
    result = conn.execute(f"select count(*) from {cls}")
    assert result.count == 7 and result.count_only and result.rows == [(7,)]


def test_default_limit_and_truncated(conn, cls):
    seed(conn, cls, 105)
    result = conn.execute(f"select k from {cls}")
    assert len(result) == 100 and result.truncated
    assert not conn.execute(f"select k from {cls} limit 200").truncated


def test_large_limits_are_paged(server, flavor, cls):
    conn = connect(server, flavor, page_size=40)
    seed(conn, cls, 130)
    conn.schema()
    before = calls(conn)
    result = conn.execute(f"select count(*), k from {cls} order by +k limit 5, 120")
    assert [o["k"] for o in result.objects] == list(range(5, 125))
    assert result.count == 130
    assert calls(conn) - before == 1 + 3  # the missing-value check, three pages
    unordered = conn.execute(f"select k from {cls} limit 1000")
    assert sorted(o["k"] for o in unordered.objects) == list(range(130))


def test_leancloud_server_cap_of_1000_is_paged(server, cls):
    conn = connect(server, "leancloud")
    rows = ", ".join(f"({i})" for i in range(1100))
    conn.execute(f"insert into {cls} (k) values {rows}")
    result = conn.execute(f"select k from {cls} order by -k limit 1050")
    assert [o["k"] for o in result.objects] == list(range(1099, 49, -1))


@pytest.mark.parametrize("where,expected", [
    ("k = 3", {3}), ("k != 3", set(range(10)) - {3}), ("k < 2", {0, 1}), ("k <= 1", {0, 1}),
    ("k > 7", {8, 9}), ("k >= 8", {8, 9}), ("k in (1, 2)", {1, 2}), ("k not in (1, 2)", set(range(10)) - {1, 2}),
    ("name like 'n1%'", {1}), ("name not like 'n1%'", set(range(10)) - {1}), ("name regexp '^n[23]$'", {2, 3}),
    ("name not regexp '[0-7]'", {8, 9}), ("tags = 'x'", {1, 3, 5, 7, 9}), ("tags all ('y', 'z')", {0, 2, 4, 6, 8}),
    ("size(tags) = 2", set(range(10))), ("tags = ['x', 'z']", {1, 3, 5, 7, 9}), ("odd is exists", {1, 3}),
    ("odd is not exists", set(range(10)) - {1, 3}), ("odd = null", set(range(10)) - {1, 3}),
    ("k < 2 or k > 8", {0, 1, 9}), ("(k < 2 or k > 8) and tags = 'x'", {1, 9}),
    ("loc near [0, 0] max 200 kilometers", {0, 1}), ("loc within [-0.5, -0.5] and [1.5, 1.5]", {0, 1}),
    ("loc near [0, 0] min 200 kilometers max 500 kilometers", {2, 3}),
])
def test_operators(conn, cls, where, expected):
    rows = ", ".join(f"({i}, 'n{i}', [{'x' if i % 2 else 'y'!r}, 'z'], geopoint({i}, {i}))" for i in range(10))
    conn.execute(f"insert into {cls} (k, name, tags, loc) values {rows}")
    conn.execute(f"update {cls} set odd = true where k in (1, 3)")
    got = {o["k"] for o in conn.execute(f"select k from {cls} where {where} limit 1000").objects}
    assert got == expected


def test_mongodb_answers_for_arrays_and_objects(conn, cls):
    """Issue 11's examples through Parse Server: MongoDB's answers. A number cannot
    share a Parse field with arrays, so example 1's mixed field sits in an object."""
    def ks(sql):
        return [o["k"] for o in conn.execute(sql).objects]
    conn.execute(f"insert into {cls} (k, w, o) values (1, {{o: [1, 2]}}, [1, 2]), (2, {{o: []}}, []), "
                 f"(3, {{o: [null]}}, [null]), (4, {{o: 5}}, [[]]), (5, {{o: [{{a: 1}}]}}, [{{a: 1}}]), "
                 f"(6, {{o: [{{b: 1}}]}}, [{{b: 1}}])")
    conn.execute(f"insert into {cls} (k, w) values (7, {{}})")
    assert ks(f"select k from {cls} where w.o.a = null order by k") == [4, 6, 7]
    assert ks(f"select k from {cls} where w.o.a != null order by k") == [1, 2, 3, 5]
    assert ks(f"select k from {cls} where o.a is null order by k") == [6, 7]
    assert ks(f"select k from {cls} where o.a not in (null, 9) order by k") == [1, 2, 3, 4, 5]
    conn.execute(f"insert into {cls} (k, d) values (8, {{a: 'x'}}), (9, {{b: 1}})")
    assert ks(f"select k from {cls} where d is exists order by d, k") == [9, 8]
    assert ks(f"select k from {cls} where d < {{b: 1}}") == []
    assert ks(f"select k from {cls} where d > {{a: 'x'}}") == []
    conn.execute(f"insert into {cls} (k, a) values (10, [{{b: 4, c: 1}}, {{b: 1, c: 2}}]), "
                 f"(11, [{{b: 2, c: 1}}, {{b: 4, c: 2}}])")
    assert ks(f"select k from {cls} where a is exists order by a.c, a.b, k") == [11, 10]


def test_subqueries_relations_and_include(conn, cls):
    author, book = cls + "A", cls + "B"
    made = conn.execute(f"insert into {author} (name, age) values ('ann', 30), ('bob', 60)").objects
    ann, bob = (m["objectId"] for m in made)
    conn.execute(f"insert into {book} (title, by) values ('t1', pointer('{author}', '{ann}')), "
                 f"('t2', pointer('{author}', '{bob}')), ('t3', pointer('{author}', '{bob}'))")
    old = conn.execute(f"select title from {book} where by in (select * from {author} where age > 40) "
                       f"order by +title")
    assert [o["title"] for o in old.objects] == ["t2", "t3"]
    young = conn.execute(f"select include by, title from {book} where by not in "
                         f"(select * from {author} where age > 40)")
    assert [o["title"] for o in young.objects] == ["t1"]
    assert young.objects[0]["by"]["__type"] == "Object" and young.objects[0]["by"]["name"] == "ann"
    assert young.results[0]["by"]["name"] == "ann"
    t1 = conn.execute(f"select * from {book} where title = 't1'").objects[0]["objectId"]
    conn.execute(f"update {book} set fans = op('AddRelation', {{'objects': [pointer('{author}', '{bob}')]}}) "
                 f"where objectId = ?", t1)
    fans = conn.execute(f"select name from {author} where related fans to pointer('{book}', ?)", t1)
    assert [o["name"] for o in fans.objects] == ["bob"]


def test_update_by_id_and_ops(conn, cls):
    oid = conn.execute(f"insert into {cls} (n, tags, gone) values (1, ['a', 'b'], 'x')").objects[0]["objectId"]
    before = calls(conn)
    result = conn.execute(f"update {cls} set n = op('Increment', {{'amount': 5}}), "
                          f"tags = op('Add', {{'objects': ['c']}}), gone = op('Delete') where objectId = ?", oid)
    assert calls(conn) - before == 2  # Add is applied on the client for Postgres: GET, then PUT
    assert result.kind == "update" and result.objects[0]["objectId"] == oid and result.objects[0]["updatedAt"]
    obj = conn.execute(f"select * from {cls}").objects[0]
    assert obj["n"] == 6 and obj["tags"] == ["a", "b", "c"] and "gone" not in obj
    before = calls(conn)
    conn.execute(f"update {cls} set tags = op('Remove', {{'objects': ['a']}}) where objectId = ?", oid)
    assert calls(conn) - before == 1
    assert conn.execute(f"select * from {cls}").objects[0]["tags"] == ["b", "c"]
    conn.execute(f"update {cls} set tags = op('AddUnique', {{'objects': ['a', 'c', 'b', 'd']}}) "
                 f"where objectId = ?", oid)
    assert conn.execute(f"select * from {cls}").objects[0]["tags"] == ["b", "c", "a", "d"]


def test_conditional_write(conn, cls):
    oid = conn.execute(f"insert into {cls} (n) values (1)").objects[0]["objectId"]
    with pytest.raises(cql.ConditionNotMet) as info:
        conn.execute(f"update {cls} set n = 2 where objectId = ? and n = 5", oid)
    assert info.value.code == 305
    assert conn.execute(f"select n from {cls}").objects[0]["n"] == 1
    conn.execute(f"update {cls} set n = 2 where objectId = ? and n = 1", oid)
    assert conn.execute(f"select n from {cls}").objects[0]["n"] == 2
    with pytest.raises(cql.ConditionNotMet):
        conn.execute(f"delete from {cls} where objectId = ? and n = 1", oid)
    conn.execute(f"delete from {cls} where objectId = ? and n = 2", oid)
    assert conn.execute(f"select count(*) from {cls}").count == 0


def test_update_and_delete_by_where_use_batches(conn, cls):
    seed(conn, cls, 120)
    conn.schema()
    before = calls(conn)
    result = conn.execute(f"update {cls} set flag = true where k >= 10")
    assert result.rowcount == 110
    assert calls(conn) - before == 1 + 3  # one id page, three batches
    assert conn.execute(f"select count(*) from {cls} where flag = true").count == 110
    result = conn.execute(f"delete from {cls} where size(tags) = 2 and k < 60")  # client-side filter
    assert result.kind == "delete" and result.rowcount == 60
    assert conn.execute(f"select count(*) from {cls}").count == 60
    assert conn.execute(f"delete from {cls}").rowcount == 60
    assert conn.execute(f"select count(*) from {cls}").count == 0


def test_errors_keep_server_code_and_text(conn, cls):
    conn.execute(f"insert into {cls} (n) values (1)")
    with pytest.raises(cql.ObjectNotFound) as info:
        conn.execute(f"update {cls} set n = 2 where objectId = 'nope'")
    assert info.value.code == 101 and "Object not found" in str(info.value)
    with pytest.raises(cql.TypeMismatch) as info:
        conn.execute(f"update {cls} set n = 'text' where n = 1")
    with pytest.raises(cql.TypeMismatch) as info:
        conn.execute(f"insert into {cls} (n) values ('text')")
    assert info.value.code == 111 and "expected Number" in str(info.value)


def test_bad_key_is_unauthorized(server, flavor):
    url = server.parse_url if flavor == "parse" else server.root
    conn = cql.connect(url, app_id=APP_ID, master_key="wrong-key", flavor=flavor)
    with pytest.raises(cql.ServerError) as info:
        conn.execute("select * from Anything")
    assert info.value.code == 403 and "unauthorized" in str(info.value)
    assert "wrong-key" not in str(info.value)


def test_rest_key_connection_infers_types(server, flavor, cls):
    conn = connect(server, flavor, master=False)
    seed(conn, cls, 6)
    assert {o["k"] for o in conn.execute(f"select k from {cls} where tags = 'x'").objects} == {1, 3, 5}
    schema = conn.schema()
    assert schema[cls]["tags"] == "Array" and schema[cls]["k"] == "Number"


def test_schema_shape(conn, cls):
    seed(conn, cls, 2)
    schema = conn.schema()
    assert schema[cls] == {"objectId": "String", "createdAt": "Date", "updatedAt": "Date",
                           "k": "Number", "name": "String", "tags": "Array"}


def test_explain_shows_dialect_requests(conn, cls):
    seed(conn, cls, 2)
    reqs = conn.explain(f"select * from {cls} where tags = 'x' and size(tags) = 2 limit 5")
    assert reqs[0]["params"]["where"] == {"$and": [{"tags": {"$all": ["x"]}}]}
    assert reqs[0]["client"]["where"] == {"$and": [{"tags": {"$size": 2}}]}
    assert cql.explain("select * from T where n > 1 limit 5", dialect="parse-postgres")[0]["params"] == \
        {"where": {"n": {"$gt": 1}}, "limit": 5}


def test_credentials_from_environment(server, monkeypatch, cls):
    monkeypatch.setenv("CQL_APP_ID", APP_ID)
    monkeypatch.setenv("CQL_MASTER_KEY", MASTER_KEY)
    conn = cql.connect(server.parse_url)
    conn.execute(f"insert into {cls} (n) values (1)")
    assert conn.execute(f"select count(*) from {cls}").count == 1
    monkeypatch.delenv("CQL_MASTER_KEY")
    monkeypatch.setenv("CQL_REST_KEY", REST_KEY)
    assert cql.connect(server.parse_url).execute(f"select count(*) from {cls}").count == 1


def test_missing_credentials_are_a_clear_error(server, monkeypatch):
    for var in ("CQL_APP_ID", "CQL_REST_KEY", "CQL_MASTER_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(cql.InterfaceError, match="app id"):
        RestBackend(server.parse_url)
    with pytest.raises(cql.InterfaceError, match="key"):
        RestBackend(server.parse_url, app_id=APP_ID)
    with pytest.raises(cql.InterfaceError, match="unknown option"):
        RestBackend(server.parse_url, app_id=APP_ID, master_key=MASTER_KEY, colour="red")


def test_dbapi_cursor_over_rest(conn, cls):
    cur = conn.cursor()
    cur.execute(f"insert into {cls} (k) values (?), (?)", (1, 2))
    cur.execute(f"select k from {cls} where k > ? order by -k", (0,))
    assert [row[1] for row in cur.fetchall()] == [2, 1]


def test_very_long_query_goes_as_post(conn, cls):
    seed(conn, cls, 20)
    conn.schema()
    ids = [o["objectId"] for o in conn.execute(f"select k from {cls} where k < 5").objects]
    fillers = [f"no-such-id-{i:05d}" for i in range(600)]
    marks = ", ".join("?" * 1 for _ in ids + fillers)
    http = conn.backend.http
    methods = []
    original = http.request

    def spy(method, path, *args, **kwargs):
        methods.append((method, path))
        return original(method, path, *args, **kwargs)

    http.request = spy
    result = conn.execute(f"select count(*), k from {cls} where objectId in ({marks})", *(ids + fillers))
    assert methods == [("POST", f"/classes/{cls}")]  # "_method": "GET" in the body
    assert result.count == 5 and sorted(o["k"] for o in result.objects) == [0, 1, 2, 3, 4]

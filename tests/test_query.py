"""cql.Query on the embedded engine: each vocabulary item (App Engine and the
LeanCloud SDK) with its exact explain() and its answer."""
from __future__ import annotations

import pytest

import cql
from pyapi_cases import BEIJING, load_todos, titles

SW = cql.GeoPoint(latitude=20, longitude=110)
NE = cql.GeoPoint(latitude=35, longitude=125)
ALL = {"alpha", "beta", "gamma", "delta", "Epsilon 李总 (x)"}
EPS = "Epsilon 李总 (x)"


@pytest.fixture(scope="module")
def db():
    conn = cql.connect()
    objs = load_todos(conn)
    yield conn, objs
    conn.close()


def requests(query):
    """explain() without the engine's index note (an access path, not the request)."""
    return [{k: v for k, v in r.items() if k != "index"} for r in query.explain()]


def get(params):
    return [{"method": "GET", "path": "/classes/Todo", **({"params": params} if params else {})}]


def bj():
    return BEIJING.to_json()


# (id, build(query, user query), params of the GET, answer: a set, or a list when ordered)
CASES = [
    ("equal_to", lambda q, u: q.equal_to("priority", 2), {"where": {"priority": 2}}, {"beta"}),
    ("not_equal_to", lambda q, u: q.not_equal_to("priority", 2), {"where": {"priority": {"$ne": 2}}},
     ALL - {"beta"}),
    ("less_than", lambda q, u: q.less_than("priority", 2), {"where": {"priority": {"$lt": 2}}}, {"alpha"}),
    ("less_than_or_equal_to", lambda q, u: q.less_than_or_equal_to("priority", 2),
     {"where": {"priority": {"$lte": 2}}}, {"alpha", "beta"}),
    ("greater_than", lambda q, u: q.greater_than("priority", 3), {"where": {"priority": {"$gt": 3}}}, {"delta"}),
    ("greater_than_or_equal_to", lambda q, u: q.greater_than_or_equal_to("priority", 3),
     {"where": {"priority": {"$gte": 3}}}, {"gamma", "delta"}),
    ("contained_in", lambda q, u: q.contained_in("priority", [1, 3]), {"where": {"priority": {"$in": [1, 3]}}},
     {"alpha", "gamma"}),
    ("not_contained_in", lambda q, u: q.not_contained_in("priority", (1, 3)),
     {"where": {"priority": {"$nin": [1, 3]}}}, {"beta", "delta", EPS}),
    ("contains_all", lambda q, u: q.contains_all("tags", ["a", "b"]), {"where": {"tags": {"$all": ["a", "b"]}}},
     {"alpha", "gamma"}),
    ("exists", lambda q, u: q.exists("priority"), {"where": {"priority": {"$exists": True}}}, ALL - {EPS}),
    ("does_not_exist", lambda q, u: q.does_not_exist("priority"), {"where": {"priority": {"$exists": False}}},
     {EPS}),
    ("does_not_exists (the guide's spelling)", lambda q, u: q.does_not_exists("loc"),
     {"where": {"loc": {"$exists": False}}}, {"delta", EPS}),
    ("startswith", lambda q, u: q.startswith("title", "al"), {"where": {"title": {"$regex": "^al"}}}, {"alpha"}),
    ("endswith", lambda q, u: q.endswith("title", "ta"), {"where": {"title": {"$regex": "ta$"}}},
     {"beta", "delta"}),
    ("contains (literal, not a regex)", lambda q, u: q.contains("title", "李总 (x"),
     {"where": {"title": {"$regex": "李总 \\(x"}}}, {EPS}),
    ("contains a dot", lambda q, u: q.contains("title", "."), {"where": {"title": {"$regex": "\\."}}}, set()),
    ("matched", lambda q, u: q.matched("title", "^A", ignore_case=True),
     {"where": {"title": {"$regex": "^A", "$options": "i"}}}, {"alpha"}),
    ("size_equal_to", lambda q, u: q.size_equal_to("tags", 1), {"where": {"tags": {"$size": 1}}}, {"beta", EPS}),
    ("matches_query", lambda q, u: q.matches_query("owner", u.equal_to("vip", True)),
     {"where": {"owner": {"$inQuery": {"className": "User", "where": {"vip": True}}}}}, {"alpha", "gamma"}),
    ("does_not_match_query", lambda q, u: q.does_not_match_query("owner", u.equal_to("vip", True)),
     {"where": {"owner": {"$notInQuery": {"className": "User", "where": {"vip": True}}}}}, {"beta", "delta", EPS}),
    ("matches_key_in_query", lambda q, u: q.matches_key_in_query("title", "fav", u),
     {"where": {"title": {"$select": {"query": {"className": "User", "where": {}}, "key": "fav"}}}}, {"beta"}),
    ("does_not_match_key_in_query", lambda q, u: q.does_not_match_key_in_query("title", "fav", u.limit(5)),
     {"where": {"title": {"$dontSelect": {"query": {"className": "User", "where": {}, "limit": 5}, "key": "fav"}}}},
     ALL - {"beta"}),
    ("near", lambda q, u: q.near("loc", BEIJING), {"where": {"loc": {"$nearSphere": bj()}}},
     ["alpha", "beta", "gamma"]),
    ("within_kilometers", lambda q, u: q.within_kilometers("loc", BEIJING, 1500),
     {"where": {"loc": {"$nearSphere": bj(), "$maxDistanceInKilometers": 1500}}}, ["alpha", "beta"]),
    ("within_kilometers min", lambda q, u: q.within_kilometers("loc", BEIJING, 3000, 500),
     {"where": {"loc": {"$nearSphere": bj(), "$minDistanceInKilometers": 500, "$maxDistanceInKilometers": 3000}}},
     ["beta", "gamma"]),
    ("within_miles", lambda q, u: q.within_miles("loc", BEIJING, 1000),
     {"where": {"loc": {"$nearSphere": bj(), "$maxDistanceInMiles": 1000}}}, ["alpha", "beta"]),
    ("within_radians", lambda q, u: q.within_radians("loc", BEIJING, 0.2),
     {"where": {"loc": {"$nearSphere": bj(), "$maxDistanceInRadians": 0.2}}}, ["alpha", "beta"]),
    ("within_geo_box", lambda q, u: q.within_geo_box("loc", SW, NE),
     {"where": {"loc": {"$within": {"$box": [SW.to_json(), NE.to_json()]}}}}, {"beta", "gamma"}),
    ("ascending", lambda q, u: q.ascending("priority"), {"order": "priority"},
     [EPS, "alpha", "beta", "gamma", "delta"]),
    ("descending", lambda q, u: q.descending("priority"), {"order": "-priority"},
     ["delta", "gamma", "beta", "alpha", EPS]),
    ("ascending replaces the order", lambda q, u: q.descending("title").ascending("priority"),
     {"order": "priority"}, [EPS, "alpha", "beta", "gamma", "delta"]),
    ("add_ascending + add_descending", lambda q, u: q.add_ascending("done").add_descending("priority"),
     {"order": "done,-priority"}, [EPS, "gamma", "alpha", "delta", "beta"]),
    ("skip + limit", lambda q, u: q.ascending("priority").skip(1).limit(2),
     {"order": "priority", "limit": 2, "skip": 1}, ["alpha", "beta"]),
    ("select", lambda q, u: q.equal_to("priority", 1).select("title", "done"),
     {"where": {"priority": 1}, "keys": "title,done"}, {"alpha"}),
    ("include", lambda q, u: q.equal_to("priority", 1).include("owner"),
     {"where": {"priority": 1}, "include": "owner"}, {"alpha"}),
    ("or_", lambda q, u: cql.Query.or_(q.equal_to("priority", 1), q.equal_to("done", True)),
     {"where": {"$or": [{"priority": 1}, {"done": True}]}}, {"alpha", "beta", "delta"}),
    ("and_", lambda q, u: cql.Query.and_(q.greater_than("priority", 1), q.equal_to("done", False)),
     {"where": {"$and": [{"priority": {"$gt": 1}}, {"done": False}]}}, {"gamma"}),
    ("two operators on a field merge", lambda q, u: q.greater_than("priority", 1).less_than("priority", 4),
     {"where": {"priority": {"$gt": 1, "$lt": 4}}}, {"beta", "gamma"}),
    ("a second = on a field is added, not replaced", lambda q, u: q.equal_to("priority", 1).equal_to("priority", 2),
     {"where": {"$and": [{"priority": 1}, {"priority": 2}]}}, set()),
    ("the same operator twice is added", lambda q, u: q.greater_than("priority", 1).greater_than("priority", 2),
     {"where": {"$and": [{"priority": {"$gt": 1}}, {"priority": {"$gt": 2}}]}}, {"gamma", "delta"}),
    # App Engine vocabulary
    ("filter =", lambda q, u: q.filter("priority =", 2), {"where": {"priority": 2}}, {"beta"}),
    ("filter bare name", lambda q, u: q.filter("priority", 2), {"where": {"priority": 2}}, {"beta"}),
    ("filter !=", lambda q, u: q.filter("priority !=", 2), {"where": {"priority": {"$ne": 2}}}, ALL - {"beta"}),
    ("filter <", lambda q, u: q.filter("priority <", 2), {"where": {"priority": {"$lt": 2}}}, {"alpha"}),
    ("filter <=", lambda q, u: q.filter("priority <=", 2), {"where": {"priority": {"$lte": 2}}},
     {"alpha", "beta"}),
    ("filter >", lambda q, u: q.filter("priority >", 3), {"where": {"priority": {"$gt": 3}}}, {"delta"}),
    ("filter >=", lambda q, u: q.filter("priority >=", 3), {"where": {"priority": {"$gte": 3}}},
     {"gamma", "delta"}),
    ("filter IN", lambda q, u: q.filter("priority IN", [1, 4]), {"where": {"priority": {"$in": [1, 4]}}},
     {"alpha", "delta"}),
    ("filter twice", lambda q, u: q.filter("priority >", 1).filter("done =", False),
     {"where": {"priority": {"$gt": 1}, "done": False}}, {"gamma"}),
    ("order", lambda q, u: q.order("-done", "priority"), {"order": "-done,priority"},
     ["beta", "delta", "alpha", "gamma", EPS]),
    ("order twice appends", lambda q, u: q.order("-done").order("priority"), {"order": "-done,priority"},
     ["beta", "delta", "alpha", "gamma", EPS]),
]


@pytest.mark.parametrize("name,build,params,answer", CASES, ids=[c[0] for c in CASES])
def test_vocabulary(db, name, build, params, answer):
    conn, _ = db
    query = build(cql.Query("Todo", conn=conn), cql.Query("User", conn=conn))
    assert requests(query) == get(params)
    found = titles(query.find())
    assert (found if isinstance(answer, list) else set(found)) == answer
    assert query.count() == len(answer) or "limit" in params


def test_queries_are_immutable(db):
    conn, _ = db
    base = cql.Query("Todo", conn=conn)
    narrowed = base.equal_to("priority", 1)
    base.limit(1).ascending("title")
    assert base.where == {} and narrowed.where == {"priority": 1}
    assert len(base.find()) == 5 and titles(narrowed.find()) == ["alpha"]


def test_select_and_include_shape_the_rows(db):
    conn, objs = db
    row = cql.Query("Todo", conn=conn).equal_to("priority", 1).select("title").first()
    assert row.get("title") == "alpha" and row.get("priority") is None and row.id == objs["alpha"].id
    row = cql.Query("Todo", conn=conn).equal_to("priority", 1).include("owner").first()
    assert row.get("owner").get("name") == "ann" and row.get("owner").id == objs["ann"].id
    row = cql.Query("Todo", conn=conn).equal_to("priority", 1).first()
    assert row.get("owner").id == objs["ann"].id and row.get("owner").get("name") is None


def test_equal_to_an_object_is_a_pointer(db):
    conn, objs = db
    q = cql.Query("Todo", conn=conn).equal_to("owner", objs["ann"])
    assert requests(q) == get({"where": {"owner": {"__type": "Pointer", "className": "User",
                                                   "objectId": objs["ann"].id}}})
    assert sorted(titles(q.find())) == ["alpha", "gamma"]


def test_first_get_count(db):
    conn, objs = db
    q = cql.Query("Todo", conn=conn)
    assert q.ascending("priority").first().get("title") == EPS
    with pytest.raises(cql.ObjectNotFound) as info:
        q.equal_to("priority", 99).first()
    assert info.value.code == 101
    assert q.get(objs["beta"].id).get("title") == "beta"
    with pytest.raises(cql.ObjectNotFound):
        q.get("0" * 24)
    assert q.filter("priority >", 9).get() is None  # App Engine's get(): None when nothing matches
    assert q.order("priority").get().get("title") == EPS
    assert q.count() == 5 and q.count(limit=3) == 3 and q.filter("done", True).count() == 2


def test_fetch_run_and_iteration(db):
    conn, _ = db
    q = cql.Query("Todo", conn=conn).order("priority")
    order = [EPS, "alpha", "beta", "gamma", "delta"]
    assert titles(q.fetch(2)) == order[:2]
    assert titles(q.fetch(2, offset=2)) == order[2:4]
    assert titles(q.fetch()) == order
    assert titles(q.run(batch_size=2)) == order
    assert titles(q.run(limit=3, batch_size=2)) == order[:3]
    assert titles(list(q)) == order
    assert titles(q.run(offset=1, batch_size=2)) == order[1:]
    assert titles(q.limit(3).fetch()) == order[:3] and titles(q.limit(3).run(batch_size=2)) == order[:3]
    assert titles(q.skip(1).limit(2).fetch()) == order[1:3]


def test_keys_only_and_projection(db):
    conn, objs = db
    q = cql.Query("Todo", conn=conn, keys_only=True).order("priority")
    assert requests(q) == get({"keys": "objectId", "order": "priority"})
    assert q.fetch(2) == [objs[EPS].id, objs["alpha"].id]
    p = cql.Query("Todo", conn=conn, projection=("title",)).order("priority")
    assert requests(p) == get({"keys": "title", "order": "priority"})
    row = p.fetch(1)[0]
    assert row.get("title") == EPS and row.get("tags") is None
    assert cql.Query("Todo", conn=conn).order("priority").fetch(1, keys_only=True) == [objs[EPS].id]


def test_cursor_with_cursor_and_fetch_page(db):
    conn, objs = db
    q = cql.Query("Todo", conn=conn).order("priority")
    with pytest.raises(cql.CQLError):
        q.cursor()  # nothing fetched yet
    first = q.fetch(2)
    cursor = q.cursor()
    after = q.with_cursor(cursor)
    alpha = objs["alpha"].id
    assert requests(after) == get({"where": {"$or": [{"priority": {"$gt": 1}},
                                                     {"priority": 1, "objectId": {"$gt": alpha}}]},
                                   "order": "priority,objectId"})
    assert titles(first) + titles(after.fetch()) == [EPS, "alpha", "beta", "gamma", "delta"]
    page, cursor2, more = q.fetch_page(2, start_cursor=cursor)
    assert titles(page) == ["beta", "gamma"] and more
    page, cursor3, more = q.fetch_page(2, start_cursor=cursor2)
    assert titles(page) == ["delta"] and not more
    between = q.with_cursor(cursor, cursor2)
    assert titles(between.fetch()) == ["beta", "gamma"] and between.count() == 2


def test_cursor_from_another_order_is_refused(db):
    conn, _ = db
    q = cql.Query("Todo", conn=conn).order("priority")
    q.fetch(1)
    with pytest.raises(cql.CQLError) as info:
        cql.Query("Todo", conn=conn).order("title").with_cursor(q.cursor())
    assert info.value.code == 102 and "ordered by" in info.value.message
    with pytest.raises(cql.CQLError):
        q.fetch_page(2, start_cursor="not a cursor")


def test_near_pages_fall_back_to_offsets(db):
    conn, _ = db
    q = cql.Query("Todo", conn=conn).near("loc", BEIJING)
    page, cursor, more = q.fetch_page(2)
    assert titles(page) == ["alpha", "beta"] and more
    nxt = q.with_cursor(cursor)
    assert requests(nxt) == get({"where": {"loc": {"$nearSphere": BEIJING.to_json()}}, "skip": 2})
    assert titles(nxt.fetch()) == ["gamma"]


def test_scan(db):
    conn, _ = db
    q = cql.Query("Todo", conn=conn)
    assert sorted(titles(q.scan(batch_size=2))) == sorted(ALL)
    assert titles(q.scan(batch_size=2, scan_key="priority")) == [EPS, "alpha", "beta", "gamma", "delta"]


def test_do_cloud_query(db):
    conn, _ = db
    result = cql.Query.do_cloud_query("select * from Todo where priority > ? order by priority", 2, conn=conn)
    assert titles(result.results) == ["gamma", "delta"] and result.class_name == "Todo" and result.count is None
    assert cql.Query.do_cloud_query("select count(*) from Todo where done = ?", [True], conn=conn).count == 2
    two = cql.Query.do_cloud_query("select * from Todo where priority in ?", [1, 2], conn=conn)
    assert sorted(titles(two.results)) == ["alpha", "beta"]
    both = cql.Query.do_cloud_query("select * from Todo where priority = ? or priority = ?", [1, 2], conn=conn)
    assert sorted(titles(both.results)) == ["alpha", "beta"]


def test_bad_input_is_a_clear_error(db):
    conn, _ = db
    q = cql.Query("Todo", conn=conn)
    for call, code in [(lambda: q.filter("priority ~", 1), 300), (lambda: q.filter("priority IN", 3), 300),
                       (lambda: q.equal_to("bad key", 1), 105), (lambda: cql.Query("no such"), 103),
                       (lambda: q.limit(-1), 300), (lambda: q.near("loc", (1, 2)), 302),
                       (lambda: q.equal_to("x", float("nan")), 107), (lambda: q.equal_to("x", object()), 107),
                       (lambda: cql.Query.or_(q, cql.Query("User")), 300)]:
        with pytest.raises(cql.CQLError) as info:
            call()
        assert info.value.code == code


def test_default_connection(monkeypatch):
    conn = cql.init(None)
    try:
        cql.execute("insert into Solo(n) values (1), (2)")
        assert cql.Query("Solo").count() == 2  # no conn=: cql.init's default
    finally:
        conn.close()

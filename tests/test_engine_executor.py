"""The embedded engine's executor, driven by Plans (no parser involved)."""
import re

import pytest

from cql import errors
from cql.engine import EngineBackend
from cql.engine import executor as executor_mod
from cql.plan import Create, Delete, Find, Update


def ptr(cls, oid):
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def geo(lng, lat):
    return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}


@pytest.fixture
def db():
    engine = EngineBackend(None)
    yield engine
    engine.close()


def insert(db, cls, *rows):
    return [o["objectId"] for o in db.run(Create(cls, tuple(rows))).objects]


def names(result):
    return [o.get("name") for o in result.objects]


# -- inserts -----------------------------------------------------------------------
def test_insert_returns_ids_and_times(db):
    res = db.run(Create("Todo", ({"name": "a"}, {"name": "b"})))
    assert res.kind == "insert" and res.rowcount == 2
    ids = [o["objectId"] for o in res.objects]
    assert len(set(ids)) == 2
    for o in res.objects:
        assert re.fullmatch(r"[0-9a-f]{24}", o["objectId"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["createdAt"])
        assert set(o) == {"objectId", "createdAt"}
    stored = db.run(Find("Todo")).objects
    assert [o["objectId"] for o in stored] == ids
    assert stored[0]["createdAt"] == stored[0]["updatedAt"] == res.objects[0]["createdAt"]


@pytest.mark.parametrize("key", ["objectId", "createdAt", "updatedAt"])
def test_insert_may_not_set_system_fields(db, key):
    with pytest.raises(errors.InvalidKey) as exc:
        db.run(Create("Todo", ({"name": "a", key: "x"},)))
    assert exc.value.code == 105
    assert db.run(Find("Todo")).objects == []


def test_type_of_a_field_is_fixed_by_first_write(db):
    insert(db, "Item", {"price": 3})
    with pytest.raises(errors.TypeMismatch) as exc:
        db.run(Create("Item", ({"price": "cheap"},)))
    assert exc.value.code == 111 and "Item.price" in str(exc.value)
    with pytest.raises(errors.TypeMismatch):
        db.run(Create("Item", ({"q": 1}, {"q": "one"})))  # inside one statement too
    assert db.run(Find("Item", count=True, limit=0)).count == 1
    insert(db, "Item", {"price": None})  # null fits any type


def test_loose_types_when_asked():
    engine = EngineBackend(None, strict_types=False)
    engine.run(Create("Item", ({"v": 1}, {"v": "a"})))
    assert engine.run(Find("Item", where={"v": {"$gt": 0}})).rowcount == 1


def test_schema_lists_types(db):
    insert(db, "Post", {"title": "t"})
    pid = insert(db, "Post", {"title": "u"})[0]
    insert(db, "Comment", {"n": 1, "ok": True, "tags": [], "meta": {"a": 1},
                           "at": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"},
                           "post": ptr("Post", pid), "where": geo(1, 2),
                           "f": {"__type": "File", "id": "x"},
                           "b": {"__type": "Bytes", "base64": "AA=="}})
    db.run(Update("Comment", {"fans": {"__op": "AddRelation", "objects": [ptr("_User", "u1")]}}))
    s = db.schema()["Comment"]
    assert s == {"objectId": "String", "n": "Number", "ok": "Boolean", "tags": "Array",
                 "meta": "Object", "at": "Date", "post": "Pointer<Post>", "where": "GeoPoint",
                 "f": "File", "b": "Bytes", "fans": "Relation<_User>",
                 "createdAt": "Date", "updatedAt": "Date"}


# -- select: keys, include, limit, skip, count ---------------------------------------
def test_keys_always_return_system_fields(db):
    insert(db, "T", {"name": "a", "score": 1, "x": 2})
    row = db.run(Find("T", keys=("score",), columns=("score",))).objects[0]
    assert set(row) == {"objectId", "createdAt", "updatedAt", "score"}


def test_include_nested_and_dangling(db):
    country = insert(db, "Country", {"name": "FR"})[0]
    author = insert(db, "Author", {"name": "ann", "country": ptr("Country", country)})[0]
    insert(db, "Book", {"name": "b1", "author": ptr("Author", author)},
           {"name": "b2", "author": ptr("Author", "000000000000000000000000")},
           {"name": "b3"})
    res = db.run(Find("Book", include=("author.country",), order=("name",)))
    b1, b2, b3 = res.objects
    assert b1["author"]["__type"] == "Object" and b1["author"]["className"] == "Author"
    assert b1["author"]["name"] == "ann"
    assert b1["author"]["country"] == {**b1["author"]["country"], "__type": "Object",
                                       "className": "Country", "name": "FR"}
    assert b2["author"] == ptr("Author", "000000000000000000000000")
    assert "author" not in b3
    # One level only: the country stays a pointer.
    one = db.run(Find("Book", include=("author",), where={"name": "b1"})).objects[0]
    assert one["author"]["country"] == ptr("Country", country)
    # The stored object still holds a pointer.
    raw = db.run(Find("Book", where={"name": "b1"})).objects[0]
    assert raw["author"] == ptr("Author", author)


def test_include_array_of_pointers(db):
    a = insert(db, "A", {"name": "x"}, {"name": "y"})
    insert(db, "L", {"items": [ptr("A", a[0]), ptr("A", a[1])]})
    items = db.run(Find("L", include=("items",))).objects[0]["items"]
    assert [i["name"] for i in items] == ["x", "y"]


def test_default_limit_truncates_and_explicit_limit_does_not(db):
    insert(db, "N", *({"i": i} for i in range(150)))
    res = db.run(Find("N"))
    assert res.rowcount == 100 and res.truncated
    res = db.run(Find("N", limit=120))
    assert res.rowcount == 120 and not res.truncated
    res = db.run(Find("N", limit=100))
    assert not res.truncated
    assert not db.run(Find("N", skip=60)).truncated
    assert db.run(Find("N", skip=40)).truncated


def test_skip_limit_count(db):
    insert(db, "N", *({"i": i} for i in range(10)))
    res = db.run(Find("N", order=("i",), skip=3, limit=4, count=True))
    assert [o["i"] for o in res.objects] == [3, 4, 5, 6]
    assert res.count == 10
    only = db.run(Find("N", where={"i": {"$gte": 5}}, count=True, limit=0))
    assert only.count == 5 and only.objects == [] and only.count_only
    assert db.run(Find("N", limit=0)).objects == []
    assert db.run(Find("N")).count is None


def test_negative_limit_is_an_error(db):
    with pytest.raises(errors.CQLError):
        db.run(Find("N", limit=-1))


def test_order_several_keys_and_ties_by_object_id(db):
    ids = insert(db, "S", {"name": "a", "score": 2}, {"name": "b", "score": 1},
                 {"name": "c", "score": 2}, {"name": "d"}, {"name": "e", "score": 1})
    assert names(db.run(Find("S", order=("score", "-name")))) == ["d", "e", "b", "c", "a"]
    assert names(db.run(Find("S", order=("-score", "name")))) == ["a", "c", "b", "e", "d"]
    # ties: objectId ascending (= creation order here), both directions, with a limit (index walk)
    assert names(db.run(Find("S", order=("-score",), limit=4))) == ["a", "c", "b", "e"]
    assert names(db.run(Find("S", order=("score",), limit=3))) == ["d", "b", "e"]
    assert ids == sorted(ids)


def test_results_cannot_corrupt_the_store(db):
    insert(db, "C", {"tags": ["a"], "meta": {"k": 1}})
    res = db.run(Find("C"))
    res.objects[0]["tags"].append("evil")
    res.objects[0]["meta"]["k"] = 2
    res.objects[0]["new"] = 1
    again = db.run(Find("C")).objects[0]
    assert again["tags"] == ["a"] and again["meta"] == {"k": 1} and "new" not in again


# -- where features that need the store ------------------------------------------------
def test_in_query_and_select_subqueries(db):
    p = insert(db, "Post", {"name": "p1", "hot": True}, {"name": "p2", "hot": False})
    insert(db, "Comment", {"name": "c1", "post": ptr("Post", p[0])},
           {"name": "c2", "post": ptr("Post", p[1])}, {"name": "c3"})
    w = {"post": {"$inQuery": {"className": "Post", "where": {"hot": True}}}}
    assert names(db.run(Find("Comment", where=w))) == ["c1"]
    w = {"post": {"$notInQuery": {"className": "Post", "where": {"hot": True}}}}
    assert names(db.run(Find("Comment", where=w, order=("name",)))) == ["c2", "c3"]
    insert(db, "Fav", {"name": "p2"})
    w = {"name": {"$select": {"query": {"className": "Fav", "where": {}}, "key": "name"}}}
    assert names(db.run(Find("Post", where=w))) == ["p2"]
    w = {"name": {"$dontSelect": {"query": {"className": "Fav", "where": {}}, "key": "name"}}}
    assert names(db.run(Find("Post", where=w))) == ["p1"]


def test_subquery_runs_once_per_statement(db, monkeypatch):
    p = insert(db, "Post", *({"name": f"p{i}", "hot": i % 2 == 0} for i in range(10)))
    insert(db, "Comment", *({"post": ptr("Post", pid)} for pid in p))
    calls = []
    real = executor_mod._Lookup.find

    def spy(self, class_name, query):
        calls.append(class_name)
        return real(self, class_name, query)
    monkeypatch.setattr(executor_mod._Lookup, "find", spy)
    w = {"post": {"$inQuery": {"className": "Post", "where": {"hot": True}}}}
    assert db.run(Find("Comment", where=w)).rowcount == 5
    assert calls == ["Post"]


def test_subquery_limit_and_order(db):
    insert(db, "P", *({"name": f"p{i}", "n": i} for i in range(5)))
    insert(db, "Q", *({"name": f"p{i}"} for i in range(5)))
    w = {"name": {"$select": {"query": {"className": "P", "where": {}, "order": "-n", "limit": 2},
                              "key": "name"}}}
    assert sorted(names(db.run(Find("Q", where=w)))) == ["p3", "p4"]


def test_related_to_with_add_and_remove_relation(db):
    users = insert(db, "_User", {"name": "u1"}, {"name": "u2"}, {"name": "u3"})
    post = insert(db, "Post", {"name": "p"})[0]
    add = {"fans": {"__op": "AddRelation", "objects": [ptr("_User", u) for u in users[:2]]}}
    db.run(Update("Post", add, object_id=post))
    rel = {"$relatedTo": {"object": ptr("Post", post), "key": "fans"}}
    assert names(db.run(Find("_User", where=rel, order=("name",)))) == ["u1", "u2"]
    assert db.run(Find("Post")).objects[0]["fans"] == {"__type": "Relation", "className": "_User"}
    db.run(Update("Post", {"fans": {"__op": "RemoveRelation", "objects": [ptr("_User", users[0])]}},
                  object_id=post))
    assert names(db.run(Find("_User", where=rel))) == ["u2"]
    # relation given at insert time
    p2 = insert(db, "Post", {"name": "q", "fans": {"__op": "AddRelation",
                                                   "objects": [ptr("_User", users[2])]}})[0]
    rel2 = {"$relatedTo": {"object": ptr("Post", p2), "key": "fans"}}
    assert names(db.run(Find("_User", where=rel2))) == ["u3"]
    # deleting the owner drops its relations
    db.run(Delete("Post", object_id=p2))
    assert db.run(Find("_User", where=rel2)).objects == []


def test_near_sorts_nearest_first_unless_ordered(db):
    insert(db, "City", {"name": "paris", "loc": geo(2.35, 48.85)},
           {"name": "london", "loc": geo(-0.12, 51.5)},
           {"name": "tokyo", "loc": geo(139.7, 35.7)},
           {"name": "berlin", "loc": geo(13.4, 52.5)},
           {"name": "nowhere"})
    w = {"loc": {"$nearSphere": geo(2.0, 48.0)}}
    assert names(db.run(Find("City", where=w))) == ["paris", "london", "berlin", "tokyo"]
    assert names(db.run(Find("City", where=w, limit=2))) == ["paris", "london"]
    assert names(db.run(Find("City", where=w, order=("name",)))) == ["berlin", "london", "paris", "tokyo"]
    w = {"loc": {"$nearSphere": geo(2.0, 48.0), "$maxDistanceInKilometers": 500}}
    assert names(db.run(Find("City", where=w))) == ["paris", "london"]


def test_bad_where_is_a_cql_error(db):
    insert(db, "T", {"a": 1})
    with pytest.raises(errors.CQLError):
        db.run(Find("T", where={"a": {"$bogus": 1}}))


# -- updates ------------------------------------------------------------------------------
OPS = [
    ({"n": 5}, {"n": {"__op": "Increment", "amount": 2}}, {"n": 7}),
    ({"n": 5}, {"n": {"__op": "Decrement", "amount": 2}}, {"n": 3}),
    ({}, {"n": {"__op": "Increment", "amount": 2}}, {"n": 2}),
    ({"t": ["a"]}, {"t": {"__op": "Add", "objects": ["a", "b"]}}, {"t": ["a", "a", "b"]}),
    ({"t": ["a"]}, {"t": {"__op": "AddUnique", "objects": ["a", "b"]}}, {"t": ["a", "b"]}),
    ({"t": ["a", "b", "a"]}, {"t": {"__op": "Remove", "objects": ["a"]}}, {"t": ["b"]}),
    ({"t": 1, "u": 2}, {"t": {"__op": "Delete"}}, {"u": 2}),
    ({"n": 6}, {"n": {"__op": "BitAnd", "value": 3}}, {"n": 2}),
    ({"n": 6}, {"n": {"__op": "BitOr", "value": 3}}, {"n": 7}),
    ({"n": 6}, {"n": {"__op": "BitXor", "value": 3}}, {"n": 5}),
    ({"n": 1}, {"n": 2, "m": "x"}, {"n": 2, "m": "x"}),
]


@pytest.mark.parametrize("before,body,after", OPS)
def test_every_op_through_update(db, before, body, after):
    oid = insert(db, "O", before)[0]
    res = db.run(Update("O", body, object_id=oid))
    assert res.kind == "update" and res.objects[0]["objectId"] == oid
    obj = db.run(Find("O")).objects[0]
    assert {k: v for k, v in obj.items() if k not in ("objectId", "createdAt", "updatedAt")} == after
    assert obj["updatedAt"] == res.objects[0]["updatedAt"] >= obj["createdAt"]


def test_update_where_returns_each_object(db):
    insert(db, "O", {"n": 1}, {"n": 2}, {"n": 3})
    res = db.run(Update("O", {"n": {"__op": "Increment", "amount": 10}}, where={"n": {"$gte": 2}}))
    assert len(res.objects) == 2 and set(res.objects[0]) == {"objectId", "updatedAt"}
    assert sorted(o["n"] for o in db.run(Find("O")).objects) == [1, 12, 13]


def test_update_may_not_set_system_fields(db):
    oid = insert(db, "O", {"n": 1})[0]
    with pytest.raises(errors.InvalidKey):
        db.run(Update("O", {"objectId": "x"}, object_id=oid))


def test_conditional_write_not_met_changes_nothing(db):
    oid = insert(db, "Acc", {"balance": 10})[0]
    with pytest.raises(errors.ConditionNotMet) as exc:
        db.run(Update("Acc", {"balance": {"__op": "Decrement", "amount": 20}}, object_id=oid,
                      where={"balance": {"$gte": 20}}))
    assert exc.value.code == 305
    assert db.run(Find("Acc")).objects[0]["balance"] == 10
    db.run(Update("Acc", {"balance": {"__op": "Decrement", "amount": 5}}, object_id=oid,
                  where={"balance": {"$gte": 5}}))
    assert db.run(Find("Acc")).objects[0]["balance"] == 5
    with pytest.raises(errors.ConditionNotMet):
        db.run(Delete("Acc", object_id=oid, where={"balance": 100}))
    assert db.run(Find("Acc", count=True, limit=0)).count == 1


def test_missing_object_is_101(db):
    with pytest.raises(errors.ObjectNotFound) as exc:
        db.run(Update("Acc", {"a": 1}, object_id="0" * 24))
    assert exc.value.code == 101
    with pytest.raises(errors.ObjectNotFound):
        db.run(Delete("Acc", object_id="0" * 24))


def test_multi_object_update_is_all_or_nothing(db):
    insert(db, "Mix", *({"i": i, "v": i} for i in range(4)))
    insert(db, "Mix", {"i": 4, "w": "text"})
    insert(db, "Mix", *({"i": i, "v": i} for i in range(5, 8)))
    before = db.run(Find("Mix", order=("i",))).objects
    # The 5th object's w is a string: Increment fails there (111); nothing may change.
    with pytest.raises(errors.TypeMismatch) as exc:
        db.run(Update("Mix", {"v": {"__op": "Increment", "amount": 1},
                              "w": {"__op": "Increment", "amount": 1}}))
    assert exc.value.code == 111
    assert db.run(Find("Mix", order=("i",))).objects == before


def test_delete_where_and_all(db):
    insert(db, "D", *({"i": i} for i in range(5)))
    res = db.run(Delete("D", where={"i": {"$lt": 2}}))
    assert res.kind == "delete" and res.rowcount == 2 and res.objects == []
    assert db.run(Delete("D")).rowcount == 3
    assert db.run(Find("D")).objects == []


def test_indexes_follow_writes(db):
    ids = insert(db, "G", *({"name": f"n{i % 3}", "score": i} for i in range(30)))
    q = Find("G", where={"name": "n1"}, count=True, limit=0)
    assert db.run(q).count == 10
    assert db.run(Find("G", where={"score": {"$gte": 25}}, count=True, limit=0)).count == 5
    db.run(Update("G", {"name": "n1", "score": 100}, object_id=ids[0]))
    db.run(Delete("G", object_id=ids[1]))
    assert db.run(q).count == 10
    assert db.run(Find("G", where={"score": {"$gte": 25}}, count=True, limit=0)).count == 6
    top = db.run(Find("G", order=("-score",), limit=1)).objects[0]
    assert top["objectId"] == ids[0]


def test_close_then_use_is_an_interface_error(db):
    db.close()
    with pytest.raises(errors.InterfaceError):
        db.run(Find("T"))


def test_description():
    assert EngineBackend(None).description.startswith("transient in-memory database")


def test_ids_increase_even_when_the_counter_wraps():
    gen = executor_mod._Ids()
    gen._counter = (1 << 24) - 3
    ids = [gen.next() for _ in range(10)]
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)


def test_nan_is_refused(db, tmp_path):
    with pytest.raises(errors.InvalidJSON):
        db.run(Create("T", ({"x": float("nan")},)))
    file_db = EngineBackend(str(tmp_path / "nan.db"))
    with pytest.raises(errors.InvalidJSON):
        file_db.run(Create("T", ({"x": [float("inf")]},)))
    assert file_db.run(Find("T")).objects == []
    file_db.close()


def test_ids_made_in_bulk_match_one_by_one_and_survive_a_wrap():
    gen = executor_mod._Ids()
    first = gen.many(5)
    assert len(set(first)) == 5 and first == sorted(first)
    assert gen.next() > first[-1]
    gen._counter = (1 << 24) - 3  # the batch would wrap: falls back to one by one
    ids = gen.many(10)
    assert ids == sorted(ids) and len(set(ids)) == 10 and ids[0] > first[-1]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert gen.many(0) == []


def test_now_iso_is_utc_with_milliseconds():
    from datetime import datetime, timezone
    text = executor_mod.now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - parsed).total_seconds()) < 2


def test_reused_compiled_wheres_never_give_stale_answers():
    db = EngineBackend(None, strict_types=False)
    insert(db, "V", {"v": 1}, {"v": 1.0}, {"v": True}, {"v": "1"})
    for value, n in [(1, 2), (True, 1), (1.0, 2), ("1", 1), (1, 2)]:
        assert len(db.run(Find("V", where={"v": value})).objects) == n, value
    tags = ["a"]
    where = {"t": {"$in": tags}}
    insert(db, "T", {"t": "a"}, {"t": "b"})
    assert len(db.run(Find("T", where=where)).objects) == 1
    tags.append("b")  # the caller changes its where: a new where, a new answer
    assert len(db.run(Find("T", where=where)).objects) == 2
    assert len(db.run(Find("T", where={"t": {"$in": ["a"]}})).objects) == 1
    # A where with a subquery reads the database: compiled again every time.
    sub = {"t": {"$select": {"query": {"className": "S", "where": {}}, "key": "t"}}}
    assert db.run(Find("T", where=sub)).objects == []
    insert(db, "S", {"t": "b"})
    assert [o["t"] for o in db.run(Find("T", where=sub)).objects] == ["b"]


@pytest.mark.parametrize("on_file", [False, True])
def test_relation_equality_on_the_engine(tmp_path, on_file):
    """{relationField: Pointer} matches the objects whose relation holds the
    pointer (Parse's shorthand; the LeanCloud guide's equal_to('tags', tag)),
    in selects, counts, updates, beside other conditions and with an index."""
    import cql
    c = cql.connect(str(tmp_path / "r.db")) if on_file else cql.connect()
    tags = [c.execute("insert into Tag (name) values (?)", n).objects[0]["objectId"] for n in "abc"]
    p1 = c.execute("insert into Post (title) values ('p1')").objects[0]["objectId"]
    p2 = c.execute("insert into Post (title) values ('p2')").objects[0]["objectId"]
    add = "update Post set tags = op('AddRelation', {'objects': [%s]}) where objectId = ?"
    c.execute(add % "pointer('Tag', ?), pointer('Tag', ?)", tags[0], tags[1], p1)
    c.execute(add % "pointer('Tag', ?)", tags[1], p2)
    for indexed in (False, True):
        if indexed:
            c.create_index("Post", "tags")
        for tag, titles in zip(tags, (["p1"], ["p1", "p2"], [])):
            got = c.execute("select title from Post where tags = pointer('Tag', ?) order by title", tag)
            assert [o["title"] for o in got.objects] == titles
            assert c.execute("select count(*) from Post where tags = pointer('Tag', ?)", tag).count == len(titles)
        got = c.execute("select title from Post where tags = pointer('Tag', ?) and title = 'p2'", tags[1])
        assert [o["title"] for o in got.objects] == ["p2"]
        assert c.execute("select title from Post where tags = pointer('Other', ?)", tags[1]).objects == []
    assert c.execute("update Post set n = 1 where tags = pointer('Tag', ?)", tags[0]).rowcount == 1
    assert [o["title"] for o in c.execute("select title from Post where n = 1").objects] == ["p1"]
    c.close()

"""cql.Object (LeanCloud SDK style) on the embedded engine: each call, the plan
it lowers to, and what the database holds afterwards."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

import cql
from cql.plan import Create, Update


@pytest.fixture
def conn():
    c = cql.connect()
    yield c
    c.close()


def stored(conn, cls, object_id):
    return conn.execute(f"select * from {cls} where objectId = ?", object_id).results[0]


def test_extend_and_subclass_name_the_class(conn):
    Todo = cql.Object.extend("Todo")
    assert Todo.rest_class_name() == "Todo" and cql.Object.extend("Todo") is Todo

    class Student(cql.Object):
        pass

    class Renamed(cql.Object):
        class_name = "_User"  # the SDK's spelling

    assert Student.rest_class_name() == "Student" and cql.Object.extend("Student") is Student
    assert Renamed.rest_class_name() == "_User"
    with pytest.raises(cql.CQLError) as info:
        cql.Object.extend("bad name")
    assert info.value.code == 103


def test_save_creates_then_updates(conn):
    Todo = cql.Object.extend("Todo")
    todo = Todo(title="工程师周会")
    todo.set("content", "每周工程师会议").set({"location": "会议室", "when": datetime(2015, 11, 11, 7, 10,
                                                                                  tzinfo=timezone.utc)})
    assert isinstance(todo.save_plan(), Create) and todo.is_new() and todo.is_dirty()
    todo.save(conn=conn)
    assert todo.id and todo.created_at == todo.updated_at and not todo.is_dirty()
    row = stored(conn, "Todo", todo.id)
    assert row["title"] == "工程师周会" and row["when"] == datetime(2015, 11, 11, 7, 10, tzinfo=timezone.utc)
    todo.set("location", "二楼")
    plan = todo.save_plan()
    assert isinstance(plan, Update) and plan.body == {"location": "二楼"} and plan.object_id == todo.id
    todo.save()  # the connection it was saved on
    assert stored(conn, "Todo", todo.id)["location"] == "二楼"
    assert todo.get("objectId") == todo.id and todo.get("createdAt") == todo.created_at


def test_ops_are_sent_as_ops_and_estimated_locally(conn):
    Todo = cql.Object.extend("Todo")
    todo = Todo(views=0, tags=["a"], flags=6)
    todo.save(conn=conn)
    todo.increment("views").increment("views", 5)
    todo.add("tags", "b").add("tags", "c")
    todo.bit_and("flags", 3)
    assert todo.save_plan().body == {"views": {"__op": "Increment", "amount": 6},
                                     "tags": {"__op": "Add", "objects": ["b", "c"]},
                                     "flags": {"__op": "BitAnd", "value": 3}}
    assert (todo.get("views"), todo.get("tags"), todo.get("flags")) == (6, ["a", "b", "c"], 2)
    todo.save()
    todo.add_unique("tags", "a")
    todo.add_unique("tags", "d")
    assert todo.save_plan().body == {"tags": {"__op": "AddUnique", "objects": ["a", "d"]}}
    todo.save()
    todo.remove("tags", "b")
    todo.unset("flags")
    assert todo.save_plan().body == {"tags": {"__op": "Remove", "objects": ["b"]}, "flags": {"__op": "Delete"}}
    todo.save()
    row = stored(conn, "Todo", todo.id)
    assert row["views"] == 6 and row["tags"] == ["a", "c", "d"] and "flags" not in row
    assert todo.get("tags") == ["a", "c", "d"] and not todo.has("flags")
    with pytest.raises(cql.CQLError):
        todo.add("tags", "x").remove("tags", "y")  # cannot merge: save in between


def test_set_then_increment_merges_into_a_set(conn):
    todo = cql.Object.extend("Todo")()
    todo.set("views", 10).increment("views", 2)
    assert todo.save_plan().rows[0] == {"views": 12}


def test_conditional_save(conn):
    Wiki = cql.Object.extend("Wiki")
    wiki = Wiki(content="Hello World!", version=2)
    wiki.save(conn=conn)
    wiki.set("content", "Morning, World!")
    query = Wiki.query.equal_to("version", 1)
    assert wiki.save_plan(query).where == {"version": 1}
    with pytest.raises(cql.ConditionNotMet) as info:
        wiki.save(where=query)
    assert info.value.code == 305 and stored(conn, "Wiki", wiki.id)["content"] == "Hello World!"
    wiki.save(where=Wiki.query.equal_to("version", 2))
    assert stored(conn, "Wiki", wiki.id)["content"] == "Morning, World!"
    with pytest.raises(cql.CQLError):
        Wiki(content="x").save(where=query, conn=conn)  # a new object has nothing to condition
    with pytest.raises(cql.CQLError):
        wiki.save(where=cql.Query("Other"))


def test_fetch_when_save_and_fetch(conn):
    Todo = cql.Object.extend("Todo")
    todo = Todo(views=1, title="t")
    todo.save(conn=conn)
    conn.execute("update Todo set views = 10 where objectId = ?", todo.id)
    todo.increment("views")
    todo.fetch_when_save = True
    todo.save()
    assert todo.get("views") == 11
    other = Todo.create_without_data(todo.id, conn=conn)
    assert other.get("title") is None
    other.fetch(select=["title"])
    assert other.get("title") == "t" and other.get("views") is None
    other.fetch()
    assert other.get("views") == 11
    with pytest.raises(cql.ObjectNotFound):
        Todo.create_without_data("0" * 24, conn=conn).fetch()


def test_destroy(conn):
    Todo = cql.Object.extend("Todo")
    todo = Todo(title="x")
    todo.save(conn=conn)
    todo.destroy()
    assert conn.execute("select count(*) from Todo").count == 0
    Todo().destroy(conn=conn)  # never saved: nothing to do (as the SDK)


def test_pointers_and_unsaved_children(conn):
    Comment = cql.Object.extend("Comment")
    Folder = cql.Object.extend("TodoFolder")
    folder = Folder(name="工作")
    comment = Comment(like=1, target=folder)
    comment.save(conn=conn)  # saves the folder first: a pointer needs an id
    assert folder.id and stored(conn, "Comment", comment.id)["target"] == cql.Pointer("TodoFolder", folder.id)
    found = cql.Query("Comment", conn=conn).include("target").first()
    assert found.get("target").get("name") == "工作" and isinstance(found.get("target"), Folder)


def test_relation_add_remove_query(conn):
    Tag = cql.Object.extend("Tag")
    Folder = cql.Object.extend("TodoFolder")
    tags = [Tag(name=n) for n in ("今日必做", "老婆吩咐", "十分重要")]
    cql.Object.save_all(tags, conn=conn)
    folder = Folder(name="家庭")
    relation = folder.relation("tags")
    relation.add(tags[0])
    relation.add(tags[1], tags[2])
    folder.save(conn=conn)
    again = Folder.create_without_data(folder.id, conn=conn)
    query = again.relation("tags").query  # target class learned from the database
    assert query.explain()[0]["params"]["where"] == {"$relatedTo": {
        "object": {"__type": "Pointer", "className": "TodoFolder", "objectId": folder.id}, "key": "tags"}}
    assert sorted(t.get("name") for t in query.find()) == sorted(t.get("name") for t in tags)
    assert again.relation("tags").query().count() == 3  # query() reads the same
    rel = folder.relation("tags")
    rel.remove(tags[0])
    assert folder.save_plan().body == {"tags": {"__op": "RemoveRelation", "objects": [tags[0].to_pointer().to_json()]}}
    folder.save()
    assert folder.relation("tags").query.count() == 2
    with pytest.raises(cql.CQLError):
        folder.relation("tags").add("not an object")


def test_save_all_and_destroy_all_report_every_failure(conn):
    Item = cql.Object.extend("Item")
    Item(n=1).save(conn=conn)
    items = [Item(n=2), Item(n="two"), Item(n=3), Item(n=[4])]
    with pytest.raises(cql.BatchWriteError) as info:
        cql.Object.save_all(items, conn=conn)
    err = info.value
    assert [i for i, _ in err.failures] == [items[1], items[3]] and err.code == 111
    assert "2 of 4 saves failed (2 succeeded)" in err.message and "new Item" in err.message
    assert items[0].id and items[2].id and not items[1].id
    assert conn.execute("select count(*) from Item").count == 3
    items[0].set("n", 20)
    cql.Object.save_all([items[0], items[2]])  # updates, on the connection they were saved on
    assert stored(conn, "Item", items[0].id)["n"] == 20
    items[2].destroy()
    with pytest.raises(cql.BatchWriteError) as info:
        cql.Object.destroy_all([items[0], items[2]])
    assert [i for i, _ in info.value.failures] == [items[2]] and info.value.code == 101
    assert conn.execute("select count(*) from Item").count == 1
    with pytest.raises(cql.CQLError):
        cql.Object.destroy_all([Item()])


def test_values_json_cannot_hold_fail_at_set(conn):
    todo = cql.Object.extend("Todo")()
    for bad in (float("inf"), object(), {"a": float("nan")}):
        with pytest.raises(cql.CQLError) as info:
            todo.set("x", bad)
        assert info.value.code == 107
    with pytest.raises(cql.InvalidKey):
        todo.set("objectId", "x")


def test_class_bound_connection():
    conn = cql.connect()
    Bound = cql.Object.extend("Bound")
    Bound._connection = conn
    try:
        Bound(n=1).save()
        assert conn.execute("select count(*) from Bound").count == 1
        assert Bound.query.count() == 1
    finally:
        Bound._connection = None
        conn.close()

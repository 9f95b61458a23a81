"""cql.Model (App Engine ndb style) on the embedded engine."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

import cql
import cql.model
from cql.plan import Create, Update


@pytest.fixture
def conn():
    c = cql.connect()
    yield c
    c.close()


class Owner(cql.Model):
    name = cql.StringProperty(required=True)


class Task(cql.Model):
    title = cql.StringProperty(required=True)
    priority = cql.IntegerProperty(default=0, choices=(0, 1, 2, 3))
    score = cql.FloatProperty()
    done = cql.BooleanProperty(default=False)
    due = cql.DateTimeProperty()
    stamp = cql.DateTimeProperty(auto_now=True)
    where = cql.GeoPtProperty()
    owner = cql.PointerProperty(Owner)
    data = cql.JsonProperty()
    tags = cql.StringProperty(repeated=True)
    short = cql.StringProperty(validator=lambda prop, v: v.strip())
    stored_as = cql.IntegerProperty("renamed")


def test_properties_are_importable_from_cql_and_cql_model():
    for name in ("StringProperty", "IntegerProperty", "FloatProperty", "BooleanProperty", "DateTimeProperty",
                 "GeoPtProperty", "PointerProperty", "JsonProperty", "Model", "Key"):
        assert getattr(cql, name) is getattr(cql.model, name)


@pytest.mark.parametrize("field,value,code", [
    ("title", 5, 111), ("priority", "1", 111), ("priority", True, 111), ("priority", 7, 142),
    ("score", "x", 111), ("score", float("nan"), 107), ("done", 1, 111), ("due", "2020-01-01", 111),
    ("where", "here", 111), ("owner", 3, 111), ("owner", cql.Pointer("Other", "x"), 111),
    ("data", {1, 2}, 107), ("tags", "not a list", 111), ("tags", ["a", 1], 111),
])
def test_a_wrong_value_is_refused_when_assigned(field, value, code):
    task = Task(title="t")
    with pytest.raises(cql.BadValueError) as info:
        setattr(task, field, value)
    assert info.value.code == code and f"Task.{field}" in info.value.message
    with pytest.raises(cql.BadValueError):
        Task(**{"title": "t", field: value})


def test_required_is_checked_before_anything_is_sent(conn):
    with pytest.raises(cql.BadValueError) as info:
        cql.Model.put_multi([Task(title="ok"), Task()], conn=conn)
    assert info.value.code == 142 and "Task.title is required" in info.value.message
    assert conn.execute("select count(*) from Task").count == 0  # not even the valid one


def test_put_get_and_values_round_trip(conn):
    ann = Owner(name="ann")
    ann.put(conn=conn)
    task = Task(title="write", priority=2, score=1, due=date(2024, 5, 1), where=(39.9, 116.4), owner=ann,
                data={"a": [1, 2]}, tags=["x", "y"], short="  hi  ", stored_as=7, note="extra field")
    plan = task.put_plan()
    assert isinstance(plan, Create) and plan.rows[0]["renamed"] == 7 and plan.rows[0]["owner"] == {
        "__type": "Pointer", "className": "Owner", "objectId": ann.key.id()}
    key = task.put(conn=conn)
    assert key == task.key and key.kind() == "Task" and task.created_at is not None
    got = Task.get_by_id(key.id(), conn=conn)
    assert got.to_dict(exclude=["stamp"]) == {
        "title": "write", "priority": 2, "score": 1.0, "done": False,
        "due": datetime(2024, 5, 1, tzinfo=timezone.utc), "where": cql.GeoPoint(latitude=39.9, longitude=116.4),
        "owner": cql.Pointer("Owner", ann.key.id()), "data": {"a": [1, 2]}, "tags": ["x", "y"], "short": "hi",
        "stored_as": 7, "note": "extra field"}
    assert got.note == "extra field" and got.stamp.tzinfo is timezone.utc
    assert got.to_dict(include=["title", "priority"]) == {"title": "write", "priority": 2}
    got.populate(priority=3, done=True)
    assert isinstance(got.put_plan(), Update) and set(got.put_plan().body) == {"priority", "done", "stamp"}
    got.put()
    assert key.get(conn=conn).priority == 3
    assert Task.get_by_id("0" * 24, conn=conn) is None


def test_strict_models_refuse_and_drop_unknown_fields(conn):
    class Strict(cql.Model):
        _strict = True
        name = cql.StringProperty()

    with pytest.raises(cql.BadValueError):
        Strict(name="a", other=1)
    conn.execute("insert into Strict(name, other) values ('a', 1)")
    row = Strict.query(conn=conn).get()
    assert row.to_dict() == {"name": "a"}


def test_class_name_and_bound_connection(conn):
    class Mapped(cql.Model):
        _connection = conn
        n = cql.IntegerProperty()

        @classmethod
        def _class_name(cls):
            return "Stored"

    Mapped(n=1).put()
    assert conn.execute("select count(*) from Stored").count == 1
    assert Mapped.query().count() == 1 and Mapped.query().get().n == 1


def test_query_with_property_conditions(conn):
    Task.put_multi([Task(title=f"t{i}", priority=i % 4, tags=["even" if i % 2 == 0 else "odd"]) for i in range(8)],
                   conn=conn)
    q = Task.query(Task.priority >= 2, Task.tags == "even", conn=conn).order(-Task.priority, Task.title)
    assert q.explain()[0]["params"] == {"where": {"priority": {"$gte": 2}, "tags": "even"},
                                        "order": "-priority,title"}
    assert [t.title for t in q.fetch()] == ["t2", "t6"]
    assert [t.title for t in Task.query(Task.priority.IN([1, 3]), conn=conn).order(Task.title).fetch()] == \
        ["t1", "t3", "t5", "t7"]
    assert [t.title for t in Task.query(cql.OR(Task.priority == 0, Task.priority == 3), conn=conn)
            .order("title").fetch()] == ["t0", "t3", "t4", "t7"]
    keys = Task.query(Task.priority == 1, conn=conn, keys_only=True).fetch()
    assert all(isinstance(k, cql.Key) for k in keys) and len(keys) == 2
    page, cursor, more = Task.query(conn=conn).order("title").fetch_page(3)
    assert [t.title for t in page] == ["t0", "t1", "t2"] and more
    with pytest.raises(cql.BadValueError):
        Task.priority > "high"


def test_multi_and_hooks(conn):
    calls = []

    class Hooked(cql.Model):
        name = cql.StringProperty()

        def _pre_put_hook(self):
            calls.append(("pre_put", self.name))

        def _post_put_hook(self, future):
            calls.append(("post_put", future.get_result().id() == self.key.id()))

        @classmethod
        def _pre_get_hook(cls, key):
            calls.append(("pre_get", key.id()))

        @classmethod
        def _post_get_hook(cls, key, future):
            entity = future.get_result()
            calls.append(("post_get", entity.name if entity else None))

        @classmethod
        def _pre_delete_hook(cls, key):
            calls.append(("pre_delete", key.id()))

        @classmethod
        def _post_delete_hook(cls, key, future):
            calls.append(("post_delete", future.done()))

    keys = Hooked.put_multi([Hooked(name="a"), Hooked(name="b")], conn=conn)
    assert calls == [("pre_put", "a"), ("pre_put", "b"), ("post_put", True), ("post_put", True)]
    calls.clear()
    assert [e.name for e in Hooked.get_multi(keys + ["0" * 24], conn=conn)[:2]] == ["a", "b"]
    assert Hooked.get_multi(["0" * 24], conn=conn) == [None]
    assert calls[:2] == [("pre_get", keys[0].id()), ("pre_get", keys[1].id())] and ("post_get", "a") in calls
    calls.clear()
    keys[0].delete()
    Hooked.get_by_id(keys[1].id(), conn=conn).delete()
    assert calls[0] == ("pre_delete", keys[0].id()) and ("post_delete", True) in calls
    assert conn.execute("select count(*) from Hooked").count == 0
    with pytest.raises(cql.ObjectNotFound):
        keys[0].delete()


def test_put_multi_reports_every_failure(conn):
    class Loose(cql.Model):
        n = cql.JsonProperty()

    conn.execute("insert into Loose(n) values (1)")
    entities = [Loose(n=2), Loose(n="two"), Loose(n=3), Loose(n=[4])]
    with pytest.raises(cql.BatchWriteError) as info:
        Loose.put_multi(entities, conn=conn)
    assert [e for e, _ in info.value.failures] == [entities[1], entities[3]]
    assert entities[0].key and entities[2].key and entities[1].key is None
    with pytest.raises(cql.BatchWriteError) as info:
        Loose.delete_multi([entities[0].key, cql.Key(Loose, "0" * 24)], conn=conn)
    assert len(info.value.failures) == 1 and info.value.failures[0][1].code == 101

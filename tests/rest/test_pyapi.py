"""The Python API (cql.Query, cql.Object, cql.Model, cql.leancloud) on the real
Parse Server, in both flavors (parse, leancloud), with the same answers as on
the embedded engine: the same code (tests/pyapi_cases.py) runs on both."""
from __future__ import annotations

import pytest

import cql
import pyapi_cases as cases


@pytest.fixture
def engine():
    c = cql.connect()
    yield c
    c.close()


def both(conn, engine, cls, load):
    """Load the same data on the server and the engine."""
    return load(conn, cls), load(engine, cls)


QUERIES = [
    ("equal_to", lambda q: q.equal_to("priority", 2)),
    ("greater_than+less_than", lambda q: q.greater_than("priority", 1).less_than("priority", 4)),
    ("same field twice", lambda q: q.greater_than("priority", 1).greater_than("priority", 2)),
    ("contained_in", lambda q: q.contained_in("priority", [1, 3])),
    ("contains_all", lambda q: q.contains_all("tags", ["a", "b"])),
    ("startswith", lambda q: q.startswith("title", "al")),
    ("contains", lambda q: q.contains("title", "李总 (x")),
    ("matched", lambda q: q.matched("title", "^A", ignore_case=True)),
    ("does_not_exist", lambda q: q.does_not_exist("priority")),
    ("matches_query", lambda q, u: q.matches_query("owner", cql.Query(u).equal_to("vip", True))),
    ("or_", lambda q: cql.Query.or_(q.equal_to("priority", 1), q.equal_to("done", True))),
    ("filter", lambda q: q.filter("priority >=", 2).filter("done =", True)),
    ("filter IN", lambda q: q.filter("priority IN", [2, 3])),
    ("near", lambda q: q.near("loc", cases.BEIJING).limit(2)),
    ("within_kilometers", lambda q: q.within_kilometers("loc", cases.BEIJING, 1500)),
    ("within_geo_box", lambda q: q.within_geo_box("loc", cql.GeoPoint(latitude=20, longitude=110),
                                                  cql.GeoPoint(latitude=35, longitude=125))),
    ("order skip limit", lambda q: q.descending("priority").skip(1).limit(2)),
]


@pytest.mark.parametrize("name,build", QUERIES, ids=[n for n, _ in QUERIES])
def test_queries_match_the_engine(conn, engine, cls, name, build):
    answers = []
    for c in (conn, engine):
        cases.load_todos(c, todo=cls, user=cls + "U")
        q = cql.Query(cls, conn=c)
        query = build(q, cls + "U") if build.__code__.co_argcount == 2 else build(q)
        rows = query.find()
        ordered = "near" in name or "order" in name
        answers.append(cases.titles(rows) if ordered else sorted(cases.titles(rows)))
        answers.append(query.count())
    assert answers[:2] == answers[2:], f"server {answers[:2]} != engine {answers[2:]}"
    assert answers[0], "the query found nothing: the comparison proves little"


def test_cursors_over_1000_objects_pages_of_7(conn, engine, cls):
    results = []
    for c in (conn, engine):
        cases.load_numbers(c, cls)
        results.append(cases.paged_orders(lambda order: cql.Query(cls, conn=c).order(*order)))
    assert results[0] == results[1]


def test_cursor_sees_rows_inserted_between_pages(conn, cls):
    cases.load_numbers(conn, cls, n=40)
    q = cql.Query(cls, conn=conn).order("-score")
    first, cursor, more = q.fetch_page(7)
    Num = cql.Object.extend(cls)
    Num(k=1000, score=99).save(conn=conn)  # sorts before the cursor: not seen
    Num(k=1001, score=-1).save(conn=conn)  # after it: seen once
    rest, _ = cases.all_pages(q.with_cursor(cursor), 7)
    ks = [r.get("k") for r in first + rest]
    assert len(ks) == len(set(ks)) == 41
    assert 1001 in ks and 1000 not in ks


def save_all_scenario(conn, cls):
    Item = cql.Object.extend(cls)
    Item(n=1).save(conn=conn)
    items = [Item(n=2), Item(n="two"), Item(n=3), Item(n=[4])]
    with pytest.raises(cql.BatchWriteError) as info:
        Item.save_all(items, conn=conn)
    failed = [(items.index(i), err.code) for i, err in info.value.failures]
    saved = [bool(i.id) for i in items]
    count = cql.Query(cls, conn=conn).count()
    Item.destroy_all([items[0], items[2]], conn=conn)
    return failed, saved, count, cql.Query(cls, conn=conn).count()


def test_save_all_reports_every_failure(conn, engine, cls):
    server, local = save_all_scenario(conn, cls), save_all_scenario(engine, cls)
    assert server == local == ([(1, 111), (3, 111)], [True, False, True, False], 3, 1)


def conditional_save_scenario(conn, cls):
    Wiki = cql.Object.extend(cls)
    wiki = Wiki(content="Hello", version=2)
    wiki.save(conn=conn)
    wiki.set("content", "Morning")
    with pytest.raises(cql.ConditionNotMet) as info:
        wiki.save(where=Wiki.query.equal_to("version", 1))
    unchanged = Wiki.create_without_data(wiki.id, conn=conn).fetch().get("content")
    wiki.increment("version")
    wiki.save(where=Wiki.query.equal_to("version", 2), fetch_when_save=True)
    return info.value.code, unchanged, wiki.get("content"), wiki.get("version")


def test_conditional_save(conn, engine, cls):
    assert conditional_save_scenario(conn, cls) == conditional_save_scenario(engine, cls) == \
        (305, "Hello", "Morning", 3)


def model_scenario(conn, cls):
    calls = []

    class Task(cql.Model):
        title = cql.StringProperty(required=True)
        priority = cql.IntegerProperty(default=0)
        due = cql.DateTimeProperty()

        @classmethod
        def _class_name(cls_):
            return cls

        def _pre_put_hook(self):
            calls.append(("pre_put", self.title))

        def _post_put_hook(self, future):
            calls.append(("post_put", future.get_result() == self.key))

        @classmethod
        def _post_get_hook(cls_, key, future):
            calls.append(("post_get", getattr(future.get_result(), "title", None)))

        @classmethod
        def _pre_delete_hook(cls_, key):
            calls.append(("pre_delete", key.kind()))

    Task._connection = conn
    key = Task(title="write", priority=5).put()
    Task.put_multi([Task(title=f"t{i}", priority=i) for i in range(3)])
    got = Task.get_by_id(key.id()).priority
    ordered = [t.title for t in Task.query(Task.priority >= 1).order(-Task.priority).fetch()]
    key.delete()
    gone = Task.get_by_id(key.id())
    with pytest.raises(cql.BadValueError):
        Task(title=None).put()
    return got, ordered, gone, calls


def test_model_with_hooks(conn, engine, cls):
    server, local = model_scenario(conn, cls), model_scenario(engine, cls)
    assert server == local
    got, ordered, gone, calls = server
    assert (got, ordered, gone) == (5, ["write", "t2", "t1"], None)
    assert calls[:2] == [("pre_put", "write"), ("post_put", True)]
    assert ("post_get", "write") in calls and ("pre_delete", cls) in calls and ("post_get", None) in calls


def test_leancloud_guide_example(conn, cls):
    import cql.leancloud as leancloud
    cql.init(conn)  # the example's "connect line"
    try:
        Todo = leancloud.Object.extend(cls)
        for p, s in ((1, 0), (4, 0), (2, 1)):
            todo = Todo()
            todo.set("priority", p)
            todo.set("status", s)
            todo.save()
        query1 = Todo.query
        query2 = Todo.query
        query1.greater_than("priority", 3)
        query2.equal_to("status", 1)
        query = leancloud.Query.or_(query1, query2)
        assert sorted(t.get("priority") for t in query.find()) == [2, 4]
        result = leancloud.Query.do_cloud_query(f"select count(*) from {cls} where priority > ?", 1)
        assert result.count == 2
    finally:
        cql.init(None)


def test_cursors_over_dates(conn, cls):
    cases.load_numbers(conn, cls, n=120)
    for order in (["createdAt"], ["-updatedAt", "score"]):
        rows, _ = cases.all_pages(cql.Query(cls, conn=conn).order(*order), 7)
        assert sorted(r.get("k") for r in rows) == list(range(120))
        times = [r.created_at if "created" in order[0] else r.updated_at for r in rows]
        assert times == sorted(times, reverse=order[0].startswith("-"))


def test_notebook_magic_connects_to_a_server(server, flavor, cls):
    from testserver import APP_ID, MASTER_KEY
    from cql.notebook import CQLMagics
    magics = CQLMagics(shell=None)
    url = server.parse_url if flavor == "parse" else server.root
    conn = magics.cql(f"{url} --app-id {APP_ID} --master-key {MASTER_KEY} --flavor {flavor} "
                      "--dialect parse-postgres")  # the test server is Parse Server on PostgreSQL
    try:
        assert conn.backend.flavor == flavor
        magics.cql("", f"insert into {cls}(n) values (1), (2), (3)")
        frame = magics.cql(f"select * from {cls} where n >= 2 order by n")
        assert list(frame["n"]) == [2, 3] and str(frame["createdAt"].dt.tz) == "UTC"
        assert cql.Query(cls).count() == 3  # %cql TARGET is cql's default connection too
    finally:
        cql.init(None)

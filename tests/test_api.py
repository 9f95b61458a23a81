"""The Python surface: cql.connect / cql.init / cql.execute, Results, explain, schema."""
import os
import subprocess
import sys

import pytest

import cql
from cql import connection as connection_mod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fresh_default():
    yield
    if connection_mod._default is not None:
        connection_mod._default.close()
    connection_mod._default = None


def test_execute_on_the_default_transient_database(monkeypatch):
    monkeypatch.delenv("CQL_TARGET", raising=False)
    cql.execute("insert into Todo (title, status) values (?, ?)", "walk", 1)
    res = cql.execute("select * from Todo where status = ?", 1)
    assert res.class_name == res.className == "Todo"
    assert res.results[0]["title"] == "walk"
    assert res.count is None
    assert cql.execute("select count(*) from Todo").count == 1
    assert "transient" in connection_mod.default_connection().description


def test_cql_target_names_the_default_database(monkeypatch, tmp_path):
    path = str(tmp_path / "env.db")
    monkeypatch.setenv("CQL_TARGET", path)
    cql.execute("insert into T (a) values (1)")
    assert cql.connect(path).execute("select count(*) from T").count == 1


def test_init_replaces_the_default(tmp_path):
    path = str(tmp_path / "init.db")
    con = cql.init(path)
    assert con.description == f"embedded database {path}"
    cql.execute("insert into T (a) values (2)")
    cql.init()
    assert cql.execute("select count(*) from T").count == 0
    assert con.closed
    assert cql.connect(path).execute("select * from T").results[0]["a"] == 2


@pytest.mark.parametrize("target", [None, ":memory:"])
def test_connect_transient(target):
    con = cql.connect(target)
    assert con.description.startswith("transient in-memory database")
    con.execute("insert into T (a) values (1)")
    assert cql.connect(target).execute("select * from T").objects == []  # each is its own


def test_connect_file_persists(tmp_path):
    path = tmp_path / "p.db"
    with cql.connect(path) as con:  # a PathLike works too
        con.execute("insert into T (a, b) values (1, 'x'), (2, 'y')")
    with cql.connect(str(path)) as con:
        assert [r["b"] for r in con.execute("select * from T order by a")] == ["x", "y"]


def test_file_written_in_one_process_read_in_another(tmp_path):
    path = str(tmp_path / "x.db")
    code = ("import cql,sys; c=cql.connect(sys.argv[1]);"
            " c.execute(\"insert into T (name) values ('from child')\")")
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", code, path], check=True, env=env, timeout=60)
    assert cql.connect(path).execute("select * from T").results[0]["name"] == "from child"


def test_results_shapes():
    con = cql.connect()
    ins = con.execute("insert into T (a) values (1), (2)")
    assert ins.kind == "insert" and ins.rowcount == 2
    assert all(set(o) == {"objectId", "createdAt"} for o in ins.objects)
    up = con.execute("update T set a = op('Increment', {'amount': 5})")
    assert up.kind == "update" and {o["objectId"] for o in up.objects} == {o["objectId"] for o in ins.objects}
    sel = con.execute("select count(*), a from T order by -a")
    assert sel.count == 2 and [r["a"] for r in sel] == [7, 6]
    assert sel.columns == ["objectId", "a", "createdAt", "updatedAt"]
    only = con.execute("select count(*) from T where a > 6")
    assert only.count_only and only.count == 1 and only.rows == [(1,)]
    dl = con.execute("delete from T where a = 6")
    assert dl.kind == "delete" and dl.rowcount == 1


def test_explain_names_the_index():
    con = cql.connect()
    con.execute("insert into G (name, score) values ('a', 1), ('b', 2)")
    by_name = con.explain("select * from G where name = ?", "a")
    assert by_name[0]["index"] == "name (hash)"
    assert by_name[0]["params"]["where"] == {"name": "a"}
    assert con.explain("select * from G where score > 1 order by -score limit 5")[0]["index"] == "score (sorted)"
    assert con.explain("select * from G where objectId = 'x'")[0]["index"] == "objectId (hash)"
    assert con.explain("select * from G where name like '%a'")[0]["index"] == "scan"
    assert con.explain("select * from G where name like 'a%'")[0]["index"] == "name (sorted)"
    assert con.explain("delete from G where objectId = 'x'")[0]["index"] == "objectId (hash)"
    assert "index" not in con.explain("insert into G (a) values (1)")[0]
    con.execute("insert into G (tags, loc) values (['x', 'y'], geopoint(1, 2))")
    assert con.explain("select * from G where tags all ('x', 'y')")[0]["index"] == "tags (hash)"
    assert con.explain("select * from G where loc near [1, 2] limit 3")[0]["index"] == "loc (geo)"
    assert con.execute("select * from G where loc near [1, 2] limit 3").rowcount == 1


def test_schema():
    con = cql.connect()
    con.execute("insert into Post (title, at, loc) values ('t', date('2020-01-01T00:00:00Z'), geopoint(1, 2))")
    assert con.schema() == {"Post": {"objectId": "String", "title": "String", "at": "Date",
                                     "loc": "GeoPoint", "createdAt": "Date", "updatedAt": "Date"}}


def test_statement_errors_are_cql_errors():
    con = cql.connect()
    con.execute("insert into T (n) values (1)")
    with pytest.raises(cql.TypeMismatch) as exc:
        con.execute("update T set n = 'text'")
    assert exc.value.code == 111
    with pytest.raises(cql.CQLError):
        con.execute("select * from T; select * from T")
    assert [r.kind for r in con.executescript("insert into T (n) values (2); select * from T")] == \
        ["insert", "select"]


def test_one_embedded_connection_shared_by_threads(tmp_path):
    import threading
    con = cql.connect(str(tmp_path / "threads.db"))
    errors = []

    def work(tag):
        try:
            cur = con.cursor()
            for i in range(100):
                cur.execute("insert into T (tag, i) values (?, ?)", (tag, i))
                cur.execute("select count(*) from T where tag = ?", (tag,))
                assert cur.fetchone() == (i + 1,)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(t,)) for t in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert con.execute("select count(*) from T").count == 400

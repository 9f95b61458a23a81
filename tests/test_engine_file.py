"""The file is the database (format cql-embedded-2): indexes that persist and
are shared by real processes, caches that follow other processes' writes,
SIGKILL during bulk writes, bounded memory, the upgrade of cql-embedded-1
files, executemany as one transaction, and the raw bulk access of copies."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest

import cql
from cql import errors
from cql.engine import EngineBackend
from cql.engine.indexes import KEY, value_keys
from cql.plan import Create, Find

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "cql-embedded-1.db")


def run_py(code, *args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=env, **kw)


def run_ok(code, *args):
    child = run_py(code, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    return out.decode()


def index_matches_objects(engine, cls, field):
    """The entries of a key index are exactly what the objects give."""
    idx = engine.store.indexes.get(cls, field, KEY)
    db = engine.store.db
    stored = set(db.execute(f"SELECT key, id FROM {idx.table}"))
    want = set()
    for oid, text in db.execute("SELECT id, json FROM objects WHERE class = ?", (cls,)):
        want.update((k, oid) for k in value_keys(json.loads(text), field))
    return stored == want


def test_an_index_is_built_once_and_used_by_every_later_process(tmp_path):
    path = str(tmp_path / "a.db")
    e = EngineBackend(path)
    e.run(Create("P", tuple({"name": f"n{i % 50}", "score": i} for i in range(2000))))
    e.close()
    out = run_ok("""
        import sys, cql
        con = cql.connect(sys.argv[1])
        r = con.execute("select count(*) from P where name = 'n7'")
        print(r.count, r.info["index"], con.indexes("P"))
    """, path)
    assert out.startswith("40 name (hash) ") and "'entries': 2000" in out
    ids = sqlite3.connect(path).execute("SELECT id, field FROM indexes").fetchall()
    out = run_ok("""
        import sys, cql
        con = cql.connect(sys.argv[1])
        print(con.execute("select count(*) from P where name = 'n9'").count,
              con.explain("select * from P where name = 'n9'")[0]["index"])
    """, path)
    assert out.split() == ["40", "name", "(hash)"]
    assert sqlite3.connect(path).execute("SELECT id, field FROM indexes").fetchall() == ids  # not rebuilt


def test_another_process_keeps_an_index_it_did_not_know_of(tmp_path):
    path = str(tmp_path / "b.db")
    e = EngineBackend(path)
    e.run(Create("P", tuple({"name": f"n{i % 10}", "score": i} for i in range(300))))
    # the child opens before the index exists, and writes after it was built
    child = run_py("""
        import os, sys, time, cql
        con = cql.connect(sys.argv[1])
        con.execute("select count(*) from P")  # open, registry read: no index yet
        print("ready", flush=True)
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.01)
        con.execute("insert into P (name, score) values ('late', 1), ('late', 2)")
        con.execute("update P set name = 'moved' where name = 'n3'")
        con.execute("delete from P where name = 'n4'")
        print("done")
    """, path, tmp_path / "go", stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"ready"
    e.create_index("P", "name")
    (tmp_path / "go").write_text("")
    assert child.stdout.read().strip() == b"done" and child.wait(timeout=60) == 0
    assert e.run(Find("P", where={"name": "late"}, count=True, limit=0)).count == 2
    assert e.run(Find("P", where={"name": "moved"}, count=True, limit=0)).count == 30
    assert e.run(Find("P", where={"name": "n3"}, count=True, limit=0)).count == 0
    assert e.run(Find("P", where={"name": "n4"}, count=True, limit=0)).count == 0
    assert e.run(Find("P", count=True, limit=0)).count == 272
    assert index_matches_objects(e, "P", "name")
    e.close()


def test_a_cached_class_follows_another_process(tmp_path):
    path = str(tmp_path / "c.db")
    con = cql.connect(path)
    con.execute("insert into T (v) values (1), (2), (3)")
    assert sorted(o["v"] for o in con.execute("select * from T").objects) == [1, 2, 3]
    assert con.backend.store.cache.complete("T") is not None  # small: cached whole
    run_ok("""
        import sys, cql
        con = cql.connect(sys.argv[1])
        con.execute("update T set v = 20 where v = 2")
        con.execute("insert into T (v) values (4)")
    """, path)
    assert sorted(o["v"] for o in con.execute("select * from T").objects) == [1, 3, 4, 20]
    assert con.execute("select count(*) from T where v = 20").count == 1
    con.close()


BULK_WRITER = """
    import sys
    import cql
    con = cql.connect(sys.argv[1])
    con.backend.create_index("G", "name")
    con.backend.create_index("G", "score")
    i = 0
    while True:
        rows = [(f"n{(i + j) % 97}", (i + j) * 7 % 1000, [f"t{j % 5}"]) for j in range(300)]
        con.cursor().executemany("insert into G (name, score, tags) values (?, ?, ?)", rows)
        con.execute("update G set score = op('Increment', {'amount': 1}) where name = ?", f"n{i % 97}")
        con.execute("delete from G where score = ?", i % 1000)
        i += 300
        print(i, flush=True)
"""


def test_sigkill_during_bulk_writes_leaves_objects_and_indexes_agreeing(tmp_path):
    path = str(tmp_path / "kill.db")
    child = run_py(BULK_WRITER, path, stdout=subprocess.PIPE)
    acked = 0
    deadline = time.time() + 60
    while acked < 3000 and time.time() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acked = int(line)
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert acked >= 3000
    e = EngineBackend(path)
    assert e.store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = e.run(Find("G", count=True, limit=0)).count
    assert n == e.store.db.execute("SELECT count(*) FROM objects WHERE class = 'G'").fetchone()[0]
    assert n >= acked * 0.5
    for field in ("name", "score"):
        assert index_matches_objects(e, "G", field)
    assert e.run(Find("G", where={"name": "n5"}, count=True, limit=0)).count == \
        sum(1 for o in e.run(Find("G", limit=10 ** 7)).objects if o["name"] == "n5")
    e.close()


def _peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_scans_run_in_bounded_memory(tmp_path):
    def make(n):
        e = EngineBackend(str(tmp_path / f"m{n}.db"), auto_index=False, cache_mb=1)
        for i in range(0, n, 5000):
            e.run(Create("M", tuple({"v": j % 100, "pad": "x" * 60, "tags": ["a", "b"]}
                                    for j in range(i, min(i + 5000, n)))))
        e.close()
        return EngineBackend(str(tmp_path / f"m{n}.db"), auto_index=False, cache_mb=1)

    small, big = make(5000), make(20000)
    for query in (Find("M", where={"v": {"$gt": 50}}, count=True, limit=0),
                  Find("M", where={"v": {"$gt": 50}}, order=("-v",), limit=10),
                  Find("M", where={"tags": "a"}, limit=10, count=True),
                  Find("M", where={"pad": {"$ne": "y"}}, count=True, limit=0)):
        a = _peak(lambda: small.run(query))
        b = _peak(lambda: big.run(query))
        assert b < a * 1.5 + 400_000, (query, a, b)  # 4x the objects, not 4x the memory
    assert big.run(Find("M", where={"v": {"$gt": 50}}, count=True, limit=0)).count == 20000 * 49 // 100
    small.close(), big.close()


def test_a_format_1_file_opens_and_keeps_everything(tmp_path):
    path = str(tmp_path / "old.db")
    shutil.copy(FIXTURE, path)
    old = sqlite3.connect(path)
    rows = old.execute("SELECT class, id, json FROM objects ORDER BY class, id").fetchall()
    relations = old.execute("SELECT * FROM relations").fetchall()
    schema = old.execute("SELECT * FROM schema ORDER BY rowid").fetchall()
    old.close()
    con = cql.connect(path)
    players = con.execute("select * from Player order by name").objects
    assert [json.loads(t) for c, _i, t in rows if c == "Player"] == sorted(players, key=lambda o: o["objectId"])
    assert [p["name"] for p in players] == ["ann", "bob", "cé"] and players[1]["score"] == 21.5
    assert con.execute("select count(*) from Player").count == 3
    assert con.execute("select count(*) from Gone").count == 0
    team = con.execute("select * from Team").objects[0]
    ann = players[0]["objectId"]
    assert con.backend.store.related("Team", team["objectId"], "members") == {("Player", ann)}
    related = con.execute("select * from Player where related members to pointer('Team', ?)", team["objectId"])
    assert [o["objectId"] for o in related.objects] == [ann]
    assert con.schema()["Player"]["at"] == "Date" and con.schema()["Player"]["loc"] == "GeoPoint"
    assert con.execute("select * from Player where at > date('2000-01-01T00:00:00Z')").objects[0]["name"] == "ann"
    assert con.execute("select * from Player where loc near geopoint(1, 2) limit 1").objects[0]["name"] == "ann"
    with pytest.raises(errors.TypeMismatch):
        con.execute("insert into Player (name) values (1)")
    con.execute("insert into Player (name, score) values ('dan', 1)")
    con.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == "cql-embedded-2"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "log" not in tables and {"classes", "indexes"} <= tables
    assert db.execute("SELECT * FROM relations").fetchall() == relations
    assert db.execute("SELECT * FROM schema ORDER BY rowid").fetchall()[:len(schema)] == schema
    assert dict(db.execute("SELECT name, count FROM classes")) == {"Player": 4, "Team": 1, "Gone": 0}
    db.close()
    again = cql.connect(path)  # the second opening reads it as format 2
    assert again.execute("select count(*) from Player where name = 'dan'").count == 1
    again.close()


def test_a_process_of_the_old_version_cannot_write_after_the_upgrade(tmp_path):
    """The change log is gone, so the old store's next write fails instead of
    writing around the indexes (simulated with its own SQL)."""
    path = str(tmp_path / "old.db")
    shutil.copy(FIXTURE, path)
    cql.connect(path).close()
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError):
        db.execute("INSERT INTO log (class, id) VALUES ('Player', 'x')")
    db.close()


def test_executemany_is_one_transaction_all_or_nothing(tmp_path):
    path = str(tmp_path / "em.db")
    con = cql.connect(path)
    con.execute("insert into E (n) values (0)")
    cur = con.cursor()
    with pytest.raises(errors.TypeMismatch):
        cur.executemany("insert into E (n) values (?)", [(1,), (2,), ("three",), (4,)])
    assert con.execute("select count(*) from E").count == 1
    other = cql.connect(path)
    assert other.execute("select count(*) from E").count == 1
    cur.executemany("insert into E (n) values (?)", [(i,) for i in range(1, 12001)])
    assert cur.rowcount == 12000 and len(cur.lastrowid) == 24
    assert other.execute("select count(*) from E where n > 6000").count == 6000
    with pytest.raises(errors.TypeMismatch):  # updates too: all or nothing
        cur.executemany("update E set n = ? where n = ?", [(-1, 1), ("x", 2)])
    assert con.execute("select count(*) from E where n = -1").count == 0
    cur.executemany("update E set n = ? where n = ?", [(-1, 1), (-2, 2)])
    assert cur.rowcount == 2
    con.close(), other.close()


class _FailCommit:
    """The store's connection, with COMMIT failing as on a full disk."""

    def __init__(self, db):
        self.db = db

    def execute(self, sql, *args):
        if sql == "COMMIT" and self.db.in_transaction:
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_a_failed_commit_leaves_no_unsaved_row_in_the_cache(tmp_path):
    con = cql.connect(str(tmp_path / "f.db"))
    con.execute("insert into F (v) values (1), (2)")
    assert len(con.execute("select * from F").objects) == 2  # cached whole
    store = con.backend.store
    real = store._db
    store._db = _FailCommit(real)
    with pytest.raises(errors.StorageError):
        con.execute("insert into F (v) values (3)")
    with pytest.raises(errors.StorageError):
        con.execute("update F set v = 10 where v = 1")
    store._db = real
    assert sorted(o["v"] for o in con.execute("select * from F").objects) == [1, 2]
    assert con.execute("select count(*) from F").count == 2
    assert con.execute("select count(*) from F where v = 10").count == 0
    con.close()


def test_raw_bulk_access_for_copies(tmp_path):
    e = EngineBackend(str(tmp_path / "raw.db"))
    objs = [{"objectId": f"{i:024x}", "createdAt": "2015-01-01T00:00:00.000Z", "updatedAt": "2016-01-01T00:00:00.000Z",
             "n": i, "ACL": {"*": {"read": True}}, "at": {"__type": "Date", "iso": "2015-06-01T00:00:00.000Z"},
             "team": {"__type": "Relation", "className": "U"}} for i in range(2500)]
    assert e.write_objects("C", objs) == (2500, 0, 0)
    changed = [dict(objs[0], n=-1), objs[1], {**objs[2]}, dict(objs[3], objectId="f" * 24)]
    assert e.write_objects("C", changed) == (1, 1, 2)
    with pytest.raises(errors.TypeMismatch):
        e.write_objects("C", [dict(objs[5], n="five")])
    with pytest.raises(errors.MissingObjectId):
        e.write_objects("C", [{"n": 1}])
    page = e.scan_objects("C", limit=1000)
    assert len(page) == 1000 and page[0] == dict(objs[0], n=-1) and page[1] == objs[1]
    rest = e.scan_objects("C", after=page[-1]["objectId"], limit=5000)
    assert len(rest) == 1501 and rest[-1]["objectId"] == "f" * 24
    assert e.run(Find("C", where={"n": {"$gte": 2400}}, count=True, limit=0)).count == 100
    assert e.run(Find("C", where={"createdAt": {"$lt": "2015-01-02T00:00:00Z"}}, count=True, limit=0)).count == 2501
    rows = [(f"{i:024x}", "team", "U", f"u{j}") for i in range(3) for j in range(700)]
    assert e.write_relation_rows("C", rows) == 2100
    e.write_relation_rows("C", rows[:10])  # idempotent
    assert sorted(e.relation_rows("C")) == sorted(rows)
    assert e.run(Find("U", where={"$relatedTo": {"object": {"__type": "Pointer", "className": "C",
                                                            "objectId": f"{1:024x}"}, "key": "team"}})).objects == []
    e.close()


def test_transient_and_file_databases_share_one_engine():
    e = EngineBackend(None)
    assert e.store.db.execute("PRAGMA database_list").fetchone()[2] == ""  # SQLite in memory
    e.run(Create("T", ({"a": 1}, {"a": 2})))
    assert e.run(Find("T", where={"a": 2})).info["index"] == "a (hash)"
    assert e.indexes("T")[0]["entries"] == 2
    e.close()


def test_a_connection_transaction_commits_together_or_not_at_all(tmp_path):
    path = str(tmp_path / "t.db")
    con, other = cql.connect(path), cql.connect(path)
    with con.transaction():
        con.execute("insert into X (n) values (1), (2)")
        con.execute("update X set n = 3 where n = 2")
        assert con.execute("select count(*) from X where n = 3").count == 1  # its own writes
    assert sorted(o["n"] for o in other.execute("select * from X").objects) == [1, 3]
    with pytest.raises(errors.TypeMismatch):
        with con.transaction():
            con.execute("insert into X (n) values (4)")
            con.execute("insert into X (n) values ('five')")
    assert other.execute("select count(*) from X").count == 2
    assert con.execute("select count(*) from X").count == 2 and con.execute("select * from X where n = 4").rowcount == 0
    con.close(), other.close()
    with pytest.raises(cql.NotSupportedError):
        with cql.Connection(type("Server", (), {"close": lambda self: None})()).transaction():
            pass

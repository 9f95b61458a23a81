"""Durability and sharing of the embedded database file (real files, real processes)."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from cql import errors
from cql.engine import EngineBackend
from cql.plan import Create, Delete, Find, Update

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_py(code, *args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                            env=env, **kw)


def all_objects(engine, cls):
    return engine.run(Find(cls, order=("objectId",), limit=1_000_000)).objects


def test_reopen_gives_back_what_was_written(tmp_path):
    path = str(tmp_path / "app.db")
    a = EngineBackend(path)
    assert a.description == f"embedded database {path}"
    ids = [o["objectId"] for o in a.run(Create("T", ({"name": "x", "n": 1.5, "tags": ["a"],
                                                      "at": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}},
                                                     {"name": "y", "ok": False, "meta": {"k": [1, {"z": None}]}}))).objects]
    a.run(Update("T", {"n": {"__op": "Increment", "amount": 1}}, object_id=ids[0]))
    a.run(Update("T", {"fans": {"__op": "AddRelation",
                                "objects": [{"__type": "Pointer", "className": "U", "objectId": "u1"}]}},
                 object_id=ids[1]))
    a.run(Create("Gone", ({"x": 1},)))
    a.run(Delete("Gone"))
    before = all_objects(a, "T")
    schema = a.schema()
    a.close()
    b = EngineBackend(path)
    assert all_objects(b, "T") == before
    assert b.schema() == schema
    assert b.store.related("T", ids[1], "fans") == {("U", "u1")}
    assert b.run(Find("Gone")).objects == []
    # Types stay fixed after reopening.
    with pytest.raises(errors.TypeMismatch):
        b.run(Create("T", ({"name": 3},)))
    b.close()


def test_reopen_in_a_new_process(tmp_path):
    path = str(tmp_path / "app.db")
    a = EngineBackend(path)
    a.run(Create("T", tuple({"i": i, "s": f"v{i}"} for i in range(50))))
    expected = all_objects(a, "T")
    a.close()
    child = run_py("""
        import json, sys
        from cql.engine import EngineBackend
        from cql.plan import Find
        e = EngineBackend(sys.argv[1])
        print(json.dumps(e.run(Find("T", order=("objectId",), limit=1000)).objects))
    """, path, stdout=subprocess.PIPE)
    out, _ = child.communicate(timeout=60)
    import json
    assert json.loads(out) == expected


def test_two_handles_see_each_others_writes(tmp_path):
    path = str(tmp_path / "app.db")
    a, b = EngineBackend(path), EngineBackend(path)
    oid = a.run(Create("T", ({"n": 1},))).objects[0]["objectId"]
    assert b.run(Find("T")).objects[0]["n"] == 1
    b.run(Update("T", {"n": {"__op": "Increment", "amount": 1}}, object_id=oid))
    assert a.run(Find("T", where={"n": 2})).rowcount == 1  # index built after the change
    a.run(Find("T", where={"n": {"$gt": 0}}))               # builds a sorted index in a
    b.run(Update("T", {"n": 5}, object_id=oid))
    assert a.run(Find("T", where={"n": {"$gt": 4}})).rowcount == 1   # kept current from b's write
    assert a.run(Find("T", where={"n": 2})).rowcount == 0
    b.run(Delete("T", object_id=oid))
    assert a.run(Find("T")).objects == []
    a.close(), b.close()


def test_a_reader_far_behind_sees_everything(tmp_path):
    # (format 2 has no change log to fall behind: a reader drops what it
    # cached of every class another connection changed)
    path = str(tmp_path / "app.db")
    a, b = EngineBackend(path), EngineBackend(path)
    a.run(Create("T", ({"n": 0},)))
    assert b.run(Find("T")).rowcount == 1
    for i in range(1, 3000, 100):
        a.run(Create("T", tuple({"n": j} for j in range(i, i + 100))))
    assert b.run(Find("T", count=True, limit=0)).count == a.run(Find("T", count=True, limit=0)).count
    assert all_objects(b, "T") == all_objects(a, "T")
    a.close(), b.close()


def test_failed_statement_leaves_file_unchanged(tmp_path):
    path = str(tmp_path / "app.db")
    a = EngineBackend(path)
    a.run(Create("T", ({"v": 1}, {"v": 2}, {"w": "s"})))
    with pytest.raises(errors.TypeMismatch):
        a.run(Update("T", {"v": {"__op": "Increment", "amount": 1}, "w": {"__op": "Increment", "amount": 1}}))
    a.close()
    b = EngineBackend(path)
    assert sorted(o.get("v", 0) for o in all_objects(b, "T")) == [0, 1, 2]
    b.close()


def test_not_a_database_is_a_storage_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(errors.StorageError):
        EngineBackend(str(bad))
    other = tmp_path / "other.db"
    con = sqlite3.connect(str(other))
    con.execute("create table meta (key text primary key, value text)")
    con.execute("insert into meta values ('format', 'something-else')")
    con.commit(), con.close()
    with pytest.raises(errors.StorageError):
        EngineBackend(str(other))
    with pytest.raises(errors.StorageError):
        EngineBackend(str(tmp_path / "no" / "such" / "dir" / "x.db"))


def test_synchronous_full_is_accepted(tmp_path):
    e = EngineBackend(str(tmp_path / "f.db"), synchronous="FULL")
    e.run(Create("T", ({"a": 1},)))
    assert e.store._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    e.close()
    with pytest.raises(errors.StorageError):
        EngineBackend(str(tmp_path / "g.db"), synchronous="sometimes")


WRITER = """
    import os, sys, time
    from cql.engine import EngineBackend
    from cql.plan import Create
    e = EngineBackend(sys.argv[1])
    tag = sys.argv[2]
    n = int(sys.argv[3])
    go = sys.argv[4] if len(sys.argv) > 4 else None
    while go and not os.path.exists(go):
        time.sleep(0.001)
    for i in range(n):
        oid = e.run(Create("Row", ({"writer": tag, "i": i},))).objects[0]["objectId"]
        sys.stdout.write(oid + "\\n")
        sys.stdout.flush()
"""


def test_sigkill_loses_no_acknowledged_row(tmp_path):
    path = str(tmp_path / "kill.db")
    child = run_py(WRITER, path, "k", 1_000_000, stdout=subprocess.PIPE)
    acked = []
    deadline = time.time() + 30
    while len(acked) < 300 and time.time() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acked.append(line.decode().strip())
    os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read().decode().split()
    child.wait(timeout=30)
    acked += [x for x in rest if len(x) == 24]
    assert len(acked) >= 300
    e = EngineBackend(path)  # opens cleanly
    stored = {o["objectId"] for o in e.run(Find("Row", limit=10_000_000)).objects}
    assert set(acked) <= stored
    assert len(stored) - len(acked) <= 1  # at most the row whose ack was cut off
    ok = e.store._db.execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok"
    e.close()


def test_two_writer_processes_serialize(tmp_path):
    path = str(tmp_path / "two.db")
    EngineBackend(path).close()
    go = tmp_path / "go"
    kids = [run_py(WRITER, path, tag, 1000, go, stdout=subprocess.DEVNULL) for tag in ("a", "b")]
    time.sleep(0.3)  # both started and waiting
    go.write_text("go")
    for k in kids:
        assert k.wait(timeout=120) == 0
    e = EngineBackend(path)
    rows = e.run(Find("Row", limit=10_000)).objects
    assert len(rows) == 2000
    assert len({r["objectId"] for r in rows}) == 2000
    for tag in "ab":
        assert sorted(r["i"] for r in rows if r["writer"] == tag) == list(range(1000))
    e.close()


def test_damaged_row_is_a_storage_error(tmp_path):
    path = str(tmp_path / "damaged.db")
    EngineBackend(path).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO objects VALUES ('T', 'x', '{not json')")
    con.execute("INSERT INTO classes VALUES ('T', 1, 1)")
    con.commit(), con.close()
    e = EngineBackend(path)  # opening reads no object (format 2): the damage shows when read
    with pytest.raises(errors.StorageError) as info:
        e.run(Find("T"))
    assert "damaged" in str(info.value)
    e.close()

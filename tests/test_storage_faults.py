"""The database file under faults (issue 12, items 1 and 6): a full disk (a
real 1 MB tmpfs, and a file size limit in a real subprocess), a write lock
held by another real process, a file cut short, a -wal restored from another
database, and .check. Real files and processes only; these go through the
public API, so they hold for whichever store is on main."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

import cql

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def count(path: str, where: str = "") -> int:
    conn = cql.connect(path)
    try:
        return conn.execute(f"select count(*) from T {where}").count
    finally:
        conn.close()


# -- item 1: a full disk ---------------------------------------------------------------------

FILL_UNDER_A_SIZE_LIMIT = """
    import json, resource, signal, sys
    import cql
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG) instead of killing
    path, limit = sys.argv[1], int(sys.argv[2])
    conn = cql.connect(path)
    conn.execute("insert into T (i, s) values (0, 'first')")
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    acked, error = 1, None
    while acked < 100000:
        try:
            conn.execute("insert into T (i, s) values (?, ?)", acked, "x" * 3000)
            acked += 1
        except Exception as exc:
            error = {"type": type(exc).__name__, "cql": isinstance(exc, cql.StorageError), "text": str(exc)}
            break
    shown = conn.execute("select count(*) from T").count
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    conn.execute("insert into T (i, s) values (-1, 'after')")
    changed = conn.execute("update T set u = 1 where i >= 0").rowcount
    print(json.dumps({"acked": acked, "shown": shown, "error": error, "changed": changed,
                      "after": conn.execute("select count(*) from T").count}))
"""


def test_file_size_limit_is_a_storage_error_and_memory_follows_the_file(tmp_path):
    """Before: the raw sqlite3 error escaped and the connection showed rows never saved
    (under ulimit -f: 315 shown vs 85 saved); after space came back an update reported
    one row more than it changed."""
    path = str(tmp_path / "limited.db")
    r = run_python(FILL_UNDER_A_SIZE_LIMIT, path, str(400_000))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    error = out["error"]
    assert error is not None and error["cql"], error
    assert path in error["text"] and "disk is full" in error["text"]
    assert "Nothing of this statement was saved" in error["text"]
    saved = out["acked"]
    assert out["shown"] == saved == count(path, "where i >= 0")   # what it shows is what the file holds
    assert out["changed"] == saved                                 # works again, and counts right
    assert out["after"] == saved + 1 == count(path)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB tmpfs (needs root, as CI and the developers' machines run)."""
    mount = tmp_path / "small"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                       text=True)
    assert r.returncode == 0, f"cannot mount a tmpfs (this test needs root): {r.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_on_a_real_tmpfs(small_disk):
    """Before: sqlite3.OperationalError (the shell: "internal error"), and the
    connection counted 39 where the file held 38."""
    filler = small_disk / "filler.bin"
    filler.write_bytes(b"\0" * 500_000)
    path = str(small_disk / "app.db")
    conn = cql.connect(path)
    conn.execute("insert into T (i, s) values (0, 'first')")
    acked = 1
    with pytest.raises(cql.StorageError) as info:
        while acked < 10_000:
            conn.execute("insert into T (i, s) values (?, ?)", acked, "y" * 4000)
            acked += 1
    message = info.value.message
    assert path in message and "the disk is full" in message and "0 bytes free" in message
    assert conn.execute("select count(*) from T").count == acked   # what it shows ...
    assert count(path) == acked                                     # ... is what the file holds
    with pytest.raises(cql.StorageError):
        conn.execute("update T set u = 1 where i >= 0")            # still full: still refused, unchanged
    filler.unlink()                                                 # space is back
    conn.execute("insert into T (i, s) values (-1, 'after')")
    assert conn.execute("update T set u = 1 where i >= 0").rowcount == acked
    assert conn.execute("select count(*) from T where u = 1").count == acked
    conn.close()
    assert count(path) == acked + 1


# -- item 6: locks, damage, a foreign WAL, .check ------------------------------------------------

HOLD_THE_WRITE_LOCK = """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    db.execute("ROLLBACK")
"""


def test_busy_file_says_busy_who_holds_it_and_to_retry(tmp_path):
    """Before: "is not a usable cql database (database is locked)"."""
    path = str(tmp_path / "busy.db")
    conn = cql.connect(path, busy_timeout=0.3)
    conn.execute("insert into T (i) values (1)")
    env = dict(os.environ, PYTHONPATH=ROOT)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD_THE_WRITE_LOCK), path, "8"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for attempt in (lambda: cql.connect(path, busy_timeout=0.3),             # opening
                        lambda: conn.execute("insert into T (i) values (2)")):  # writing
            with pytest.raises(cql.StorageError) as info:
                attempt()
            text = info.value.message
            assert "busy" in text and "not a usable" not in text, text
            assert f"process {holder.pid}" in text and "try again" in text, text
            assert path in text
    finally:
        holder.kill()
        holder.wait()
    conn.execute("insert into T (i) values (3)")  # free again: goes on
    assert count(path) == 2


def test_file_cut_short_is_refused_at_open(tmp_path):
    """Before: a file truncated by less than a page opened and took writes
    while PRAGMA integrity_check failed."""
    path = str(tmp_path / "cut.db")
    conn = cql.connect(path)
    conn.execute("insert into T (i, s) values " + ", ".join(f"({i}, '{'w' * 200}')" for i in range(200)))
    conn.close()
    assert not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") == 0
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 100)
    before = open(path, "rb").read()
    with pytest.raises(cql.StorageError) as info:
        cql.connect(path)
    assert "cut short" in info.value.message and path in info.value.message
    assert open(path, "rb").read() == before  # nothing was written to it


def test_wal_restored_from_another_database_is_refused(tmp_path):
    """SQLite would replay it silently (and checkpoint it into the file)."""
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    conn = cql.connect(a)
    conn.execute("insert into T (i) values (1), (2)")
    conn.close()                                      # a.db checkpointed, no -wal
    other = cql.connect(b)                            # b's first session: its WAL holds its page 1
    other.execute("insert into T (i) values (10)")
    shutil.copy(b + "-wal", a + "-wal")               # "restored" beside the wrong database
    other.close()
    before = open(a, "rb").read()
    with pytest.raises(cql.StorageError) as info:
        cql.connect(a)
    assert "belongs to another database" in info.value.message
    assert open(a, "rb").read() == before             # not checkpointed into a.db
    os.remove(a + "-wal")
    assert count(a) == 2                              # the database as of its last checkpoint


def test_check_finds_damage(tmp_path):
    path = str(tmp_path / "sound.db")
    conn = cql.connect(path)
    conn.execute("insert into T (i, s) values " + ", ".join(f"({i}, '{'v' * 300}')" for i in range(300)))
    assert conn.check() == []
    conn.close()
    with pytest.raises(cql.NotSupportedError):
        cql.connect("http://127.0.0.1:9/parse", app_id="a", master_key="k").check()
    env = dict(os.environ, PYTHONPATH=ROOT, CQL_HISTORY=str(tmp_path / "h"))
    r = subprocess.run([sys.executable, "-m", "cql", "-e", ".check", path], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "passed SQLite's integrity check" in r.stderr, r.stderr
    # damage a page in the middle of the objects' b-tree (the header stays intact)
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    with open(path, "r+b") as f:
        f.seek(page_size * (pages // 2) + 8)
        f.write(b"\xff" * 64)
    r = subprocess.run([sys.executable, "-m", "cql", "-e", ".check", path], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "is damaged" in r.stderr and "integrity check" in r.stderr, r.stderr

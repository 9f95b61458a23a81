"""The shell's files (issue 12): .output/.export never write over a database
(compared by device and inode, so a hard link is caught), the history is
private and keeps no URL password, .export's temporary file is made
exclusively. Run through the real `cql` (batch subprocess or a pty)."""
from __future__ import annotations

import json
import os
import stat

import pytest

from cql.shell.session import Session
from cql.shell.transfer import export_class

from .test_repl_pty import Shell


def count(run_cql, db: str = "x.db") -> int:
    r = run_cql("--format", "jsonl", "-e", "select count(*) from A", db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["count"]


@pytest.fixture
def db(tmp_path, run_cql):
    r = run_cql("-e", "insert into A (x) values (1), (2)", "x.db")
    assert r.returncode == 0, r.stderr
    return tmp_path / "x.db"


def test_output_onto_a_hard_link_of_the_open_database_is_refused(tmp_path, run_cql, db):
    """Before: `ln app.db copy.txt; .output copy.txt` truncated the database to 0 bytes."""
    os.link(db, tmp_path / "copy.txt")
    size = db.stat().st_size
    for command in (".output copy.txt", ".export A copy.txt"):
        r = run_cql("-e", command, "-e", "select * from A", "x.db")
        assert r.returncode == 1 and "is the open database file" in r.stderr, (command, r.stderr)
    assert db.stat().st_size == size
    assert count(run_cql) == 2


def test_output_onto_a_hard_link_of_the_wal_or_a_second_name_is_refused(tmp_path, run_cql, db):
    from cql.shell.errors import CommandError
    session = Session(str(db))
    try:
        session.connect(str(db))
        session.conn.execute("insert into A (x) values (3)")
        os.link(str(db) + "-wal", tmp_path / "wal-copy.txt")  # the -wal exists while the file is open
        with pytest.raises(CommandError, match="is the open database file"):
            session.set_output(str(tmp_path / "wal-copy.txt"))
    finally:
        session.close()
    os.link(db, tmp_path / "second-name.db")
    r = run_cql("-e", ".output x.db", "second-name.db")  # open under one name, written under another
    assert r.returncode == 1 and "is the open database file" in r.stderr
    assert count(run_cql) == 3


def test_output_or_export_onto_another_database_file_is_refused(tmp_path, run_cql, db):
    r = run_cql("-e", "insert into B (y) values (1)", "other.db")
    assert r.returncode == 0, r.stderr
    size = (tmp_path / "other.db").stat().st_size
    for command in (".output other.db", ".export A other.db"):
        r = run_cql("-e", command, "x.db")
        assert r.returncode == 1 and "other.db is a database file" in r.stderr, (command, r.stderr)
        r = run_cql("-e", command)  # from a transient database too
        assert r.returncode == 1 and "is a database file" in r.stderr, (command, r.stderr)
    assert (tmp_path / "other.db").stat().st_size == size
    # an ordinary file is still replaced as before
    (tmp_path / "notes.txt").write_text("old\n")
    r = run_cql("-e", ".output notes.txt", "-e", "select count(*) from A", "x.db")
    assert r.returncode == 0, r.stderr
    assert "2" in (tmp_path / "notes.txt").read_text()


def test_export_never_writes_through_a_planted_temporary_name(tmp_path):
    """Before: .export wrote to .<name>.<pid>.part, following a symlink planted there."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / f".out.jsonl.{os.getpid()}.part")
    session = Session(str(tmp_path / "x.db"))
    try:
        session.connect(str(tmp_path / "x.db"))
        session.conn.execute("insert into A (x) values (1)")
        assert export_class(session.conn, "A", str(tmp_path / "out.jsonl")) == 1
    finally:
        session.close()
    assert victim.read_text() == "precious\n"
    assert json.loads((tmp_path / "out.jsonl").read_text())["x"] == 1
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part") and not p.startswith(".out.jsonl.")]


def test_export_keeps_the_replaced_files_permissions(tmp_path, run_cql, db):
    (tmp_path / "a.json").write_text("[]\n")
    os.chmod(tmp_path / "a.json", 0o640)
    r = run_cql("-e", ".export A a.json", "-e", ".export A new.json", "x.db")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o666 & ~umask


def test_new_database_files_are_private(tmp_path, run_cql):
    r = run_cql("-e", "insert into A (x) values (1)", "-e", "select * from A", "private.db")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "private.db").stat().st_mode) == 0o600
    (tmp_path / "shared.db").touch(mode=0o644)
    os.chmod(tmp_path / "shared.db", 0o644)
    r = run_cql("-e", "insert into A (x) values (1)", "shared.db")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "shared.db").stat().st_mode) == 0o644  # an existing file: as it was


def test_history_is_private_and_keeps_no_url_password(tmp_path):
    """Before: history 0644 in a 0755 directory, with `.open http://bob:PASSWORD@...` verbatim."""
    history = tmp_path / "state" / "cql" / "history"
    s = Shell(tmp_path, CQL_HISTORY=str(history))
    s.ready()
    s.type(".open http://bob:Hunter2Secret@127.0.0.1:9/parse\r")
    s.expect(r"error: an app id is needed")
    s.child.send("select count(*) from A;\r")
    s.expect(r"count: 0")
    assert s.quit() == 0
    text = history.read_text()
    assert "Hunter2Secret" not in text
    assert "http://bob:***@127.0.0.1:9/parse" in text
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700


def test_default_history_directory_and_file_are_tightened(tmp_path):
    data = tmp_path / "data"
    (data / "cql").mkdir(parents=True)
    os.chmod(data / "cql", 0o755)
    (data / "cql" / "history").write_text("")
    os.chmod(data / "cql" / "history", 0o644)
    s = Shell(tmp_path, CQL_HISTORY="", XDG_DATA_HOME=str(data))
    s.ready()
    s.child.send("select count(*) from A;\r")
    s.expect(r"count: 0")
    assert s.quit() == 0
    assert stat.S_IMODE((data / "cql").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "cql" / "history").stat().st_mode) == 0o600
    assert "select count(*) from A;" in (data / "cql" / "history").read_text()

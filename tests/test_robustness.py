"""Robustness through the Python API: bad input is a CQLError, and nothing that
was accepted becomes unreadable later."""
from datetime import datetime, timedelta, timezone

import pytest

import cql
from cql.types import check_value, decode, format_date


@pytest.fixture
def con(tmp_path):
    c = cql.connect(str(tmp_path / "r.db"))
    yield c
    c.close()


def test_year_before_1000_round_trips(con):
    early = datetime(1, 1, 1, tzinfo=timezone.utc)
    assert format_date(early) == "0001-01-01T00:00:00.000Z"
    con.execute("insert into D (d) values (?)", early)
    con.execute("insert into D (d) values (?)", datetime(999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    got = sorted(o["d"] for o in con.execute("select * from D").results)
    assert got[0] == early and got[1].year == 999


@pytest.mark.parametrize("value", [
    {"__type": "Date", "iso": "2026-02-30T00:00:00Z"},
    {"__type": "Date", "iso": "nope"},
    {"__type": "Date"},
    {"__type": "GeoPoint", "latitude": 200, "longitude": 1},
    {"__type": "GeoPoint", "latitude": "a", "longitude": 1},
    {"__type": "Pointer", "className": "X"},
    {"__type": "Pointer", "className": "a b", "objectId": "x"},
    cql.Pointer("C", ""),
    {"__type": "Bytes", "base64": "abc"},
    {"__type": "File"},
    {"__type": "Bogus", "x": 1},
    {"a.b": 1},
    {"$gt": 1},
    [{"__type": "Date", "iso": "2026-13-01T00:00:00Z"}],
    {"inner": {"when": {"__type": "Date", "iso": "x"}}},
])
def test_malformed_typed_values_are_refused_and_the_class_stays_readable(con, value):
    con.execute("insert into T (n) values (1)")
    with pytest.raises(cql.CQLError) as info:
        con.execute("insert into T (v) values (?)", value)
    assert info.value.code in (105, 107, 302)
    with pytest.raises(cql.CQLError):
        con.execute("update T set v = ? where n = 1", value)
    assert [o["n"] for o in con.execute("select * from T").results] == [1]


def test_malformed_value_in_an_op_is_refused(con):
    con.execute("insert into T (tags) values (?)", [])
    with pytest.raises(cql.CQLError) as info:
        con.execute("update T set tags = op('Add', {'objects': [?]})", {"__type": "Date", "iso": "x"})
    assert info.value.code == 107
    assert con.execute("select * from T").results[0]["tags"] == []


def test_malformed_literal_object_has_a_position(con):
    with pytest.raises(cql.CQLError) as info:
        con.execute("insert into T (v) values ({'__type': 'Date', 'iso': 'soon'})")
    assert info.value.code == 107 and info.value.line == 1 and info.value.column


def test_well_formed_typed_values_pass():
    for v in [{"__type": "Date", "iso": "2026-02-28T00:00:00.000Z"}, cql.Pointer("_User", "a1").to_json(),
              cql.GeoPoint(latitude=1, longitude=2).to_json(), {"__type": "Bytes", "base64": "AAE="},
              {"__type": "File", "id": "f1"}, {"__type": "Relation", "className": "Post"},
              {"nested": {"_x": 1, "__op": "kept as data"}}, [1, "a", None]]:
        check_value(v)


def test_decode_never_fails_on_stored_garbage():
    bad = {"__type": "Bytes", "base64": "abc"}
    assert decode(bad) == bad
    assert decode({"__type": "Date", "iso": "1-01-01T00:00:00.000Z"})["iso"] == "1-01-01T00:00:00.000Z"
    assert decode({"__type": "GeoPoint", "latitude": 200, "longitude": 0})["latitude"] == 200


# -- storage paths ------------------------------------------------------------------

def test_database_path_problems_are_storage_errors_that_say_what_to_do(tmp_path):
    cases = [("", "empty"), (str(tmp_path), "it is a directory"),
             (str(tmp_path / "missing" / "x.db"), "does not exist; create it first")]
    for path, words in cases:
        with pytest.raises(cql.StorageError) as info:
            cql.connect(path)
        assert words in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path):
    import sqlite3
    path = str(tmp_path / "other.db")
    db = sqlite3.connect(path)
    db.execute("create table foo (x)")
    db.execute("insert into foo values (1)")
    db.commit()
    db.close()
    with pytest.raises(cql.StorageError) as info:
        cql.connect(path)
    assert "another application" in str(info.value) and "foo" in str(info.value)
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    assert tables == {"foo"}
    assert db.execute("pragma journal_mode").fetchone()[0] == "delete"
    db.close()


def test_empty_file_and_cql_file_still_open(tmp_path):
    empty = tmp_path / "zero.db"
    empty.write_bytes(b"")
    with cql.connect(str(empty)) as c:
        c.execute("insert into A (x) values (1)")
    with cql.connect(str(empty)) as c:
        assert c.execute("select count(*) from A").count == 1


# -- REST targets that are not a Parse Server -------------------------------------------

@pytest.fixture
def plain_http(tmp_path):
    """A plain static HTTP server (python -m http.server) on a folder."""
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "classes").mkdir()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("content", ['{"results": "no"}', "[1, 2]", '{"results": [], "count": "x"}',
                                     '{"results": [1]}', "<html>hi</html>"])
def test_json_that_is_not_a_parse_answer_is_a_clear_error(plain_http, content):
    folder, url = plain_http
    (folder / "classes" / "R").write_text(content)
    con = cql.connect(url, app_id="a", master_key="SECRETMASTER", retries=0)
    for statement in ("select * from R", "select count(*) from R"):
        with pytest.raises(cql.CQLError) as info:
            con.execute(statement)
        assert "is the URL the API root" in str(info.value)
        assert "SECRETMASTER" not in str(info.value)


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/parse", "http://:80/parse"])
def test_malformed_urls_are_interface_errors(url):
    with pytest.raises(cql.InterfaceError) as info:
        cql.connect(url, app_id="a", master_key="SECRETMASTER")
    assert "URL" in str(info.value) and "SECRETMASTER" not in str(info.value)


def test_cursor_parameters_that_are_not_a_sequence():
    cur = cql.connect().cursor()
    with pytest.raises(cql.ProgrammingError) as info:
        cur.execute("insert into T (a) values (?)", 5)
    assert "(5,)" in str(info.value)
    cur.execute("select * from T", None)
    assert cur.fetchall() == []


def test_read_only_file_or_directory_says_what_to_do(tmp_path, monkeypatch):
    import os
    from cql import connection
    path = tmp_path / "ro.db"
    cql.connect(str(path)).close()
    real_access = os.access

    def no_write(p, mode):  # as a user without write permission (tests may run as root)
        return False if mode & os.W_OK else real_access(p, mode)
    monkeypatch.setattr(connection.os, "access", no_write)
    with pytest.raises(cql.StorageError) as info:
        cql.connect(str(path))
    assert "read-only" in str(info.value) and "chmod u+w" in str(info.value)
    with pytest.raises(cql.StorageError) as info:
        cql.connect(str(tmp_path / "new.db"))
    assert "directory is not writable" in str(info.value)
    assert not (tmp_path / "new.db").exists()


def test_writes_to_a_deleted_or_replaced_file_are_refused_not_lost(tmp_path, monkeypatch):
    import os
    path = tmp_path / "gone.db"
    con = cql.connect(str(path))
    con.execute("insert into A (x) values (1)")
    monkeypatch.chdir(tmp_path.parent)  # a later chdir is not a deletion
    con.execute("insert into A (x) values (2)")
    os.remove(path)
    with pytest.raises(cql.StorageError) as info:
        con.execute("insert into A (x) values (3)")
    assert "deleted or replaced" in str(info.value)
    other = cql.connect(str(path))
    other.execute("insert into A (x) values (4)")
    with pytest.raises(cql.StorageError):
        con.execute("update A set x = 5")
    assert [o["x"] for o in other.execute("select * from A").results] == [4]
    con.close()
    other.close()


# -- Ctrl-C in the middle of a write --------------------------------------------------------

class _InterruptAfter:
    """Wraps the store's sqlite3 connection: raises KeyboardInterrupt right
    after a given statement ran (as a Ctrl-C arriving then would)."""

    def __init__(self, db, sql):
        self.db, self.sql, self.armed = db, sql, True

    def execute(self, sql, *args):
        out = self.db.execute(sql, *args)
        if self.armed and sql == self.sql:
            self.armed = False
            raise KeyboardInterrupt
        return out

    def __getattr__(self, name):
        return getattr(self.db, name)


def _store(con):
    return con.backend.store


@pytest.mark.parametrize("sql", ["BEGIN IMMEDIATE", "COMMIT"])
def test_ctrl_c_during_a_write_leaves_file_and_memory_consistent(tmp_path, sql):
    path = str(tmp_path / "i.db")
    con = cql.connect(path)
    con.execute("insert into A (x) values (1)")
    store = _store(con)
    real = store._db
    store._db = _InterruptAfter(real, sql)
    with pytest.raises(KeyboardInterrupt):
        con.execute("insert into A (x) values (2)")
    store._db = real
    assert not real.in_transaction
    con.execute("insert into A (x) values (3)")  # the next write is not locked out
    other = cql.connect(path, busy_timeout=2)   # nor is another process
    in_file = sorted(o["x"] for o in other.execute("select * from A").results)
    in_memory = sorted(o["x"] for o in con.execute("select * from A").results)
    assert in_file == in_memory
    assert in_file == ([1, 3] if sql == "BEGIN IMMEDIATE" else [1, 2, 3])
    other.close()
    con.close()


def test_a_password_in_the_url_never_shows(plain_http):
    _folder, url = plain_http
    secret_url = url.replace("http://", "http://user:SECRETPW@")
    con = cql.connect(secret_url, app_id="a", master_key="SECRETMASTER", retries=0)
    for text in (repr(con), con.description, repr(con.backend.http)):
        assert "SECRETPW" not in text and "user:***@" in text
    with pytest.raises(cql.CQLError) as info:
        con.execute("select * from R")
    assert "SECRETPW" not in str(info.value)
    dead = cql.connect("http://user:SECRETPW@127.0.0.1:1/parse", app_id="a", master_key="K", retries=0)
    with pytest.raises(cql.ConnectionFailed) as info:
        dead.execute("select * from R")
    assert "SECRETPW" not in str(info.value) and "user:***@127.0.0.1:1" in str(info.value)


def test_cli_open_error_hides_the_url_password(capsys, monkeypatch):
    from cql.cli import main
    monkeypatch.delenv("CQL_APP_ID", raising=False)
    assert main(["-e", "select * from A", "http://user:SECRETPW@127.0.0.1:1/parse"]) == 1
    err = capsys.readouterr().err
    assert "SECRETPW" not in err and "user:***@" in err


@pytest.mark.parametrize("statement, params", [
    ("insert into D (d) values (date('9999-12-31T23:59:59-05:00'))", ()),
    ("insert into D (d) values (date('0001-01-01T00:00:00+05:00'))", ()),
    ("insert into D (d) values (date('2020-01-01T00:00:00+99:00'))", ()),
    ("insert into D (d) values (?)", (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),)),
    ("insert into D (d) values (?)", ({"__type": "Date", "iso": "9999-12-31T23:59:59-05:00"},)),
    ("select * from D where d > date('9999-12-31T23:59:59-05:00')", ()),
])
def test_dates_out_of_range_after_utc_conversion_are_107(statement, params):
    with pytest.raises(cql.CQLError) as info:
        cql.connect().execute(statement, *params)
    assert info.value.code == 107


def test_text_file_and_truncated_database_say_what_to_do(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello\n")
    with pytest.raises(cql.StorageError) as info:
        cql.connect(str(text))
    assert "not an SQLite file" in str(info.value)
    assert text.read_text() == "hello\n"
    good = tmp_path / "good.db"
    with cql.connect(str(good)) as c:
        c.execute("insert into A (x) values (1)")
    cut = tmp_path / "cut.db"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(cql.StorageError) as info:
        cql.connect(str(cut))
    assert "damaged" in str(info.value) and ".recover" in str(info.value)


def test_nan_is_107_on_a_rest_target_too(plain_http):
    _folder, url = plain_http
    con = cql.connect(url, app_id="a", master_key="K", retries=0)
    for value in (float("nan"), [float("-inf")]):
        with pytest.raises(cql.CQLError) as info:
            con.execute("insert into R (v) values (?)", value)
        assert info.value.code == 107 and "NaN" in str(info.value)


def test_parse_cache_does_not_hold_big_texts():
    from cql import parser
    big = "insert into A (s) values ('" + "x" * 100_000 + "')"
    assert cql.parse(big)[0].class_name == "A"
    assert big not in parser._CACHE
    small = "select * from A where n = 12345"
    cql.parse(small)
    assert small in parser._CACHE

"""PEP 249 (DB-API 2.0) conformance of cql's Connection and Cursor."""
import datetime as dt

import pytest

import cql


@pytest.fixture
def con():
    c = cql.connect()
    c.execute("insert into Todo (name, n, done, at) values ('a', 1, false, date('2020-01-02T03:04:05.678Z')),"
              " ('b', 2, true, null), ('c', 3, false, null)")
    yield c
    c.close()


def test_module_globals():
    assert cql.apilevel == "2.0"
    assert cql.threadsafety in (0, 1, 2, 3)
    assert cql.paramstyle == "qmark"


def test_exception_hierarchy():
    assert issubclass(cql.Warning, Exception)
    assert issubclass(cql.Error, Exception)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(cql, name), cql.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError",
                 "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(cql, name), cql.DatabaseError)
    assert issubclass(cql.CQLError, cql.DatabaseError)
    assert issubclass(cql.ConditionNotMet, cql.IntegrityError)
    con = cql.connect()
    assert con.Error is cql.Error and con.ProgrammingError is cql.ProgrammingError


def test_select_description_and_fetches(con):
    cur = con.cursor()
    assert cur.arraysize == 1
    assert cur.execute("select name, n from Todo order by n") is cur
    desc = cur.description
    assert [d[0] for d in desc] == ["objectId", "name", "n", "createdAt", "updatedAt"]
    assert all(len(d) == 7 for d in desc)
    assert desc[0][1] == cql.ROWID and desc[1][1] == cql.STRING and desc[2][1] == cql.NUMBER
    assert desc[3][1] == cql.DATETIME and desc[1][1] != cql.NUMBER
    assert cur.rowcount == 3
    first = cur.fetchone()
    assert first[1:3] == ("a", 1) and isinstance(first[3], dt.datetime)
    assert [r[1] for r in cur.fetchmany()] == ["b"]
    assert [r[1] for r in cur.fetchmany(5)] == ["c"]
    assert cur.fetchone() is None and cur.fetchall() == [] and cur.fetchmany(2) == []
    cur.arraysize = 2
    cur.execute("select * from Todo order by n")
    assert len(cur.fetchmany()) == 2
    assert len(cur.fetchall()) == 1


def test_parameters_are_qmark_sequences(con):
    cur = con.cursor()
    cur.execute("select * from Todo where n >= ? and done = ?", (2, False))
    assert [r[cur.description.index(next(d for d in cur.description if d[0] == "name"))]
            for r in cur.fetchall()] == ["c"]
    cur.execute("select * from Todo where n in (?, ?)", [1, 3])
    assert cur.rowcount == 2
    with pytest.raises(cql.ProgrammingError):
        cur.execute("select * from Todo where n = ?", {"n": 1})
    with pytest.raises(cql.ProgrammingError):
        cur.execute("select * from Todo where n = ?", ())


def test_dates_and_binary_parameters(con):
    cur = con.cursor()
    cur.execute("insert into Ev (at, blob) values (?, ?)",
                (cql.Timestamp(2021, 5, 6, 7, 8, 9), cql.Binary(b"\x00\x01")))
    cur.execute("select * from Ev where at = ?", (cql.TimestampFromTicks(
        dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc).timestamp()),))
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    assert row["at"] == dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert row["blob"] == b"\x00\x01"
    assert [d[1] for d in cur.description if d[0] == "blob"] == ["Bytes"]
    assert [d[1] for d in cur.description if d[0] == "blob"][0] == cql.BINARY
    assert cql.Date(2020, 1, 2) == dt.date(2020, 1, 2)
    assert cql.Time(1, 2, 3) == dt.time(1, 2, 3)
    assert cql.DateFromTicks(0) == dt.date(1970, 1, 1)
    assert cql.TimeFromTicks(3661) == dt.time(1, 1, 1)
    with pytest.raises(cql.CQLError):
        cur.execute("insert into Ev (t) values (?)", (cql.Time(1, 2, 3),))


def test_insert_update_delete_rowcount(con):
    cur = con.cursor()
    cur.execute("insert into Todo (name) values ('d'), ('e')")
    assert cur.rowcount == 2 and len(cur.lastrowid) == 24
    assert [d[0] for d in cur.description] == ["objectId", "createdAt"]
    assert len(cur.fetchall()) == 2
    cur.execute("update Todo set n = op('Increment', {'amount': 1}) where n >= 2")
    assert cur.rowcount == 2
    assert [d[0] for d in cur.description] == ["objectId", "updatedAt"]
    cur.execute("delete from Todo where name in ('d', 'e')")
    assert cur.rowcount == 2 and cur.description is None
    with pytest.raises(cql.ProgrammingError):
        cur.fetchone()


def test_executemany(con):
    cur = con.cursor()
    cur.executemany("insert into Todo (name, n) values (?, ?)", [("x", 10), ("y", 11), ("z", 12)])
    assert cur.rowcount == 3
    cur.execute("select count(*) from Todo where n >= 10")
    assert cur.rowcount == 1
    assert cur.fetchall() == [(3,)]
    assert [d[0] for d in cur.description] == ["count"] and cur.description[0][1] == cql.NUMBER


def test_fetch_before_execute_is_an_error(con):
    with pytest.raises(cql.ProgrammingError):
        con.cursor().fetchone()


def test_close_cursor_and_connection(con):
    cur = con.cursor()
    cur.close()
    with pytest.raises(cql.InterfaceError):
        cur.execute("select * from Todo")
    cur2 = con.cursor()
    con.commit()  # every statement commits on its own; commit is a no-op
    with pytest.raises(cql.NotSupportedError):
        con.rollback()
    con.close()
    with pytest.raises(cql.InterfaceError):
        cur2.execute("select * from Todo")
    with pytest.raises(cql.InterfaceError):
        con.cursor()
    with pytest.raises(cql.InterfaceError):
        con.execute("select * from Todo")
    con.close()  # closing twice is fine


def test_cursor_is_iterable_and_a_context_manager(con):
    with con.cursor() as cur:
        cur.execute("select * from Todo order by n")
        assert len(list(cur)) == 3
    assert cur.closed
    cur.setinputsizes([1])
    with cql.connect() as c2:
        c2.execute("insert into T (a) values (1)")
    assert c2.closed


def test_errors_carry_codes(con):
    cur = con.cursor()
    with pytest.raises(cql.ProgrammingError) as exc:
        cur.execute("selec * from Todo")
    assert exc.value.code == 300
    with pytest.raises(cql.ObjectNotFound) as exc:
        cur.execute("update Todo set n = 1 where objectId = '000000000000000000000000'")
    assert exc.value.code == 101

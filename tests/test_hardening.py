"""What an adversarial pass broke (issue 12): hostile values and inputs (item 5)
and the smaller items (8: options, objectIds '.'/'..', long wheres). Each test
failed before its fix: the value escaped as a Python exception, or was
silently accepted."""
from __future__ import annotations

import gc
import sqlite3
import time

import pytest

import cql
from cql.engine import EngineBackend


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class EvilInt(int):
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.fixture
def conn():
    c = cql.connect()
    c.execute("insert into G (score, loc, a) values (1, geopoint(1, 1), 'x')")
    yield c
    c.close()


@pytest.fixture
def file_conn(tmp_path):
    c = cql.connect(str(tmp_path / "h.db"))
    c.execute("insert into G (score, loc, a) values (1, geopoint(1, 1), 'x')")
    yield c
    c.close()


# -- item 5: values that escaped as Python exceptions ---------------------------------------

@pytest.mark.parametrize("statement, params, code", [
    ("select * from G order by score limit ?", (10 ** 400,), 107),   # OverflowError in query.py
    ("select * from G order by score limit ?", (10 ** 300,), 300),   # a number, but no LIMIT
    ("select * from G limit ?, 10", (2 ** 63,), 300),
    ("select * from G where loc near geopoint(?, 1)", (10 ** 400,), 107),  # OverflowError
    ("select * from G where loc near geopoint(?, 1)", (10 ** 300,), 302),
    ("select * from G where f = file(?)", (10 ** 5000,), 107),       # ValueError (int repr)
    ("insert into G (n) values (?)", (10 ** 5000,), 107),
    ("select * from G where a = ?", (RaisingRepr(),), 107),          # its own __repr__ raised
    ("select * from G where a = ?", (EvilInt(3),), None),            # an int: used as 3
    ("select * from G where a = ?", ([[[[[[1]]]]]] * 2,), None),
])
def test_hostile_parameters_are_cql_errors(conn, statement, params, code):
    if code is None:
        conn.execute(statement, *params)
        return
    with pytest.raises(cql.CQLError) as info:
        conn.execute(statement, *params)
    assert info.value.code == code
    str(info.value)  # the message itself can be shown


@pytest.mark.parametrize("value, words", [
    (float("nan"), "NaN"), (float("inf"), "NaN and Infinity"), (10 ** 400, "too large"),
    ("x\ud800", "lone surrogate"), (["ok", "x\udfff"], "lone surrogate"), ([1, 10 ** 400], "too large"),
])
def test_executemany_binds_by_the_same_rules(file_conn, value, words):
    """DB-API executemany binds its rows by a fast path: the same rules as
    execute, the same error (107 naming the parameter), nothing written."""
    cur = file_conn.cursor()
    with pytest.raises(cql.CQLError) as info:
        cur.executemany("insert into M (v) values (?)", [(1,), (value,)])
    assert info.value.code == 107 and words in str(info.value) and "parameter 1" in str(info.value)
    assert file_conn.execute("select count(*) from M").count == 0
    rows = [(1, "ü", [1, "a"]), (2.5, None, []), (-(2 ** 60), "\U0001f600", [None])]
    cur.executemany("insert into M (v, s, a) values (?, ?, ?)", rows)
    got = file_conn.execute("select v, s, a from M order by v").objects
    assert [(o["v"], o["s"], o["a"]) for o in got] == sorted(rows, key=lambda r: r[0])


def test_a_number_too_long_for_text_in_the_statement():
    with pytest.raises(cql.CQLError) as info:
        cql.explain("select * from G where loc near geopoint(1, 1) max " + "9" * 400 + " km")
    assert info.value.code == 300 and "out of range" in info.value.message
    with pytest.raises(cql.CQLError):
        cql.explain("select * from G where a = 0x" + "f" * 5000)


def test_cycles_and_deep_nesting_are_refused_not_recursion_errors(conn):
    cycle: list = [1]
    cycle.append(cycle)
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    for value in (cycle, deep):
        with pytest.raises(cql.InvalidJSON) as info:
            conn.execute("insert into G (v) values (?)", value)
        assert "100 levels" in info.value.message
    conn.execute("insert into G (v) values (?)", [[[1]]])  # shallow nesting is fine


def test_lone_surrogate_one_rule_for_every_backend(conn, file_conn):
    """Accepted on a transient database, refused (107) on a file: now 107 on both."""
    for c in (conn, file_conn):
        with pytest.raises(cql.InvalidJSON) as info:
            c.execute("insert into G (s) values (?)", "a\ud800b")
        assert "surrogate" in info.value.message
        with pytest.raises(cql.InvalidJSON):
            c.execute("insert into G (o) values (?)", {"\udcff": 1})
        with pytest.raises(cql.CQLSyntaxError) as info:
            c.execute("insert into G (s) values ('\ud800')")
        assert info.value.column == 28
    with pytest.raises(cql.InvalidJSON):  # was UnicodeEncodeError building the path
        cql.explain("update G set a = 1 where objectId = ?", "\ud800")
    assert conn.execute("select count(*) from G").count == 1


def test_lone_surrogate_on_rest_is_refused_before_sending(server):
    from testserver import connect
    rest = connect(server, "parse")
    try:
        calls = rest.backend.http.calls
        with pytest.raises(cql.InvalidJSON):  # was UnicodeEncodeError
            rest.execute("update G set a = 1 where objectId = ?", "\ud800")
        assert rest.backend.http.calls == calls
    finally:
        rest.close()


@pytest.mark.parametrize("path", ["a\x00b.db", "\ud800.db"])
def test_unusable_file_names_are_storage_errors(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cql.StorageError) as info:  # were ValueError / UnicodeEncodeError
        cql.connect(path)
    assert "path" in info.value.message


@pytest.mark.parametrize("target", [5, object(), 1.5])
def test_a_target_that_is_not_a_path(target):
    with pytest.raises(cql.InterfaceError) as info:
        cql.connect(target)
    assert "file path or an http(s) URL" in str(info.value)


def test_bytes_and_pathlike_targets(tmp_path):
    c = cql.connect(str(tmp_path / "b.db").encode())
    c.execute("insert into T (a) values (1)")
    c.close()
    assert cql.connect(tmp_path / "b.db").execute("select count(*) from T").count == 1


@pytest.mark.parametrize("stored", ["[1, 2]", "5", '"text"', "null"])
def test_a_row_that_is_json_but_not_an_object_is_a_damaged_row(tmp_path, stored):
    path = str(tmp_path / "edited.db")
    c = cql.connect(path)
    c.execute("insert into H (a) values (1)")
    c.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE objects SET json = ?", (stored,))
    db.commit()
    db.close()
    with pytest.raises(cql.StorageError) as info:  # was TypeError / AttributeError
        cql.connect(path).execute("select * from H")
    assert "damaged" in info.value.message


def test_cursor_with_hostile_parameter_sequences(conn):
    class BadIter:
        def __iter__(self):
            raise RuntimeError("no iteration")

    class BadList(list):
        def __iter__(self):
            raise RuntimeError("no iteration")

    cur = conn.cursor()
    for params in (BadIter(), BadList([1]), 10 ** 5000, RaisingRepr()):
        with pytest.raises(cql.ProgrammingError):
            cur.execute("select * from G where a = ?", params)


# -- item 8: smaller --------------------------------------------------------------------------

def test_misspelled_option_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(cql.InterfaceError) as info:  # ran with NORMAL before
        cql.connect(str(tmp_path / "x.db"), synchronus="FULL")
    assert "did you mean 'synchronous'" in str(info.value)
    assert isinstance(info.value, cql.CQLError)
    assert not (tmp_path / "x.db").exists()  # refused before creating anything
    with pytest.raises(cql.InterfaceError):
        EngineBackend(None, cache=5)


@pytest.mark.parametrize("options", [
    {"synchronous": 2}, {"busy_timeout": "5"}, {"busy_timeout": -1},
    {"busy_timeout": 10 ** 400}, {"busy_timeout": 1e308},
    {"strict_types": "no"}, {"regex_timeout": 0}, {"regex_timeout": float("nan")},
])
def test_option_values_are_checked(tmp_path, options):
    with pytest.raises(cql.InvalidOption) as info:
        cql.connect(str(tmp_path / "y.db"), **options)
    assert next(iter(options)) in info.value.message


def test_rest_option_values_are_checked():
    for options in ({"flavor": "mongo"}, {"page_size": 0}, {"timeout": "3"}, {"retries": 1.5}, {"app_id": 5}):
        with pytest.raises(cql.InvalidOption):
            cql.connect("http://127.0.0.1:9/parse", **{"app_id": "a", "master_key": "k", **options})
    with pytest.raises(cql.InvalidOption) as info:
        cql.connect("http://127.0.0.1:9/parse", app_id="a", master_key="k", page_sise=10)
    assert "did you mean 'page_size'" in info.value.message


@pytest.mark.parametrize("object_id", [".", ".."])
def test_dot_object_ids_never_reach_a_path(object_id):
    for statement in ("delete from C where objectId = ?", "update C set a = 1 where objectId = ?"):
        with pytest.raises(cql.MissingObjectId):  # was DELETE /classes/C/
            cql.explain(statement, object_id)
    from cql.plan import object_path
    with pytest.raises(cql.MissingObjectId):
        object_path("C", object_id)


def test_dot_object_ids_on_rest(server):
    from testserver import connect
    rest = connect(server, "parse")
    try:
        rest.execute("insert into DotIds (a) values (1)")
        calls = rest.backend.http.calls
        for object_id in (".", ".."):
            with pytest.raises(cql.MissingObjectId):
                rest.execute("delete from DotIds where objectId = ?", object_id)
        assert rest.backend.http.calls == calls  # refused before any request
        assert rest.execute("select count(*) from DotIds").count == 1
    finally:
        rest.close()


WHERE_SHAPES = {
    "or of equalities": lambda n: " or ".join(f"a = {i}" for i in range(n)),
    "or on many fields": lambda n: " or ".join(f"f{i % 50} = {i}" for i in range(n)),
    "and of distinct fields": lambda n: " and ".join(f"f{i} != {i}" for i in range(n)),
    "and on one field": lambda n: " and ".join(f"a != {i}" for i in range(n)),
    "and of ors": lambda n: " and ".join(f"(a = {i} or b = {i})" for i in range(n // 2)),
    "in list": lambda n: "a in (" + ", ".join(str(i) for i in range(n)) + ")",
}


@pytest.mark.parametrize("shape", list(WHERE_SHAPES))
def test_long_wheres_cost_linear_time(conn, shape):
    """4x the terms costs about 4x (quadratic would be 16x): parse, plan, compile, match."""
    make = WHERE_SHAPES[shape]

    def cost(n: int) -> float:
        """CPU time of the best of three runs, without the cyclic GC (whose
        passes over a growing heap are not the code's cost)."""
        text = "select count(*) from G where " + make(n)
        best = float("inf")
        for _ in range(3):
            cql.parser.clear_cache()
            conn.backend._compiled.clear()
            gc.collect()
            gc.disable()
            try:
                start = time.thread_time()
                conn.execute(text)
                best = min(best, time.thread_time() - start)
            finally:
                gc.enable()
        return best

    small, large = cost(2500), cost(10000)
    assert large < 10 * max(small, 0.01), f"{shape}: 2,500 terms {small:.2f} s, 10,000 terms {large:.2f} s"

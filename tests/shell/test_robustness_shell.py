"""Robustness of the `cql` program: odd files and bytes get a clear one-line
error with a position (never a traceback, never silently altered data)."""
import json
import subprocess
import sys

from .conftest import cql_env


def run_bytes(tmp_path, *args, input=b""):
    return subprocess.run([sys.executable, "-m", "cql", *args], input=input, capture_output=True,
                          cwd=tmp_path, env=cql_env(tmp_path), timeout=60, start_new_session=True)


def test_script_with_bom_and_crlf_runs(tmp_path, run_cql):
    (tmp_path / "w.cql").write_bytes(b"\xef\xbb\xbfinsert into A (x) values (1);\r\n"
                                     b"select x from A\r\n  where x = 1;\r\n")
    r = run_cql("--format", "jsonl", "-f", "w.cql")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["x"] == 1


def test_stdin_with_bom_runs(tmp_path):
    r = run_bytes(tmp_path, "--format", "jsonl", input=b"\xef\xbb\xbfselect count(*) from A;")
    assert r.returncode == 0, r.stderr


def test_non_utf8_stdin_is_an_error_with_position_and_nothing_runs(tmp_path):
    db = str(tmp_path / "x.db")
    r = run_bytes(tmp_path, db, input=b"insert into A (x) values ('ok');\ninsert into A (x) values ('\xff');\n")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "<stdin>:2:28" in err and "UTF-8" in err and "Traceback" not in err
    r = run_bytes(tmp_path, "--format", "jsonl", "-e", "select count(*) from A", db)
    assert r.stdout.strip() == b'{"count": 0}' or b"0" in r.stdout


def test_non_utf8_script_file_is_an_error_with_position(tmp_path):
    (tmp_path / "latin.cql").write_bytes(b"select * from A\nwhere x = 'caf\xe9';")
    r = run_bytes(tmp_path, "-f", "latin.cql")
    assert r.returncode == 1
    assert "latin.cql:2:15: not UTF-8 text (byte 0xe9)" in r.stderr.decode()


def test_read_of_a_binary_file_is_a_plain_error(tmp_path):
    (tmp_path / "bin.cql").write_bytes(b"\x8a\x00\xff" * 50)
    r = run_bytes(tmp_path, "-e", ".read bin.cql")
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "bin.cql:1:1: not UTF-8 text" in err and "internal error" not in err


def test_read_loop_is_refused_once(tmp_path, run_cql):
    (tmp_path / "a.cql").write_text(".read b.cql\n")
    (tmp_path / "b.cql").write_text("insert into A (x) values (1);\n.read a.cql\n")
    r = run_cql("-e", ".read a.cql", "x.db")
    assert r.returncode == 1
    assert "already being read" in r.stderr
    assert r.stderr.count("\n") < 6, r.stderr
    assert "Recursion" not in r.stderr


def test_import_checks_class_names(tmp_path, run_cql):
    (tmp_path / "p.csv").write_text("name\nbob\n")
    r = run_cql("-e", ".import p.csv 表", "x.db")
    assert r.returncode == 1 and "invalid class name" in r.stderr
    r = run_cql("-e", ".import p.csv 'a b'", "x.db")
    assert r.returncode == 1 and "invalid class name" in r.stderr


def test_import_checks_field_names_and_values_before_inserting(tmp_path, run_cql):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"b.c": 2}\n')
    r = run_cql("-e", ".import bad.jsonl A", "x.db")
    assert r.returncode == 1 and "object 2: invalid field name 'b.c'" in r.stderr
    (tmp_path / "cjk.csv").write_text("姓名\n张三\n", encoding="utf-8")
    r = run_cql("-e", ".import cjk.csv A", "x.db")
    assert r.returncode == 1 and "invalid field name" in r.stderr
    (tmp_path / "date.jsonl").write_text('{"a": 1}\n{"d": {"__type": "Date", "iso": "2026-02-30"}}\n')
    r = run_cql("-e", ".import date.jsonl A", "x.db")
    assert r.returncode == 1 and "invalid Date" in r.stderr
    r = run_cql("--format", "jsonl", "-e", "select count(*) from A; select * from A", "x.db")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0]) == {"count": 0}


def test_import_of_json_that_is_not_objects(tmp_path, run_cql):
    (tmp_path / "s.json").write_text('"just a string"\n')
    r = run_cql("-e", ".import s.json A", "x.db")
    assert r.returncode == 1 and "expected a JSON array of objects" in r.stderr


def test_import_csv_with_bom_and_cjk_values(tmp_path, run_cql):
    (tmp_path / "p.csv").write_bytes("\ufeffname,score\n张三,1\n".encode("utf-8"))
    r = run_cql("--format", "jsonl", "-e", ".import p.csv P", "-e", "select name, score from P", "x.db")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["name"] == "张三" and row["score"] == 1


def test_unclosed_block_comment_at_the_end_is_an_error_not_silence(tmp_path, run_cql):
    (tmp_path / "c.cql").write_text("insert into A (x) values (1);\n/* insert into A (x) values (2);\n")
    r = run_cql("-f", "c.cql", "x.db")
    assert r.returncode == 1
    assert "c.cql:2:1: error 300: unterminated comment" in r.stderr
    r = run_cql("-e", "select * from A /* where x = 2", "x.db")
    assert r.returncode == 1 and "unterminated comment" in r.stderr


def test_import_that_fails_part_way_says_how_much_was_imported(tmp_path, monkeypatch):
    import io
    from cql.shell import transfer
    from cql.shell.session import Session
    from cql.engine import EngineBackend
    monkeypatch.setattr(transfer, "BATCH", 1)
    monkeypatch.setattr(EngineBackend, "bulk_rows", 1)  # the engine imports in statements of bulk_rows
    (tmp_path / "mixed.jsonl").write_text('{"a": 1}\n{"a": 2}\n{"a": "x"}\n')
    out, err = io.StringIO(), io.StringIO()
    session = Session(None, stdout=out, stderr=err)
    assert not session.run_script(f".import {tmp_path / 'mixed.jsonl'} M", "s.cql")
    assert "2 of 3 objects were imported into M before this error" in err.getvalue()
    assert "error 111" in err.getvalue()
    session.close()


def test_output_to_a_full_device_is_reported_and_the_shell_recovers(tmp_path, run_cql):
    r = run_cql("--continue-on-error", "-e", "insert into A (x) values (1)", "-e", ".output /dev/full",
                "-e", "select * from A", "-e", ".output stdout", "-e", "select count(*) from A", "x.db",
                CQL_DEBUG="")
    assert r.returncode == 1
    assert "No space left on device" in r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "count: 1" in r.stdout


def test_failed_export_leaves_the_old_file_whole(tmp_path, monkeypatch):
    import io
    from cql.shell import transfer
    from cql.shell.session import Session
    old = tmp_path / "out.json"
    old.write_text("precious\n")
    session = Session(None, stdout=io.StringIO(), stderr=io.StringIO())
    session.run_script("insert into A (x) values (1), (2);", "s")

    def broken(*args, **kwargs):
        yield {"objectId": "a", "x": 1}
        raise KeyboardInterrupt
    monkeypatch.setattr(transfer, "iter_class", broken)
    try:
        transfer.export_class(session.connection(), "A", str(old))
    except KeyboardInterrupt:
        pass
    assert old.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    monkeypatch.undo()
    assert transfer.export_class(session.connection(), "A", str(old)) == 2
    assert len(json.loads(old.read_text())) == 2
    session.close()


def test_export_to_a_missing_directory_names_the_path(tmp_path, run_cql):
    r = run_cql("-e", ".export A nowhere/x.json", "x.db")
    assert r.returncode == 1
    assert "No such file or directory: nowhere/x.json" in r.stderr


def test_csv_import_refuses_rows_it_would_cut_and_headers_it_would_merge(tmp_path, run_cql):
    cases = {"extra.csv": ("a,b\n1,2,3\n", "extra.csv:2: 3 values but the header line has 2 names"),
             "dup.csv": ("a,a\n1,2\n", "column name 'a' appears twice"),
             "blank.csv": ("a,,b\n1,2,3\n", "column 2 of the header line has no name"),
             "quote.csv": ('a,b\n"open,1\n', "quote.csv:2: malformed CSV")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        r = run_cql("-e", f".import {name} A", "x.db")
        assert r.returncode == 1 and message in r.stderr, (name, r.stderr)
    r = run_cql("--format", "jsonl", "-e", "select count(*) from A", "x.db")
    assert json.loads(r.stdout) == {"count": 0}


def test_csv_round_trip_keeps_newlines_inside_values(tmp_path, run_cql):
    r = run_cql("-e", "insert into A (s, n) values ('two\\nlines', 1)", "-e", ".export A a.csv",
                "-e", ".import a.csv B", "--format", "jsonl", "-e", "select s, n from B", "x.db")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["s"] == "two\nlines" and row["n"] == 1


def test_output_or_export_onto_the_open_database_is_refused(tmp_path, run_cql):
    r = run_cql("-e", "insert into A (x) values (1)", "x.db")
    assert r.returncode == 0, r.stderr
    for command in (".output x.db", ".export A x.db", ".output ./x.db-wal"):
        r = run_cql("-e", command, "x.db")
        assert r.returncode == 1 and "is the open database file" in r.stderr, (command, r.stderr)
    r = run_cql("--format", "jsonl", "-e", "select count(*) from A", "x.db")
    assert json.loads(r.stdout) == {"count": 1}


def test_import_of_nan_is_refused_before_inserting(tmp_path, run_cql):
    (tmp_path / "nan.jsonl").write_text('{"a": 1}\n{"a": NaN}\n')
    r = run_cql("-e", ".import nan.jsonl T", "x.db")
    assert r.returncode == 1 and "nan.jsonl:2:1: malformed JSON: NaN is not a number" in r.stderr
    (tmp_path / "inf.csv").write_text("a\n-Infinity\n")
    r = run_cql("--format", "jsonl", "-e", ".import inf.csv T", "-e", "select a from T", "x.db")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["a"] == "-Infinity"


def test_export_of_a_misspelt_class_keeps_the_last_export(tmp_path, run_cql):
    r = run_cql("-e", "insert into GameScore (x) values (1)", "-e", ".export GameScore gs.json", "x.db")
    assert r.returncode == 0, r.stderr
    before = (tmp_path / "gs.json").read_text()
    r = run_cql("-e", ".export Gamescore gs.json", "x.db")
    assert r.returncode == 1 and "no class Gamescore; did you mean GameScore?" in r.stderr
    assert (tmp_path / "gs.json").read_text() == before


def test_dot_commands_ignore_a_trailing_semicolon(tmp_path, run_cql):
    r = run_cql("-e", ".open semi.db;", "-e", ".format jsonl;", "-e", "insert into A (x) values (1);",
                "-e", ".classes;", "-e", "select x from A;")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "semi.db").exists() and not (tmp_path / "semi.db;").exists()
    assert r.stdout.splitlines()[0] == "A" and json.loads(r.stdout.splitlines()[1])["x"] == 1


def test_closed_stdin_is_an_empty_script(tmp_path):
    r = subprocess.run([sys.executable, "-m", "cql"], stdin=subprocess.DEVNULL, capture_output=True,
                       cwd=tmp_path, env=cql_env(tmp_path), timeout=60, start_new_session=True,
                       preexec_fn=lambda: __import__("os").close(0))
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr


def test_closed_stdout_is_not_a_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "cql", "-e", "select count(*) from A"], stdin=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=tmp_path, env=cql_env(tmp_path, CQL_DEBUG=""), timeout=60,
                       start_new_session=True, preexec_fn=lambda: __import__("os").close(1))
    assert r.returncode == 0 and b"error" not in r.stderr, r.stderr

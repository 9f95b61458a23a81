"""Batch mode through the real program: -e, -f, stdin, formats, exit codes,
error locations with a caret."""
import csv
import io
import json
import re


def test_execute_prints_a_table_and_exits_0(run_cql, todo_db):
    r = run_cql("-e", "select title, n from Todo order by n", str(todo_db))
    assert r.returncode == 0, r.stderr
    assert "买牛奶" in r.stdout and "| title" in r.stdout
    assert "2 rows" in r.stdout


def test_statements_run_in_order_across_e_and_f(run_cql, tmp_path):
    db = str(tmp_path / "x.db")
    (tmp_path / "a.cql").write_text("insert into T (k) values (1);\n")
    r = run_cql("-f", "a.cql", "-e", "insert into T (k) values (2)", "-e", "select count(*) from T",
                "--format", "json", db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"count": 2}


def test_error_location_is_absolute_in_the_file_with_a_caret(run_cql, tmp_path):
    db = str(tmp_path / "x.db")
    script = ("insert into T (k) values (1);\n"
              "-- a comment\n"
              "insert into T (k) values (2);  select * frm T;\n"
              "insert into T (k) values (3);\n")
    (tmp_path / "s.cql").write_text(script)
    r = run_cql("-f", "s.cql", db)
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert re.match(r"s\.cql:3:41: error 300: ", first), r.stderr
    lines = r.stderr.splitlines()
    assert lines[1] == "insert into T (k) values (2);  select * frm T;"
    assert lines[2] == " " * 40 + "^"
    # the statements before the error ran, the one after did not
    r2 = run_cql("-e", "select count(*) from T", "--format", "csv", db)
    assert r2.stdout.splitlines() == ["count", "2"]


def test_continue_on_error_runs_the_rest_and_still_fails(run_cql, tmp_path):
    db = str(tmp_path / "x.db")
    r = run_cql("--continue-on-error", "-e", "insert into T (k) values (1); selec 1; insert into T (k) values (2)",
                "-e", "select count(*) from T", "--format", "csv", db)
    assert r.returncode == 1
    assert r.stderr.startswith("<command line>:1:31: error 300")
    assert r.stdout.splitlines()[-2:] == ["count", "2"]


def test_script_on_stdin_and_dash_file(run_cql, tmp_path):
    r = run_cql("--format", "jsonl", input="insert into T (k) values (1);\nselect k from T;\n")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows[-1]["k"] == 1 and len(rows[-1]["objectId"]) == 24
    r = run_cql("-f", "-", input="select * from T;\n\n  selectt 1;\n")
    assert r.returncode == 1
    assert r.stderr.startswith("<stdin>:3:3: error 300"), r.stderr


def test_usage_errors_exit_2(run_cql):
    assert run_cql("--no-such-flag").returncode == 2
    assert run_cql("--format", "xml", "-e", "select * from T").returncode == 2
    r = run_cql("-f", "missing.cql")
    assert r.returncode == 2 and "missing.cql" in r.stderr


def test_version_and_help(run_cql):
    r = run_cql("--version")
    assert r.returncode == 0 and r.stdout.startswith("cql ")
    r = run_cql("--help")
    assert r.returncode == 0 and "--continue-on-error" in r.stdout and "Exit status" in r.stdout


def test_every_format_parses_back(run_cql, todo_db):
    q = "select title, n from Todo order by n"
    out = {fmt: run_cql("--format", fmt, "-e", q, str(todo_db)) for fmt in
           ("table", "vertical", "json", "jsonl", "csv", "markdown")}
    for fmt, r in out.items():
        assert r.returncode == 0, (fmt, r.stderr)
    objs = json.loads(out["json"].stdout)
    assert [(o["title"], o["n"]) for o in objs] == [("买牛奶", 1), ("b", 2)]
    assert [json.loads(line) for line in out["jsonl"].stdout.splitlines()] == objs
    rows = list(csv.DictReader(io.StringIO(out["csv"].stdout)))
    assert [(row["title"], row["n"]) for row in rows] == [("买牛奶", "1"), ("b", "2")]
    assert rows[0]["objectId"] == objs[0]["objectId"]
    md = out["markdown"].stdout.splitlines()
    assert md[0].startswith("| objectId") and md[1].startswith("|---")
    assert "title: 买牛奶" in out["vertical"].stdout
    assert "| 买牛奶" in out["table"].stdout


def test_writes_report_counts(run_cql, todo_db):
    r = run_cql("-e", "update Todo set n = op('Increment', {'amount': 1})", str(todo_db))
    assert r.returncode == 0, r.stderr
    assert "2 objects updated" in r.stdout
    r = run_cql("-e", "delete from Todo where n = 3", str(todo_db))
    assert "1 object deleted" in r.stdout
    r = run_cql("--format", "json", "-e", "delete from Todo; select count(*) from Todo", str(todo_db))
    assert json.loads(r.stdout) == {"count": 0}  # machine formats: select results only


def test_no_terminal_means_no_question(run_cql, todo_db):
    """Without any terminal (setsid), a bulk delete runs without asking."""
    r = run_cql("-e", "delete from Todo", str(todo_db))
    assert r.returncode == 0 and "Continue?" not in r.stderr
    assert "2 objects deleted" in r.stdout


def test_truncation_is_noted_on_stderr_for_machine_formats(run_cql, tmp_path):
    db = str(tmp_path / "x.db")
    values = ", ".join(f"({i})" for i in range(120))
    r = run_cql("-e", f"insert into T (k) values {values}", "-e", "select k from T", "--format", "jsonl", db)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 100
    assert "limit 100 reached" in r.stderr


def test_import_and_export_round_trip(run_cql, tmp_path):
    db = str(tmp_path / "x.db")
    rows = [{"name": f"p{i}", "score": i, "tags": ["a", "b"]} for i in range(2100)]  # > 2 export pages
    (tmp_path / "in.json").write_text(json.dumps(rows))
    (tmp_path / "in.csv").write_text("name,score\nx,1\ny,2.5\n")
    r = run_cql("-e", ".import in.json Player", "-e", ".import in.csv Other", "-e", ".export Player out.jsonl",
                "-e", ".export Other out.csv", db)
    assert r.returncode == 0, r.stderr
    back = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted((o["name"], o["score"], o["tags"]) for o in back) == \
        sorted((o["name"], o["score"], o["tags"]) for o in rows)
    types, *rest = (tmp_path / "out.csv").read_text().splitlines()
    assert types == "string,string,number,date,date"  # LeanCloud's typed CSV (issue 13): row 1 the types
    other = list(csv.DictReader(io.StringIO("\n".join(rest))))
    assert sorted((o["name"], o["score"]) for o in other) == [("x", "1"), ("y", "2.5")]


def test_dot_command_errors_carry_a_location(run_cql, tmp_path):
    (tmp_path / "s.cql").write_text("select count(*) from T;\n.shema T\n")
    r = run_cql("-f", "s.cql")
    assert r.returncode == 1
    assert r.stderr.startswith("s.cql:2:1: error: unknown command .shema; did you mean .schema?")


def test_explain_shows_the_request(run_cql):
    r = run_cql("-e", ".explain select * from T where k > 1 limit 5")
    assert r.returncode == 0, r.stderr
    req = json.loads(r.stdout)
    assert "T" in json.dumps(req) and "$gt" in json.dumps(req)


def test_open_and_output_commands(run_cql, tmp_path):
    r = run_cql("-e", ".open other.db", "-e", "insert into T (k) values (7)", "-e", ".output out.csv",
                "-e", ".format csv", "-e", "select k from T", "-e", ".output stdout", "-e", "select count(*) from T")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "objectId,k,createdAt,updatedAt"
    assert r.stdout.splitlines()[-2:] == ["count", "1"]
    r = run_cql("--format", "csv", "-e", "select k from T", str(tmp_path / "other.db"))
    assert r.stdout.splitlines()[1].split(",")[1] == "7"

"""Issue 13 through the real program in batch mode: what a new user hit, and
the habits users bring from psql, mysql and sqlite3."""
import csv
import io
import json
import os
import re

import pytest

from cql.shell import commands

from .conftest import ROOT


@pytest.fixture
def blog_db(tmp_path, run_cql):
    """_User tom (20), jerry (17); Post 'Hello' by tom with nested meta."""
    db = tmp_path / "blog.db"
    r = run_cql("-e", "insert into _User (username, age) values ('tom', 20), ('jerry', 17)", str(db))
    assert r.returncode == 0, r.stderr
    tom = run_cql("--format", "csv", "-e", "select objectId from _User where username = 'tom'", str(db))
    tom = tom.stdout.splitlines()[1].split(",")[0]
    r = run_cql("-e", f"insert into Post (title, author, meta, tags) values ('Hello', pointer('_User', '{tom}'), "
                      "{'a': {'b': 3}}, [" + ", ".join(map(str, range(30))) + "])", str(db))
    assert r.returncode == 0, r.stderr
    return db


# -- bugs ------------------------------------------------------------------------

def test_dotted_columns_show_their_values(run_cql, blog_db):
    r = run_cql("-e", "select include author, title, author.username, meta.a.b from Post", str(blog_db))
    assert r.returncode == 0, r.stderr
    header, row = [line for line in r.stdout.splitlines() if line.startswith("|")][:3:2]
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["author.username"] == "tom" and cells["meta.a.b"] == "3"
    # an included object is readable: its fields, not cut JSON
    r = run_cql("-e", "select include author, title from Post", str(blog_db))
    assert re.search(r"\| <_User:[0-9a-f]{24} username: tom, age: 20, createdAt: 20[-0-9T:.]+Z, updatedAt: ", r.stdout)
    r = run_cql("--format", "csv", "-e", "select include author, author.username from Post", str(blog_db))
    header, row = list(csv.reader(io.StringIO(r.stdout)))
    assert dict(zip(header, row))["author.username"] == "tom"


def test_dotted_columns_in_result_rows(tmp_path, blog_db):
    import subprocess
    import sys
    probe = ("import cql, sys; r = cql.connect(sys.argv[1]).execute("
             "'select include author, title, author.username, meta.a.b from Post'); "
             "print(r.columns, r.rows[0][3:5])")
    out = subprocess.run([sys.executable, "-c", probe, str(blog_db)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "'author.username', 'meta.a.b'" in out.stdout and out.stdout.rstrip().endswith("('tom', 3)")


def test_a_count_is_printed_once(run_cql, blog_db):
    r = run_cql("-e", "select count(*) from Post", "-e", "select count(*) from Post\\G", str(blog_db))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("1") == 2 and r.stdout.splitlines() == ["count: 1", "count: 1"], r.stdout


def test_vertical_and_piped_output_show_whole_values(run_cql, blog_db):
    whole = json.dumps(list(range(30)), separators=(",", ":"))
    r = run_cql("-e", "select tags from Post\\G", "-e", "select tags from Post", "--format", "table",
                str(blog_db))
    assert r.returncode == 0, r.stderr
    assert f"tags: {whole}" in r.stdout                  # vertical
    assert f"| {whole} |" in r.stdout and "…" not in r.stdout  # a table on a pipe


def test_backslash_is_not_doubled_in_the_message(run_cql):
    r = run_cql("-e", "select \\ from T")
    assert r.returncode == 1
    assert "unexpected character '\\' after 'select'" in r.stderr, r.stderr


def test_did_you_mean_offers_only_real_commands(run_cql):
    typos = ((".sho", ".show"), (".headrs", ".headers"), (".dmp", ".dump"), (".shema", ".schema"),
             (".tabels", ".tables"), ("\\dtt", "\\dt"))
    r = run_cql("--continue-on-error", *[a for typo, _ in typos for a in ("-e", typo)], "-e", ".zzzz")
    assert r.returncode == 1
    said = re.findall(r"error: (unknown command .*)", r.stderr)
    assert said == [f"unknown command {typo}; did you mean {meant}? (.help lists the commands)"
                    for typo, meant in typos] + ["unknown command .zzzz (.help lists the commands)"], said


def test_a_near_miss_class_name_gets_a_note(run_cql, blog_db):
    r = run_cql("-e", "select count(*) from post", "-e", "select * from Posts", "-e", "select * from Comment",
                str(blog_db))
    assert r.returncode == 0, r.stderr  # a note, not an error
    assert "note: no class post (did you mean Post?)" in r.stderr
    assert "note: no class Posts (did you mean Post?)" in r.stderr
    assert "Comment" not in r.stderr  # nothing close: a new class is fine


def test_relations_example_shows_real_results(run_cql):
    r = run_cql("--format", "jsonl", "-f", os.path.join(ROOT, "examples", "relations.cql"))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    # every query of the example finds something
    titles = [o.get("title") or o.get("username") for o in rows]
    assert titles == ["Hello", "Hi", "Hello", "Hi", "Hello", "tom"], titles
    included = rows[2]
    assert included["author"]["__type"] == "Object" and included["author"]["username"] == "tom"


# -- habits ------------------------------------------------------------------------

def test_help_and_help_command(run_cql):
    r = run_cql("-e", "help", "-e", "help .schema", "-e", "help schema", "-e", "\\?", "-e", "help select",
                "-e", "help \\d")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(".describe [CLASS]") >= 2          # help and \? list everything
    assert r.stdout.count(".schema [CLASS]\n    Show the fields") == 2
    assert "select [count(*),] * | field" in r.stdout
    assert ".describe [CLASS] (also \\d, describe, desc)" in r.stdout


def test_psql_mysql_and_sqlite3_habits(run_cql, blog_db):
    lines = ["\\d", "\\d;", "\\dt", "show tables;", "SHOW TABLES", "show classes;", ".tables", ".classes",
             "\\d Post", "describe Post;", "desc Post", "DESC Post;", ".schema Post",
             "\\x", "select title from Post", "\\x", "select title from Post",
             ".mode line", "select title from Post", ".mode csv", ".headers off", "select title from Post",
             ".mode table", "select title from Post", ".headers on", ".show"]
    r = run_cql(*[a for line in lines for a in ("-e", line, "-e", ".print ---")], str(blog_db))
    assert r.returncode == 0, r.stderr
    out = dict(zip(range(len(lines)), r.stdout.split("---\n")))
    assert all(out[i] == "Post\n_User\n" for i in range(8)), out
    fields = out[8]
    assert fields.startswith("Post\n  objectId") and "  author     Pointer<_User>" in fields
    assert all(out[i] == fields for i in range(9, 13))
    assert "1. row" in out[14] and "1. row" not in out[16]             # \x toggles vertical
    assert out[18].count("title: Hello") == 1                           # sqlite3's mode name
    assert out[21].splitlines()[0].split(",")[1] == "Hello"             # .headers off: csv without names
    assert out[23].splitlines()[1].startswith("| ") and "title" not in out[23]
    assert out[25].splitlines()[1:4] == ["           format: table", "          headers: on",
                                          "    auto_vertical: on"]
    r = run_cql("-e", "\\q", "-e", "select nonsense", "-e", "quit", "-e", "zzz")
    assert r.returncode == 0 and r.stdout == r.stderr == ""
    for word in ("exit", ".quit", ".exit"):
        assert run_cql("-e", word, "-e", "zzz").returncode == 0


def test_dump_recreates_the_data(run_cql, tmp_path):
    src, dst = str(tmp_path / "src.db"), str(tmp_path / "dst.db")
    setup = [
        "insert into _User (username, age) values ('tom', 20), ('jerry', 17)",
        ".set tom select objectId from _User where username = 'tom'",
        ".set jerry select objectId from _User where username = 'jerry'",
        "insert into Post (k, title, author, pubTime, loc, tags, meta, b, f, n, fl, `order`) values "
        "(1, 'It''s \\\\ a\\nb\\t', pointer('_User', :tom), date('2015-06-21T18:02:52.249Z'), geopoint(116.4, 39.9), "
        "[1, 'a', date('2020-01-01T00:00:00Z')], {'k': {'p': pointer('_User', :jerry)}}, base64('aGVsbG8='), "
        "file('abc'), null, 2.0, 3)",
        ".set post select objectId from Post where k = 1",
        "update _User set best = pointer('Post', :post) where objectId = :jerry",             # a cycle
        "update Post set likes = op('AddRelation', {'objects': [pointer('_User', :tom), pointer('_User', :jerry)]}) "
        "where objectId = :post",
        "insert into Lone (a, s) values (1, 'x'), (2.5, 'y')",
        "insert into Nulls (x) values (null)",
    ]
    r = run_cql(*[a for s in setup for a in ("-e", s)], "--yes", src)
    assert r.returncode == 0, r.stderr
    r = run_cql("-e", ".dump", src)
    assert r.returncode == 0, r.stderr
    (tmp_path / "dump.cql").write_text(r.stdout)
    assert "objectId, createdAt and updatedAt are new" in r.stdout
    r = run_cql("-f", "dump.cql", dst)
    assert r.returncode == 0, r.stderr

    def snapshot(db):
        """Every object without its ids and times; pointers as the pointed object's name."""
        out = run_cql("--format", "jsonl", "-e", "select * from _User", "-e", "select * from Post",
                      "-e", "select * from Lone", "-e", "select * from Nulls", db)
        assert out.returncode == 0, out.stderr
        objs = [json.loads(line) for line in out.stdout.splitlines()]
        names = {o["objectId"]: o.get("username") or o.get("title") or o.get("a") for o in objs}

        def plain(v):
            if isinstance(v, dict) and v.get("__type") == "Pointer":
                return ("->", v["className"], names.get(v["objectId"]))
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list):
                return [plain(x) for x in v]
            return v
        return sorted(json.dumps({k: plain(v) for k, v in o.items()
                                  if k not in ("objectId", "createdAt", "updatedAt")}, sort_keys=True)
                      for o in objs)
    assert snapshot(src) == snapshot(dst)
    # relations: the same users like the post
    likes = {db: run_cql("--format", "csv", "-e", ".set p select objectId from Post where k = 1",
                         "-e", "select username from _User where related likes to pointer('Post', :p) "
                               "order by username", db).stdout.splitlines()
             for db in (src, dst)}
    assert [line.split(",")[1] for line in likes[src][1:]] == ["jerry", "tom"]
    assert [line.split(",")[1] for line in likes[dst][1:]] == ["jerry", "tom"]
    r = run_cql("-e", ".dump Lone", dst)
    assert "insert into Lone (a, s) values (1, 'x'), (2.5, 'y');" in r.stdout and "Post" not in r.stdout
    r = run_cql("-e", ".dump lone", dst)
    assert r.returncode == 1 and "no class lone; did you mean Lone?" in r.stderr


@pytest.mark.skipif(".indexes" not in commands.names(),
                    reason="sqlite3's .indexes is h9's .indexes command (indexes in the file), not merged yet")
def test_indexes_habit(run_cql, tmp_path):
    r = run_cql("-e", "insert into T (k) values (1)", "-e", ".index T k", "-e", ".indexes", str(tmp_path / "i.db"))
    assert r.returncode == 0, r.stderr
    assert "T.k" in r.stdout


def test_csv_export_import_keeps_every_type(run_cql, tmp_path):
    db = str(tmp_path / "t.db")
    r = run_cql("-e", "insert into Task (title, due, loc, owner, tags, meta, done, n, ratio, f, b) values "
                      "('a, \"quoted\"\nline', date('2026-03-01T09:30:00.000Z'), geopoint(116.4, 39.9), "
                      "pointer('_User', '6b0000000000000000000001'), [1, 'x', date('2020-01-01')], {'k': [true, null]}, true, 7, 2.5, "
                      "file('f1'), base64('aGk=')), ('b', date('2026-04-01T00:00:00.000Z'), null, null, [], {}, "
                      "false, 0, 1.0, null, null)",
                "-e", ".export Task out.csv", "-e", ".import out.csv Copy", db)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == \
        "string,object,boolean,date,file,geopoint,object,number,pointer:_User,number,array,string,date,date"
    r = run_cql("--format", "jsonl", "-e", "select * from Task order by title", "-e",
                "select * from Copy order by title", db)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    # a CSV cell cannot tell null from a missing field: both are empty (documented)
    strip = [{k: v for k, v in o.items() if k not in ("objectId", "createdAt", "updatedAt") and v is not None}
             for o in rows]
    assert strip[:2] == strip[2:] and strip[0]["due"]["__type"] == "Date" and strip[0]["n"] == 7
    assert isinstance(strip[2]["ratio"], float) and strip[2]["owner"]["__type"] == "Pointer"
    # createdAt/updatedAt of the file are dropped: the backend assigns them
    assert rows[0]["createdAt"] != rows[2]["createdAt"] or rows[0]["objectId"] != rows[2]["objectId"]


def test_plain_csv_types_from_the_header_the_class_or_the_whole_column(run_cql, tmp_path):
    (tmp_path / "a.csv").write_text("title,due:date,zip,score,ok\nx,2026-01-02,01234,1,true\ny,2026-02-03,99,2.5,false\n")
    (tmp_path / "b.csv").write_text("title,due,score\nz,2026-05-06T07:08:09Z,3\n")
    db = str(tmp_path / "p.db")
    r = run_cql("-e", ".import a.csv P", "-e", ".import b.csv P", "-e", ".schema P", db)
    assert r.returncode == 0, r.stderr
    assert "due        Date" in r.stdout and "zip        String" in r.stdout and "score      Number" in r.stdout
    assert "ok         Boolean" in r.stdout
    r = run_cql("--format", "jsonl", "-e", "select due, zip from P order by title", db)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["due"]["iso"] for o in rows] == ["2026-01-02T00:00:00.000Z", "2026-02-03T00:00:00.000Z",
                                               "2026-05-06T07:08:09.000Z"]   # b.csv: typed by the class
    assert [o.get("zip") for o in rows] == ["01234", "99", None]


def test_import_errors_name_the_file_line(run_cql, tmp_path):
    db = str(tmp_path / "m.db")
    assert run_cql("-e", "insert into M (name, score) values ('a', 1)", db).returncode == 0
    (tmp_path / "m.csv").write_text("name,score\nb,2\nc,n/a\n")
    r = run_cql("-e", ".import m.csv M", db)
    assert r.returncode == 1 and "m.csv:3: field score (number): 'n/a' is not a number" in r.stderr, r.stderr
    (tmp_path / "m.jsonl").write_text('{"name": "d", "score": 4}\n{"name": "e", "score": "five"}\n')
    r = run_cql("-e", ".import m.jsonl M", db)
    assert r.returncode == 1
    assert 'm.jsonl:2: field score: String "five", but M.score holds Number (error 111); nothing imported' \
        in r.stderr, r.stderr
    (tmp_path / "new.jsonl").write_text("".join(json.dumps({"v": i}) + "\n" for i in range(60)) + '{"v": "x"}\n')
    r = run_cql("-e", ".import new.jsonl N", db)   # a new class: the type is set by the file itself
    assert r.returncode == 1 and "new.jsonl:61: schema mismatch for N.v" in r.stderr, r.stderr
    assert "nothing was imported into N" in r.stderr, r.stderr  # the engine writes 10,000 rows a statement
    rows = 10_000 + 60
    (tmp_path / "big.jsonl").write_text("".join(json.dumps({"v": i}) + "\n" for i in range(rows)) + '{"v": "x"}\n')
    r = run_cql("-e", ".import big.jsonl B", db)
    assert r.returncode == 1 and f"big.jsonl:{rows + 1}: schema mismatch for B.v" in r.stderr, r.stderr
    assert f"10000 of {rows + 1} objects were imported into B before this error" in r.stderr, r.stderr
    assert run_cql("-e", "select count(*) from B", db).stdout == "count: 10000\n"
    r = run_cql("-e", "select count(*) from M", db)
    assert r.stdout == "count: 1\n"  # nothing of m.csv or m.jsonl was imported

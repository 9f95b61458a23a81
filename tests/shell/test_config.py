"""Issue 13: named queries and the config file, through the real program
(batch runs, and one pty session for what only the interactive shell does)."""
import json
import os
import re
import time

from cql.shell.config import KEYS, Settings

from .conftest import ROOT
from .test_repl_pty import Shell


# -- named queries ------------------------------------------------------------------

def test_named_queries_save_run_list_delete(run_cql, tmp_path):
    cfg = str(tmp_path / "cfg")
    db = str(tmp_path / "g.db")
    r = run_cql("-e", "insert into GameScore (player, score, at) values ('a', 10, date('2020-01-01')), "
                      "('b', 30, date('2021-01-01')), ('c', 20, date('2022-01-01'))",
                "-e", ".save top_scores select player, score from GameScore order by -score limit ?;",
                "-e", "\\ns by_player select score from GameScore where player = ?",
                "-e", ".save since select player from GameScore where at > ? and score > :min order by player",
                db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 0, r.stderr
    assert "saved top_scores: .run top_scores ARG" in r.stdout + r.stderr
    stored = json.loads((tmp_path / "cfg" / "cql" / "queries.json").read_text())
    assert stored["top_scores"] == "select player, score from GameScore order by -score limit ?"
    # a later process runs them with arguments: numbers, quoted text, typed values, variables
    r = run_cql("--format", "csv", "-e", ".run top_scores 2", "-e", "\\n by_player 'c'",
                "-e", ".set min 15", "-e", ".run since date('2020-06-01')", db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 0, r.stderr
    rows = [line.split(",")[1:-2] for line in r.stdout.splitlines() if not line.startswith("objectId")]
    assert rows == [["b", "30"], ["c", "20"], ["20"], ["b"], ["c"]], r.stdout
    r = run_cql("-e", ".queries", "-e", "\\n", "-e", "\\nd by_player", "-e", ".print ---", "-e", ".queries",
                db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 0 and "deleted by_player" in r.stderr, r.stderr
    listing = r.stdout.split("---")
    assert listing[0].count("by_player   select score from GameScore where player = ?") == 2
    assert "by_player" not in listing[1] and "top_scores" in listing[1]
    r = run_cql("-e", ".run top_scores", db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 1 and "top_scores: error 300" in r.stderr
    r = run_cql("-e", ".run top_score 1", db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 1 and "no named query top_score; did you mean top_scores?" in r.stderr
    r = run_cql("-e", ".save bad selec 1", db, XDG_CONFIG_HOME=cfg)
    assert r.returncode == 1 and "not saved: error 300" in r.stderr


def test_variables_are_bound_not_pasted(run_cql, tmp_path):
    r = run_cql("--format", "jsonl", "-e", ".set name 'O''Brien; drop'",
                "-e", "insert into P (name, note) values (:name, ':name stays text')",
                "-e", "select name, note from P where name = :name", "-e", ".set", str(tmp_path / "v.db"))
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.splitlines()[0])
    assert (row["name"], row["note"]) == ("O'Brien; drop", ":name stays text")
    assert r.stdout.splitlines()[-1] == ":name = 'O''Brien; drop'"
    r = run_cql("-e", "select * from P where name = :nobody", str(tmp_path / "v.db"))
    assert r.returncode == 1 and "no variable :nobody" in r.stderr


# -- the config file ------------------------------------------------------------------

def test_config_file_sets_defaults_and_flags_win(run_cql, tmp_path):
    (tmp_path / "cfg" / "cql").mkdir(parents=True)
    (tmp_path / "cfg" / "cql" / "config").write_text("[main]\nformat = csv\ntiming = on\nheaders = off\n")
    db = str(tmp_path / "c.db")
    r = run_cql("-e", "insert into T (k) values (1)", "-e", "select k from T", db, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"[0-9a-f]{24},1,\S+,\S+\n", r.stdout) and "Time: " in r.stderr  # csv, no header line
    r = run_cql("--format", "json", "-e", "select k from T", db, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert json.loads(r.stdout)[0]["k"] == 1
    (tmp_path / "other.ini").write_text("[main]\nformat = vertical\n")
    r = run_cql("--config", "other.ini", "-e", "select k from T", db, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert "k: 1" in r.stdout and "Time:" not in r.stderr


def test_config_mistakes_are_warnings_and_a_missing_file_is_an_error(run_cql, tmp_path):
    (tmp_path / "c.ini").write_text("[main]\nformat = xml\ncolour = on\n\n[other]\nx = 1\n")
    r = run_cql("--config", "c.ini", "-e", "select count(*) from T")
    assert r.returncode == 0, r.stderr
    assert "c.ini:2: format = xml: expected one of table, vertical" in r.stderr
    assert "c.ini:3: unknown key colour" in r.stderr and "section [other] is not used" in r.stderr
    assert r.stdout == "count: 0\n"
    r = run_cql("--config", "missing.ini", "-e", "select 1 from T")
    assert r.returncode == 2 and "cannot read the config file missing.ini" in r.stderr
    (tmp_path / "nohead.ini").write_text("format = csv\n")
    r = run_cql("--config", "nohead.ini", "-e", "select 1 from T")
    assert r.returncode == 2 and "not an INI file with a [main] section" in r.stderr


def test_readme_documents_every_config_key():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for key in KEYS:
        assert re.search(rf"^\| `{key}` \|", readme, re.M), key
    assert set(KEYS) == set(Settings.__dataclass_fields__)


def test_config_in_the_interactive_shell(tmp_path, run_cql):
    """One session: key_bindings, pager, history_file/history_size,
    confirm_threshold and auto_vertical from the file."""
    history = tmp_path / "h" / "hist"
    history.parent.mkdir()
    history.write_text("".join(f"\n# 2026-01-01 00:00:0{i}.000000\n+select {i} from Old;\n" for i in range(5)))
    (tmp_path / "c.ini").write_text(
        "[main]\nkey_bindings = vi\npager = sed 's/^/PAGED: /'\n"
        f"history_file = {history}\nhistory_size = 2\nconfirm_threshold = 5\nauto_vertical = off\n")
    values = ", ".join(f"({i}, '{'x' * 150}')" for i in range(60))
    assert run_cql("-e", f"insert into T (i, note) values {values}", str(tmp_path / "c.db")).returncode == 0
    s = Shell(tmp_path, "--config", "c.ini", str(tmp_path / "c.db"), CQL_HISTORY="", CQL_PAGER="", PAGER="cat")
    try:
        s.ready()
        assert history.read_text().count("\n# ") == 2  # trimmed to history_size at start
        s.type("delete from T where i < 3;\r")       # 3 <= confirm_threshold: no question
        out = s.expect(r"3 objects deleted|Continue\?")
        assert "Continue?" not in out
        s.type("select i, note from T order by i;\r")  # tall: through the configured pager
        out = s.expect(r"PAGED: 57 rows")
        assert re.search(r"PAGED: \| [0-9a-f]{24} \| +3 \| x{100,}… \|", out), out[-400:]  # wide: a table cut to the terminal
        s.child.send("\x1b")                           # vi: normal mode, k = previous entry
        time.sleep(0.3)
        s.type("k")
        time.sleep(0.3)
        s.child.send("\r")
        s.expect(r"PAGED: 57 rows")
        assert "select i, note from T order by i;" in history.read_text()
        assert s.quit() == 0
    finally:
        if s.child.isalive():
            s.child.terminate(force=True)


def test_no_color_is_honoured(tmp_path):
    s = Shell(tmp_path, NO_COLOR="1")
    try:
        s.ready()
        s.type("select * frm T;\r")
        s.expect(r"\^")
        s.type("select 1")
        s.drain(0.5)
        colours = [p for sgr in re.findall(r"\x1b\[([0-9;]*)m", s.raw) for p in sgr.split(";")
                   if re.fullmatch(r"3[0-9]|9[0-7]|4[0-9]", p)]
        assert not colours, repr(s.raw[-300:])  # no colour at all
    finally:
        s.child.terminate(force=True)


def test_syntax_style_changes_the_colours(tmp_path):
    def colours(*args):
        s = Shell(tmp_path, *args)
        try:
            s.ready()
            s.type("select 1")
            s.drain(0.6)
            return set(re.findall(r"\x1b\[[0-9;]*m", s.raw))
        finally:
            s.child.terminate(force=True)
    (tmp_path / "m.ini").write_text("[main]\nsyntax_style = monokai\n")
    assert colours() != colours("--config", "m.ini")

"""The interactive shell, driven in a real pseudo-terminal (pexpect) the way a
person uses it: multi-line input, Tab completion, Ctrl-R history search,
Ctrl-C, the confirmation question, highlighting."""
import re
import sys
import time

import pexpect
import pytest

from .conftest import cql_env

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>()][0-9A-Za-z]?|\x1b\][^\x07]*\x07")


class Shell:
    """A running `python -m cql` in a pty; ``expect`` matches on the output
    with terminal escapes removed."""

    def __init__(self, tmp_path, *args, **env):
        full_env = cql_env(tmp_path, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40", **env)
        self.child = pexpect.spawn(sys.executable, ["-m", "cql", *args], env=full_env, cwd=str(tmp_path),
                                   dimensions=(40, 120), encoding="utf-8", timeout=30)
        self.raw = ""
        self.pos = 0  # position in the cleaned text already matched

    def clean(self):
        return ANSI.sub("", self.raw).replace("\r", "")

    def expect(self, pattern, timeout=30):
        """Wait for ``pattern`` after the last match; the text up to it."""
        deadline = time.time() + timeout
        regex = re.compile(pattern)
        while True:
            text = self.clean()
            m = regex.search(text, self.pos)
            if m:
                seen = text[self.pos:m.end()]
                self.pos = m.end()
                return seen
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; output so far:\n{text[-3000:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                if not regex.search(self.clean(), self.pos):
                    raise AssertionError(f"exited before {pattern!r}; output:\n{self.clean()[-3000:]}")

    def screen(self):
        """The lines the terminal shows now (a VT100 emulator fed everything
        received: prompt_toolkit redraws only what changed, so the stream
        itself does not read as lines)."""
        import pyte
        screen = pyte.Screen(120, 40)
        pyte.Stream(screen).feed(self.raw)
        return [line.rstrip() for line in screen.display]

    def expect_screen(self, pattern, timeout=30):
        """Wait until a line of the screen matches ``pattern``; that line."""
        deadline = time.time() + timeout
        regex = re.compile(pattern)
        while True:
            for line in self.screen():
                if regex.search(line):
                    return line
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r} on the screen:\n" + "\n".join(self.screen()))
            self.drain(0.2)

    def drain(self, seconds):
        """Collect output for a while."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.1)
            except (pexpect.TIMEOUT, pexpect.EOF):
                pass

    def type(self, text, pause=0.02):
        """Type like a person: one key at a time."""
        for ch in text:
            self.child.send(ch)
            time.sleep(pause)

    def ready(self):
        self.expect(r"Ctrl-D exits")

    def quit(self):
        self.child.send("\x04")
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def shell(tmp_path):
    shells = []

    def start(*args, **env):
        s = Shell(tmp_path, *args, **env)
        shells.append(s)
        s.ready()
        return s
    yield start
    for s in shells:
        if s.child.isalive():
            s.child.terminate(force=True)


def test_multi_line_statement_runs_at_the_semicolon(shell, todo_db):
    s = shell(str(todo_db))
    s.type("select title, n\r")
    s.expect(r"\.\.\.>")
    s.type("from Todo where n = 1;\r")
    out = s.expect(r"1 row")
    assert "买牛奶" in out and "| title" in out
    assert s.quit() == 0


def test_pasted_statements_all_run(shell, tmp_path):
    s = shell()
    s.child.send("insert into P (k) values (1); insert into P (k) values (2);\rselect count(*) from P;\r")
    s.expect(r"count: 2")
    assert s.quit() == 0


def test_tab_completes_a_class_and_a_field(shell, todo_db):
    s = shell(str(todo_db))
    s.type("select * from To")
    time.sleep(0.6)
    s.type("\t")
    time.sleep(0.6)
    s.type(" where ti")
    time.sleep(0.6)
    s.type("\t")
    time.sleep(0.6)
    s.type(" = 'b';\r")
    out = s.expect(r"\d+ rows?\b")
    assert out.rstrip().endswith("1 row"), out
    assert "| b " in out
    assert s.quit() == 0


def test_ctrl_r_finds_a_statement_from_an_earlier_session(shell, todo_db):
    first = shell(str(todo_db))
    first.type("select title from Todo where n = 2;\r")
    first.expect(r"1 row")
    assert first.quit() == 0
    second = shell(str(todo_db))
    second.child.send("\x12")  # Ctrl-R
    second.type("n = 2")
    second.expect(r"reverse-i-search")
    second.child.send("\r")
    time.sleep(0.3)
    second.child.send("\r")
    out = second.expect(r"1 row")
    assert "| b " in out
    assert second.quit() == 0


def test_ctrl_c_interrupts_a_long_script_and_returns_to_the_prompt(shell, tmp_path):
    script = tmp_path / "big.cql"
    script.write_text("".join(f"insert into Big (i) values ({i});\n" for i in range(50000)))
    s = shell(str(tmp_path / "big.db"))
    s.type(".read big.cql\r")
    time.sleep(1.5)
    s.child.send("\x03")
    s.expect(r"interrupted")
    s.type("select count(*) from Big;\r")
    out = s.expect(r"count: \d+")
    n = int(re.findall(r"count: (\d+)", out)[-1])
    assert 0 < n < 50000
    assert s.quit() == 0


def test_ctrl_c_clears_the_input(shell, todo_db):
    s = shell(str(todo_db))
    s.type("select nonsense from")
    s.child.send("\x03")
    time.sleep(0.2)
    s.type("select count(*) from Todo;\r")
    s.expect(r"count: 2")
    assert s.quit() == 0


def test_bulk_delete_asks_and_no_leaves_the_data(shell, todo_db):
    s = shell(str(todo_db))
    s.type("delete from Todo where n > 0;\r")
    s.expect(r"This will delete 2 objects in Todo\. Continue\? \[y/N\]")
    s.type("n\r")
    s.expect(r"cancelled; nothing changed")
    s.type("select count(*) from Todo;\r")
    s.expect(r"count: 2")
    # pinned to one objectId: no question
    s.type("update Todo set n = 9 where objectId = 'ffffffffffffffffffffffff';\r")
    out = s.expect(r"error|updated")
    assert "Continue?" not in out
    assert s.quit() == 0


def test_keywords_are_highlighted_only_with_colour(shell, tmp_path):
    colour_select = re.compile(r"\x1b\[[0-9;]*m(s\x1b\[[0-9;]*m)?select")
    coloured = shell()
    coloured.type("select 1")
    coloured.drain(0.8)
    assert colour_select.search(coloured.raw), repr(coloured.raw[-500:])
    coloured.child.send("\x03")
    assert coloured.quit() == 0
    plain = shell("--no-color")
    plain.type("select 1")
    plain.drain(0.8)
    assert "select" in plain.raw and not colour_select.search(plain.raw.replace("\x1b[0m", ""))
    plain.child.send("\x03")
    assert plain.quit() == 0


def test_error_shows_a_caret_and_the_shell_goes_on(shell):
    s = shell()
    s.type("select * frm T;\r")
    out = s.expect(r"\^")
    assert "error 300" in out and "select * frm T;" in out
    lines = out.splitlines()
    caret_line = next(line for line in reversed(lines) if line.strip() == "^")
    assert caret_line.index("^") == "select * frm T;".index("frm")
    s.type(".classes\r")
    s.expect(r"no classes yet")
    assert s.quit() == 0


def test_completion_learns_classes_and_fields_written_in_the_session(shell):
    s = shell()
    s.type("insert into Fresh (zebra) values (1), (2);\r")
    s.expect(r"2 objects inserted")
    s.type("select * from Fr")
    time.sleep(0.6)
    s.type("\t")
    time.sleep(0.6)
    s.type(" where ze")
    time.sleep(0.6)
    s.type("\t")
    time.sleep(0.6)
    s.type(" = 2;\r")
    out = s.expect(r"\d+ rows?\b|error")
    assert out.rstrip().endswith("1 row"), out
    assert s.quit() == 0


def test_rows_wider_than_the_terminal_turn_vertical(shell):
    s = shell()
    s.type("insert into W (note) values ('" + "x" * 150 + "');\r")
    s.expect(r"1 object inserted")
    s.type("select * from W;\r")
    out = s.expect(r"1 row\b")
    assert "1. row" in out and "note: " + "x" * 150 in out


def test_interactive_import_shows_progress_in_rows(shell, tmp_path):
    import json
    (tmp_path / "many.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(3000)))
    s = shell(CQL_PROGRESS_DELAY="0")
    s.type(".import many.jsonl Many\r")
    s.expect(r"3000 objects imported into Many")
    # rows (not batches), with their rate and the time left
    assert re.search(r"importing into Many \[#* *\] \d+/3000 rows  \d+ rows/s  eta \d+:\d\d", s.clean()), s.clean()
    s.type("select count(*) from Many;\r")
    s.expect(r"count: 3000")
    assert s.quit() == 0


def test_output_taller_than_the_screen_goes_through_the_pager(shell):
    s = shell(PAGER="sed 's/^/PAGED: /'", CQL_PAGER="")
    values = ", ".join(f"({i})" for i in range(60))
    s.type(f"insert into Tall (i) values {values};\r")
    s.expect(r"60 objects inserted")
    s.type("select i from Tall order by i limit 5;\r")
    out = s.expect(r"5 rows")
    assert "PAGED" not in out  # short output: printed directly
    s.type("select i from Tall order by i;\r")
    out = s.expect(r"PAGED: 60 rows")
    assert re.search(r"PAGED: \| [0-9a-f]{24} +\| +59 \|", out), out[-500:]
    assert s.quit() == 0


def test_piped_script_asks_on_the_terminal(tmp_path, todo_db):
    """stdin is a pipe but a terminal exists: the question goes to /dev/tty."""
    env = cql_env(tmp_path, TERM="xterm")
    child = pexpect.spawn("/bin/sh", ["-c", f"echo 'delete from Todo where n > 0;' | {sys.executable} -m cql {todo_db}"],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30)
    child.expect(r"This will delete 2 objects in Todo\. Continue\? \[y/N\]")
    child.sendline("n")
    child.expect("cancelled; nothing changed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    again = pexpect.spawn(sys.executable, ["-m", "cql", "--yes", "-e", "delete from Todo where n > 0", str(todo_db)],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30)
    again.expect("2 objects deleted")  # --yes: no question
    again.expect(pexpect.EOF)


def test_long_batch_script_shows_progress_on_a_terminal(tmp_path):
    (tmp_path / "long.cql").write_text("".join(f"insert into L (i) values ({i});\n" for i in range(8000)))
    # The engine runs these 8000 inserts in well under the default one-second
    # delay, so the bar is asked for at once.
    env = cql_env(tmp_path, TERM="xterm", CQL_PROGRESS_DELAY="0")
    child = pexpect.spawn(sys.executable, ["-m", "cql", "--format", "json", "-f", "long.cql", str(tmp_path / "l.db")],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=120)
    child.expect(r"\] \d+/8000 statements")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_history_suggestion_is_accepted_with_the_right_arrow(shell, todo_db):
    first = shell(str(todo_db))
    first.type("select title from Todo where n = 2;\r")
    first.expect(r"1 row")
    assert first.quit() == 0
    second = shell(str(todo_db))
    second.type("select title fr")
    time.sleep(0.3)
    second.child.send("\x1b[C")  # Right arrow takes the grey suggestion from history
    time.sleep(0.3)
    second.child.send("\r")
    out = second.expect(r"\d+ rows?\b|error")
    assert out.rstrip().endswith("1 row") and "| b " in out, out
    assert second.quit() == 0


def test_vi_key_bindings(shell, todo_db):
    s = shell("--vi", str(todo_db))
    s.type("select count(*) from Todo;\r")
    s.expect(r"count: 2")
    s.child.send("\x1b")  # normal mode
    time.sleep(0.3)
    s.type("k")           # previous history entry
    time.sleep(0.3)
    s.child.send("\r")
    s.expect(r"count: 2")
    assert s.quit() == 0


# -- issue 13: what a new user hit ------------------------------------------------

def screen_lines(raw):
    """The lines a terminal shows for ``raw`` (carriage returns overwrite,
    ESC[K erases to the end of the line, other escapes are dropped)."""
    lines, line, col = [], [], 0
    for token in re.findall(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>()][0-9A-Za-z]?|\r|\n|[^\x1b\r\n]", raw):
        if token == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif token == "\r":
            col = 0
        elif token == "\x1b[K":
            del line[col:]
        elif token.startswith("\x1b"):
            continue
        else:
            line[col:col + 1] = [token]
            col += 1
    lines.append("".join(line))
    return lines


def write_history(path, *entries):
    path.write_text("".join(f"\n# 2026-01-01 00:00:00.000000\n+{e}\n" for e in entries))


def test_ctrl_r_shows_its_match_while_searching(shell, tmp_path, todo_db):
    """Typing after Ctrl-R shows the entry found (it was blanked when the
    search text was not itself a complete input)."""
    write_history(tmp_path / "history", "select count(*) from Todo where n = 2;", "select 1 from Other;")
    s = shell(str(todo_db))
    s.child.send("\x12")  # Ctrl-R
    s.type("Todo where")
    s.expect_screen(r"reverse-i-search\)`Todo where': select count\(\*\) from Todo where n = 2;")
    s.child.send("\r")   # take the match into the input
    time.sleep(0.3)
    s.child.send("\r")   # and run it
    s.expect(r"count: 1")
    assert s.quit() == 0


def test_a_long_line_the_terminal_wraps_gets_no_continuation_prompt(shell):
    s = shell()
    s.child.send("select * from Wide where title = '" + "w" * 130 + "'")  # pasted: typing is slow
    s.expect_screen(r"^w+'$")  # the rest of the line, wrapped, at the left edge
    assert not any("...>" in line for line in s.screen())
    s.type(";\r")
    s.expect(r"\d+ rows?\b")
    assert s.quit() == 0


def test_an_open_quote_shows_in_the_prompt_with_a_way_out(shell, todo_db):
    s = shell(str(todo_db))
    s.type("select * from Todo where title = 'it''s\r")
    assert s.expect_screen(r"^ *'> *$")  # which quote is open, as psql/mysql show it
    s.expect_screen(r"open ': close it with ', or Ctrl-C to cancel")  # and how to get out
    assert not any("...>" in line for line in s.screen())
    s.child.send("\x03")
    time.sleep(0.3)
    s.type("select count(*) from Todo;\r")
    s.expect(r"count: 2")
    assert s.quit() == 0


def test_keys_typed_during_an_import_run_after_it(shell, tmp_path):
    """Type-ahead while a long .import runs is kept (the progress line only
    writes; it never reads the terminal)."""
    import json
    (tmp_path / "big.jsonl").write_text("".join(json.dumps({"i": i, "s": "x" * 20}) + "\n" for i in range(40000)))
    s = shell()
    s.type(".import big.jsonl Big\r")
    time.sleep(0.3)
    s.type("select count(*) from Big;\r")
    s.expect(r"40000 objects imported into Big", timeout=120)
    s.expect(r"count: 40000", timeout=60)
    assert s.quit() == 0


def test_a_single_object_write_does_not_ask(shell, todo_db):
    """Only a statement touching more than one object asks (confirm_threshold 1)."""
    s = shell(str(todo_db))
    s.type("update Todo set n = 5 where n = 1;\r")
    out = s.expect(r"1 object updated|Continue\?")
    assert "Continue?" not in out
    s.type("delete from Todo where n > 0;\r")
    s.expect(r"This will delete 2 objects in Todo\. Continue\? \[y/N\]")
    s.type("n\r")
    s.expect(r"cancelled; nothing changed")
    assert s.quit() == 0


def test_the_progress_line_is_cleared_before_the_question_and_results(tmp_path, todo_db):
    """The bar never shares a line with the confirmation question, nor with
    the results printed meanwhile."""
    script = "delete from Todo where n > 0;\n" + "".join(f"insert into L (i) values ({i});\n" for i in range(3000))
    (tmp_path / "s.cql").write_text(script)
    env = cql_env(tmp_path, TERM="xterm", CQL_PROGRESS_DELAY="0")
    child = pexpect.spawn(sys.executable, ["-m", "cql", "-f", "s.cql", str(todo_db)], env=env, cwd=str(tmp_path),
                          encoding="utf-8", timeout=120)
    child.expect(r"Continue\? \[y/N\] ")
    raw = child.before + child.after
    assert "statements" in raw  # the bar was drawn before the question
    question = next(line for line in screen_lines(raw) if "Continue?" in line)
    assert question.startswith("This will delete 2 objects"), question
    child.sendline("n")
    child.expect(pexpect.EOF)
    raw += child.before
    mixed = [line for line in screen_lines(raw) if "statements" in line and "inserted" in line]
    assert not mixed, mixed[:3]


def test_habits_run_on_enter_and_never_wait_for_more(shell, todo_db):
    """psql/mysql/sqlite3 habits typed at the prompt, without ';': each runs
    at once (no '...>'), and \\q leaves."""
    s = shell(str(todo_db))
    for line, answer in (("help", r"\.describe \[CLASS\]"), ("help \\d", r"also \\d, describe, desc"),
                         ("\\?", r"\.dropquery NAME"), ("\\d", r"\nTodo\n"), ("\\dt", r"\nTodo\n"),
                         ("show tables", r"\nTodo\n"), ("SHOW CLASSES", r"\nTodo\n"),
                         ("\\d Todo", r"title +String"), ("describe Todo", r"title +String"),
                         ("desc Todo", r"title +String"), ("\\x", r"vertical output is on"),
                         ("select title from Todo where n = 1;", r"title: 买牛奶"), ("\\x", r"vertical output is off"),
                         (".headers off", r"cql>"), (".mode csv", r"cql>"),
                         ("select title from Todo where n = 1;", r"\n[0-9a-f]{24},买牛奶,"),
                         (".dump Todo", r"insert into Todo \(title, n\) values \('买牛奶', 1\), \('b', 2\);")):
        s.type(line + "\r")
        out = s.expect(answer)
        assert "...>" not in out, (line, out)
        s.expect(r"cql>")
    s.type("\\q\r")
    s.child.expect(pexpect.EOF, timeout=30)
    s.child.close()
    assert s.child.exitstatus == 0

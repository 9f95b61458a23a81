"""REPL pieces that need no terminal: when Enter runs the buffer, where the
history lives, how an error is laid out."""
from cql import errors
from cql.shell.repl import buffer_complete, history_path
from cql.shell.session import format_error
from cql.splitter import split


def test_enter_runs_complete_statements_and_dot_commands():
    assert buffer_complete("select * from T;")
    assert buffer_complete("select * from T\nwhere x = 1;  ")
    assert buffer_complete("select * from T\\G")
    assert buffer_complete(".schema")
    assert buffer_complete("")
    assert buffer_complete("exit")
    assert not buffer_complete("select * from T")
    assert not buffer_complete("select * from T where s = 'a;")
    assert not buffer_complete("select 1 /* ; */")
    assert buffer_complete("select 1; /* done */")


def test_history_location(monkeypatch, tmp_path):
    monkeypatch.delenv("CQL_HISTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert history_path() == str(tmp_path / "cql" / "history")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == str(tmp_path / ".local" / "share" / "cql" / "history")
    monkeypatch.setenv("CQL_HISTORY", str(tmp_path / "h"))
    assert history_path() == str(tmp_path / "h")


def test_error_position_is_made_absolute():
    source = "select 1 from A;\n  select * frm B;"
    piece = split(source)[1]
    exc = errors.CQLSyntaxError("expected FROM", line=1, column=10)
    text = format_error(exc, piece, source, "f.cql")
    assert text.splitlines() == ["f.cql:2:12: error 300: expected FROM", "  select * frm B;", " " * 11 + "^"]
    # in the REPL (no name) the head has no location, the caret stays
    assert format_error(exc, piece, source, None).splitlines()[0] == "error 300: expected FROM"


def test_caret_under_wide_characters():
    source = "select * from T where 名字 = x y"
    exc = errors.CQLSyntaxError("unexpected", line=1, column=len("select * from T where 名字 = x ") + 1)
    lines = format_error(exc, split(source)[0], source, None).splitlines()
    assert lines[2].index("^") == len("select * from T where ") + 4 + len(" = x ")

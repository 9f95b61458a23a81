"""The lexical splitter: statements, positions, quotes, comments, completeness."""
from hypothesis import given, strategies as st

from cql.splitter import is_complete, open_construct, split


def texts(script):
    return [p.text for p in split(script)]


def test_splits_on_semicolons_and_drops_blank_pieces():
    assert texts("select * from A; ;  select * from B;") == ["select * from A", "select * from B"]


def test_semicolons_inside_quotes_and_names_do_not_split():
    script = """select * from A where x = 'a;b' and y = "c;d" and `we;ird` = 1; select 1"""
    assert texts(script) == ["""select * from A where x = 'a;b' and y = "c;d" and `we;ird` = 1""", "select 1"]


def test_doubled_and_backslash_escaped_quotes():
    script = """insert into A(s) values ('it''s; ok'), ('a\\'; b'), ("x"";y"); select 2"""
    assert len(split(script)) == 2
    assert split(script)[0].text.endswith("""("x"";y")""")


def test_comments_hide_semicolons_and_are_trimmed():
    script = "-- lead; \nselect 1 -- tail;\n// x;\n; /* a ; b */ select 2 /* c */"
    assert texts(script) == ["select 1", "select 2"]


def test_positions_are_absolute_and_one_based():
    script = "select 1;\n\n  update B set x = 1;  delete from C"
    p = split(script)
    assert [(x.line, x.column) for x in p] == [(1, 1), (3, 3), (3, 24)]
    assert script[p[2].offset:].startswith("delete")
    assert [x.terminated for x in p] == [True, True, False]


def test_backslash_g_ends_a_statement_vertically():
    p = split("select * from A\\G select 1;")
    assert [(x.text, x.vertical) for x in p] == [("select * from A", True), ("select 1", False)]


def test_dot_commands_only_at_statement_start():
    p = split(".format csv\nselect 1 from A where x = 1.5; .timing on\n", dot_commands=True)
    assert [(x.text, x.dot) for x in p] == [(".format csv", True), ("select 1 from A where x = 1.5", False),
                                           (".timing on", True)]
    # without the option a leading dot is just text
    assert split(".format csv")[0].dot is False


def test_is_complete():
    assert is_complete("select 1;")
    assert is_complete("select 1;  -- done")
    assert is_complete("select * from A\\G")
    assert not is_complete("select 1")
    assert not is_complete("select ';")
    assert not is_complete("select 1 /* ; */")
    assert not is_complete("select 1; /* open")
    assert not is_complete("")
    assert is_complete(".schema", dot_commands=True)
    assert open_construct("select 'abc") == "'"
    assert open_construct("select 1 /* x") == "/*"


@given(st.lists(st.sampled_from(["select", " ", ";", "'", '"', "`", "--", "/*", "*/", "\n", "a", "\\", "//", "."]),
                max_size=30))
def test_any_text_splits_without_error_and_pieces_are_substrings(parts):
    text = "".join(parts)
    for piece in split(text, dot_commands=True):
        assert text[piece.offset:piece.offset + len(piece.text)] == piece.text
        assert piece.text and not piece.text[0].isspace()

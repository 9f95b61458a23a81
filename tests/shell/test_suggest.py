"""suggest(): what kind of token comes at the cursor (pure, no metadata)."""
import pytest

from cql.shell.suggest import statement_class, suggest


def types(text, full=None):
    return [s["type"] for s in suggest(text, full)]


@pytest.mark.parametrize("text", ["select * from ", "SELECT * FROM Ga", "insert into ", "update ",
                                  "delete from ", "select * from A where f in (select * from "])
def test_class_after_from_into_update(text):
    assert types(text) == ["class"]


@pytest.mark.parametrize("text,cls", [
    ("select * from GameScore where ", "GameScore"),
    ("select * from GameScore where score > 1 and pl", "GameScore"),
    ("update Foo set ", "Foo"),
    ("update Foo set a = 1, ", "Foo"),
    ("insert into Foo (", "Foo"),
    ("insert into Foo (a, ", "Foo"),
    ("select * from `order` order by ", "order"),
])
def test_fields_of_the_class(text, cls):
    s = suggest(text)
    assert s[0] == {"type": "field", "class": cls}


def test_select_list_uses_the_from_after_the_cursor():
    s = suggest("select na", "select na from Player where x = 1")
    assert s[0] == {"type": "field", "class": "Player"}
    assert {"type": "function"} in s


def test_statement_start_offers_statement_keywords():
    assert suggest("") == [{"type": "keyword", "only": ["select", "insert", "update", "delete"]}]
    assert suggest("select 1; up")[0]["only"][2] == "update"


def test_after_class_name_offers_clause_keywords():
    assert suggest("select * from GameScore ")[0]["only"] == ["where", "limit", "order"]
    assert suggest("update GameScore ")[0]["only"] == ["set"]
    assert suggest("delete ")[0]["only"] == ["from"]


def test_nothing_inside_strings_and_comments():
    assert suggest("select * from A where x = 'ab") == []
    assert suggest("select * from A -- note") == []
    assert suggest("select * from A /* note") == []


def test_dot_commands():
    assert types(".") == ["command"]
    assert types(".sch") == ["command"]
    assert types(".schema ") == ["class"]
    assert types(".import data.json ") == ["class"]
    assert types(".import da") == ["file"]
    assert types(".format ") == ["format"]
    assert types(".timing ") == ["onoff"]
    assert types(".explain select * from ") == ["class"]
    assert types("select 1;\n.sch") == ["command"]
    # the habits complete their arguments too
    assert types("\\d ") == types("describe Ga") == types("DESC ") == ["class"]
    assert types(".run ") == types("\\nd ") == ["query"]
    assert types("\\d") == [] and types("desc") == []


def test_statement_class():
    assert statement_class("select * from A where x in (select y from B)", cursor=5) == "A"
    assert statement_class("select * from A where x in (select y from B where ", cursor=48) == "B"
    assert statement_class("select 1") is None

"""The pygments lexer: registered as `cql` (pygmentize -l cql) and tokenising
keywords, functions, strings, comments, placeholders and dot commands."""
import subprocess
import sys

from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, Number, String

from cql.shell.lexer import CQLLexer


def tokens(text):
    return [(t, v) for t, v in CQLLexer().get_tokens(text) if v.strip()]


def test_registered_as_a_pygments_lexer():
    assert isinstance(get_lexer_by_name("cql"), CQLLexer)


def test_pygmentize_highlights_cql():
    r = subprocess.run([sys.executable, "-m", "pygments", "-l", "cql", "-f", "terminal"],
                       input="select * from T -- c\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "\x1b[" in r.stdout and "select" in r.stdout


def test_token_kinds():
    toks = dict((v, t) for t, v in tokens(
        "SELECT count(*) FROM `order` WHERE s = 'it''s' AND n > 1.5e3 AND d = date(?) /* x */ -- y"))
    assert toks["SELECT"] in Keyword and toks["FROM"] in Keyword and toks["AND"] in Keyword
    assert toks["count"] in Name.Function and toks["date"] in Name.Function
    assert toks["`order`"] in Name and toks["s"] in Name
    assert toks["'it''s'"] in String
    assert toks["1.5e3"] in Number
    assert toks["?"] in Name.Variable
    assert toks["/*"] in Comment and toks["-- y"] in Comment


def test_dot_command_line():
    assert tokens(".schema GameScore")[0] == (Keyword.Pseudo, ".schema")


def test_every_keyword_is_a_keyword():
    from cql.keywords import KEYWORDS
    for word in KEYWORDS:
        kind = tokens(f"x {word} y")[1][0]
        assert kind in Keyword, (word, kind)


def test_every_distance_unit_the_parser_accepts_is_highlighted():
    import cql
    from cql.keywords import DISTANCE_UNITS
    for unit in ("km", "kilometer", "kilometers", "mi", "mile", "miles", "rad", "radian", "radians"):
        text = f"select * from C where loc near [1, 2] max 1 {unit}"
        assert cql.parse(text)  # the parser takes it ...
        assert tokens(text)[-1] == (Keyword.Type, unit)  # ... and the shell highlights it
    assert set(DISTANCE_UNITS) == {"km", "kilometer", "kilometers", "mi", "mile", "miles",
                                   "rad", "radian", "radians"}

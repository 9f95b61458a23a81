"""The parser: AST shape and positions, names, strings, comments, scripts, cache, errors."""
import glob
import os
import re

import pytest

import cql
from cql import ast, parser
from cql.keywords import FUNCTIONS, KEYWORDS
from cql.lalr import FastParser
from cql.planner import plan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(text):
    [stmt] = cql.parse(text)
    return stmt


def error(text, *params):
    with pytest.raises(cql.CQLError) as info:
        cql.explain(text, *params)
    return info.value


# ---- AST ---------------------------------------------------------------------------------------
def test_select_ast():
    s = one("select a, count(*) from C where x > ? order by -a limit 5")
    assert s == ast.Select("C", (ast.Column("a"), ast.Count()),
                           ast.Compare("x", ">", ast.Param(0)), ast.Literal(5), None,
                           (ast.OrderItem("a", True),), param_count=1)


def test_insert_update_delete_ast():
    assert one("insert into C(a, b) values (1, ?)") == ast.Insert(
        "C", ("a", "b"), ((ast.Literal(1), ast.Param(0)),), param_count=1)
    assert one("update C set a = 1 where b = 2") == ast.Update(
        "C", (("a", ast.Literal(1)),), ast.Compare("b", "=", ast.Literal(2)))
    assert one("delete from C") == ast.Delete("C")


def test_nodes_are_frozen():
    s = one("select * from C")
    with pytest.raises(Exception):
        s.class_name = "D"


def test_positions_line_column_offset():
    text = "select *\n  from C\n where  score >= 10 and\n\tname = 'x'"
    s = one(text)
    assert (s.line, s.column, s.offset) == (1, 1, 0)
    first, second = s.where.items
    assert (first.line, first.column, first.offset) == (3, 9, text.index("score"))
    assert (first.value.line, first.value.column) == (3, 18)
    assert (second.line, second.column, second.offset) == (4, 2, text.index("name"))


def test_statement_text_in_script():
    text = "select * from A;\n  delete from B where x = 1 ; update C set a = 1"
    a, b, c = cql.parse(text)
    assert a.text == "select * from A"
    assert b.text.strip() == "delete from B where x = 1"
    assert (b.line, b.column) == (2, 3)
    assert c.text == "update C set a = 1"


# ---- keywords and names ---------------------------------------------------------------------------
def test_keywords_are_case_insensitive():
    assert one("SeLeCt * FrOm C WhErE a IS NOT EXISTS Order By b DeSc LiMiT 1") == \
        one("select * from C where a is not exists order by b desc limit 1")


def test_names_are_case_sensitive():
    assert one("select Name from Todo").items == (ast.Column("Name"),)
    assert one("select name from todo").class_name == "todo"


def test_backtick_names_allow_reserved_words():
    s = one("select `select`, `from` from `where` where `and` = 1 order by `order`")
    assert s.class_name == "where"
    assert s.items == (ast.Column("select"), ast.Column("from"))
    assert s.where == ast.Compare("and", "=", ast.Literal(1))
    assert s.order == (ast.OrderItem("order"),)


def test_keywords_are_names_where_no_keyword_fits():
    s = one("select * from C where limit = 1 and desc = 2 order by count")
    assert s.where == ast.And((ast.Compare("limit", "=", ast.Literal(1)), ast.Compare("desc", "=", ast.Literal(2))))
    assert s.order == (ast.OrderItem("count"),)


def test_system_classes_start_with_underscore():
    for name in ("_User", "_File", "_Role", "_Installation"):
        assert one(f"select * from {name}").class_name == name


def test_dotted_paths():
    s = one("select include author.profile.avatar from Post where author.name = 'x'")
    assert s.items == (ast.Include("author.profile.avatar"),)
    assert s.where.field == "author.name"


@pytest.mark.parametrize("text,code", [
    ("select * from 分数", 103),
    ("select * from `分数`", 103),
    ("insert into 表(a) values (1)", 103),
    ("select 分数 from C", 105),
    ("select * from C where 标题 = 'x'", 105),
    ("select * from C where `标题` = 'x'", 105),
    ("select * from C order by 分数", 105),
    ("update C set 名字 = 1", 105),
    ("insert into C(名字) values (1)", 105),
    ("select _private from C", 105),
    ("select * from C where _a = 1", 105),
    ("select * from C where a._b = 1", 105),
    ("select * from `1abc`", 103),
    ("select `` from C", 105),
])
def test_bad_names(text, code):
    err = error(text)
    assert err.code == code
    assert err.line == 1 and err.column is not None
    assert "name" in err.message


def test_non_ascii_name_error_says_so():
    err = error("select * from C where 标题 = 'x'")
    assert "ASCII" in err.message and "标题" in err.message
    assert err.column == text_col("select * from C where 标题 = 'x'", "标题")


def text_col(text, word):
    return text.index(word) + 1


# ---- strings, numbers, comments ------------------------------------------------------------------
def test_unicode_strings():
    s = one("select * from Todo where title like '%李总%' and content = \"每周工程师会议，周一下午2点\"")
    assert s.where.items[0].pattern == ast.Literal("%李总%")
    assert s.where.items[1].value == ast.Literal("每周工程师会议，周一下午2点")
    assert cql.explain("select * from Todo where title like '%李总%'")[0]["params"]["where"] == \
        {"title": {"$regex": "李总"}}


def test_strings_may_span_lines():
    assert one("select * from C where a = 'x\ny'").where.value == ast.Literal("x\ny")


def test_comments():
    text = """-- leading comment
    select /* inline */ * from C // trailing
    where a = 1 -- another
    /* block
       over lines */ and b = '-- not a comment' and c = '/* nor this */'"""
    s = one(text)
    assert s.where == ast.And((ast.Compare("a", "=", ast.Literal(1)),
                               ast.Compare("b", "=", ast.Literal("-- not a comment")),
                               ast.Compare("c", "=", ast.Literal("/* nor this */"))))


def test_scripts():
    stmts = cql.parse("select * from A; insert into B(x) values (1);\nupdate C set y = 2;delete from D;")
    assert [type(s).__name__ for s in stmts] == ["Select", "Insert", "Update", "Delete"]
    assert cql.parse("") == [] and cql.parse(" ;; -- nothing\n") == []
    assert len(cql.parse(";select * from A;;select * from B;")) == 2


def test_parameters_are_numbered_per_statement():
    a, b = cql.parse("select * from A where x = ? and y = ?; delete from B where z = ?")
    assert a.param_count == 2 and b.param_count == 1
    assert b.where.value == ast.Param(0)
    assert plan(b, ["v"]).where == {"z": "v"}


# ---- cache --------------------------------------------------------------------------------------
def test_statement_cache_skips_parsing(monkeypatch):
    text = "select * from CacheProbe where a = ?"
    first = cql.parse(text)
    calls = []
    real_fast, real_lark = FastParser.parse, parser._lark_parse
    monkeypatch.setattr(FastParser, "parse", lambda self, t: calls.append("fast") or real_fast(self, t))
    monkeypatch.setattr(parser, "_lark_parse", lambda t: calls.append("lark") or real_lark(t))
    assert cql.parse(text) == first
    assert calls == []
    parser.clear_cache()
    assert cql.parse(text) == first
    assert calls == ["fast"]


def test_cache_returns_fresh_lists():
    a = cql.parse("select * from A; select * from B")
    a.pop()
    assert len(cql.parse("select * from A; select * from B")) == 2


def test_parse_rejects_non_text():
    with pytest.raises(cql.CQLError):
        cql.parse(None)


# ---- keywords.py agrees with the grammar ------------------------------------------------------------
def test_keywords_match_grammar():
    grammar = open(os.path.join(ROOT, "grammar", "cql.lark"), encoding="utf-8").read()
    words = set()
    for pattern in re.findall(r"^_?[A-Z]+\.2: /(.+)\\b/i$", grammar, re.M):
        words.update(pattern.strip("()").split("|"))
    assert words == set(KEYWORDS)
    listed = re.search(r"^// FUNCTIONS: (.+)$", grammar, re.M).group(1).split()
    assert listed == FUNCTIONS


def test_functions_parse_where_they_belong():
    value_functions = [f for f in FUNCTIONS if f not in ("count", "size")]
    assert sorted(value_functions) == sorted(parser.VALUE_FUNCTIONS)
    assert one("select count(*) from C").items == (ast.Count(),)
    assert isinstance(one("select * from C where size(a) = 1").where, ast.Size)


def test_packaged_grammar_is_the_grammar():
    packaged = os.path.join(ROOT, "cql", "grammar", "cql.lark")
    with open(packaged, encoding="utf-8") as a, open(os.path.join(ROOT, "grammar", "cql.lark"), encoding="utf-8") as b:
        assert a.read() == b.read()


# ---- examples ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "examples", "*.cql"))))
def test_examples_parse_and_plan(path):
    """Every statement of the examples; shell lines (.set) are left to the
    shell tests, and a shell variable (:name, bound as a parameter) is a ?."""
    from cql.shell.values import placeholders, unbound
    from cql.splitter import split
    with open(path, encoding="utf-8") as f:
        pieces = [p for p in split(f.read(), dot_commands=True) if not p.dot]
    assert pieces
    for piece in pieces:
        text = unbound(piece.text)
        (s,) = cql.parse(text)
        plan(s, ("6b0000000000000000000001",) * placeholders(text))


# ---- start-up: tables cached per user, no Lark import on the fast path ---------------------------------
PROBE = ("import sys, cql; cql.explain(\"select * from C where a = 1 and b in (1, 2) order by -a\"); "
         "print('lark' in sys.modules)")


def run_probe(cache_dir):
    import subprocess
    import sys
    env = dict(os.environ, CQL_CACHE_DIR=str(cache_dir), PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_second_process_parses_without_importing_lark(tmp_path):
    assert run_probe(tmp_path) == "True"      # first run: Lark analyses the grammar, tables saved
    assert any(p.name.startswith("tables-") for p in tmp_path.iterdir())
    assert run_probe(tmp_path) == "False"     # then: tables loaded, Lark not imported


def test_corrupt_table_cache_is_rebuilt(tmp_path):
    run_probe(tmp_path)
    for p in tmp_path.iterdir():
        p.write_bytes(b"garbage")
    assert run_probe(tmp_path) == "True"
    assert run_probe(tmp_path) == "False"


def test_unwritable_cache_dir_still_parses(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run_probe(blocker / "sub") in ("True", "False")


def test_parsing_from_many_threads():
    from concurrent.futures import ThreadPoolExecutor
    texts = [f"select * from C{i} where a = ? and b in (?, {i}); delete from D where x = ?" for i in range(200)]
    expected = []
    for t in texts:
        parser.clear_cache()
        expected.append([(s.class_name, s.param_count, s.text) for s in cql.parse(t)])
    parser.clear_cache()

    def work(t):
        return [(s.class_name, s.param_count, s.text) for s in cql.parse(t)]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, texts * 3)) == expected * 3

"""CQL text -> AST: the Lark LALR parser, built once per process, and a statement cache.

The grammar (grammar/cql.lark, shipped as cql/grammar/cql.lark) is analysed
once and the parse tables are cached on disk, so ``cql -e`` starts fast. The
tree is built by callbacks that run *during* the LALR parse (no Lark tree), and
parsed statements are cached by text so a repeated statement skips parsing.
Every failure is a CQLError; Lark's exceptions never leak.
"""
from __future__ import annotations

import os
import re
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

from . import ast
from .errors import (CQLError, CQLSyntaxError, InvalidClassName, InvalidKey,
                     UnsupportedError)

__all__ = ["parse", "clear_cache", "grammar_path", "grammar_text"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_GRAMMAR_CANDIDATES = (
    os.path.join(_HERE, "grammar", "cql.lark"),               # installed package
    os.path.join(os.path.dirname(_HERE), "grammar", "cql.lark"),  # source checkout
)

#: Functions allowed where a value may stand, with their (min, max) argument counts.
VALUE_FUNCTIONS: Dict[str, Tuple[int, int]] = {
    "date": (1, 1), "pointer": (2, 2), "geopoint": (2, 2), "file": (1, 1),
    "base64": (1, 1), "current_timestamp": (0, 0), "op": (1, 2),
}
_AGGREGATES = {"max", "min", "sum", "avg", "group_concat", "stddev"}
_UNITS = {
    "km": "kilometers", "kilometer": "kilometers", "kilometers": "kilometers",
    "mi": "miles", "mile": "miles", "miles": "miles",
    "rad": "radians", "radian": "radians", "radians": "radians",
}
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_CLASS_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Words of SQL that CQL does not have: named in the error instead of "syntax error".
_UNSUPPORTED_WORDS = {
    "join": "joins (JOIN)", "group": "GROUP BY", "having": "HAVING",
    "as": "aliases (AS)", "distinct": "DISTINCT", "union": "UNION",
    "offset": "OFFSET (write LIMIT skip, n)",
    "between": "BETWEEN (write f >= a and f <= b)",
    "create": "CREATE statements (a class is created by its first insert)",
    "drop": "DROP statements", "alter": "ALTER statements",
    "truncate": "TRUNCATE (write DELETE FROM C)", "replace": "REPLACE statements",
}


def grammar_path() -> str:
    """Where the grammar file is: inside the package when installed."""
    for candidate in _GRAMMAR_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    raise CQLError("the CQL grammar file is missing from the installation (cql/grammar/cql.lark)")


def grammar_text() -> str:
    path = grammar_path()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\n" not in text.strip() and text.strip().endswith(".lark"):
        # cql/grammar/cql.lark is a symlink to grammar/cql.lark; a checkout without
        # symlink support (Windows) leaves the link's target path as the file's text.
        with open(os.path.join(os.path.dirname(path), text.strip()), encoding="utf-8") as f:
            text = f.read()
    return text


# ---- per-parse state (thread-local: one Lark parser serves every thread) ----------
class _State(threading.local):
    source = ""
    qmarks = 0          # ? seen so far in the current statement
    counts: List[int]   # ? per statement, one entry per ';'-separated segment
    semis: List[int]    # offsets of the ';' separators

    def reset(self, source: str) -> None:
        self.source = source
        self.qmarks = 0
        self.counts = []
        self.semis = []


_state = _State()


def _on_qmark(tok: Any) -> Any:
    """Number each ? at lex time, per statement, so parameters bind left to right."""
    index = _state.qmarks
    _state.qmarks += 1
    return tok.update(value=str(index))


def _on_semi(tok: Any) -> Any:
    _state.counts.append(_state.qmarks)
    _state.semis.append(tok.start_pos)
    _state.qmarks = 0
    return tok


def _pos(tok: Any) -> ast.Pos:
    return ast.Pos(tok.line, tok.column, tok.start_pos)


class _Named:
    """A name with its position (internal; the AST keeps plain strings)."""
    __slots__ = ("name", "pos")

    def __init__(self, name: str, pos: ast.Pos):
        self.name, self.pos = name, pos


def _syntax(message: str, pos: Optional[ast.Pos], cls: type = CQLSyntaxError) -> CQLError:
    err = cls(message)
    if pos is not None:
        err.line, err.column = pos.line, pos.column
    err.source = _state.source
    return err


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\s\S])|''|\"\"")
_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unquote(raw: str) -> str:
    """The text of a string literal: doubled quotes and backslash escapes resolved;
    an unknown ``\\x`` stays as both characters (so ``regexp '\\d+'`` works)."""
    quote, body = raw[0], raw[1:-1]
    if "\\" not in body and quote * 2 not in body:
        return body

    def repl(m: "re.Match[str]") -> str:
        text = m.group(0)
        esc = m.group(1)
        if esc is None:  # a doubled quote: only the string's own quote collapses
            return quote if text[0] == quote else text
        if len(esc) == 5:
            return chr(int(esc[1:], 16))
        return _SIMPLE_ESCAPES.get(esc, text)

    return _ESCAPE.sub(repl, body)


def _number(tok: Any) -> Any:
    text = str(tok)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if any(c in digits for c in ".eE"):
        return float(text)
    return int(text)


def _key_name(tok: Any) -> str:
    """One segment of a field name, checked (code 105)."""
    text = str(tok)
    quoted = text.startswith("`")
    name = text[1:-1] if quoted else text
    if not _NAME_RE.match(name):
        if not name:
            msg = "empty field name ``"
        elif not name.isascii():
            msg = f"invalid field name '{name}': field names must be ASCII letters, digits and '_'"
        elif name[0] == "_":
            msg = f"invalid field name '{name}': field names must start with a letter ('_' is only for class names)"
        else:
            msg = f"invalid field name '{name}': field names must start with a letter and use only letters, digits and '_'"
        raise _syntax(msg, _pos(tok), InvalidKey)
    return name


class _Builder:
    """LALR callbacks: each returns an AST node (or an internal piece of one)."""

    # -- names ---------------------------------------------------------------
    def class_name(self, c: list) -> _Named:
        tok = c[0]
        text = str(tok)
        name = text[1:-1] if text.startswith("`") else text
        if not _CLASS_RE.match(name):
            if not name.isascii():
                msg = f"invalid class name '{name}': class names must be ASCII letters, digits and '_'"
            else:
                msg = f"invalid class name '{name}': class names start with a letter or '_' and use only letters, digits and '_'"
            raise _syntax(msg, _pos(tok), InvalidClassName)
        return _Named(name, _pos(tok))

    def path(self, c: list) -> _Named:
        if len(c) == 1:
            return _Named(_key_name(c[0]), _pos(c[0]))
        return _Named(".".join(_key_name(t) for t in c), _pos(c[0]))

    # -- values ----------------------------------------------------------------
    def string(self, c: list) -> ast.Literal:
        return ast.Literal(unquote(str(c[0])), _pos(c[0]))

    def number(self, c: list) -> ast.Literal:
        return ast.Literal(_number(c[0]), _pos(c[0]))

    def true(self, c: list) -> ast.Literal:
        return ast.Literal(True, _pos(c[0]))

    def false(self, c: list) -> ast.Literal:
        return ast.Literal(False, _pos(c[0]))

    def null(self, c: list) -> ast.Literal:
        return ast.Literal(None, _pos(c[0]))

    def param(self, c: list) -> ast.Param:
        return ast.Param(int(c[0]), _pos(c[0]))

    def array(self, c: list) -> ast.Array:
        items = tuple(v for v in c if v is not None)
        return ast.Array(items, items[0].pos if items else ast.NOPOS)

    def pair(self, c: list) -> Tuple[str, Any]:
        key = c[0]
        text = str(key)
        if key.type == "STRING":
            text = unquote(text)
        elif key.type == "QUOTED_NAME":
            text = text[1:-1]
        return (text, c[1])

    def object(self, c: list) -> ast.Object:
        items = tuple(p for p in c if p is not None)
        return ast.Object(items, items[0][1].pos if items else ast.NOPOS)

    def func(self, c: list) -> ast.Func:
        tok = c[0]
        name = str(tok).lower()
        args = tuple(v for v in c[1:] if v is not None)
        if name not in VALUE_FUNCTIONS:
            if name in _AGGREGATES or name in ("count", "size"):
                raise _syntax(f"{name}() cannot stand where a value is expected", _pos(tok), UnsupportedError)
            known = ", ".join(f"{f}()" for f in VALUE_FUNCTIONS)
            raise _syntax(f"unknown function {tok}(): CQL has {known}", _pos(tok), UnsupportedError)
        lo, hi = VALUE_FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}"
            raise _syntax(f"{name}() takes {want} argument{'s' if hi != 1 else ''}, got {len(args)}", _pos(tok))
        return ast.Func(name, args, _pos(tok))

    def value_list(self, c: list) -> Tuple[Any, ...]:
        return tuple(v for v in c if v is not None)

    # -- conditions --------------------------------------------------------------
    def comp_op(self, c: list) -> str:
        op = str(c[0])
        return "!=" if op == "<>" else op

    def compare(self, c: list) -> ast.Compare:
        return ast.Compare(c[0].name, c[1], c[2], c[0].pos)

    def compare_query(self, c: list) -> ast.InQuery:
        path, op, query = c
        if op not in ("=", "!="):
            raise _syntax(f"a subquery can only be compared with = or !=, not {op}", path.pos, UnsupportedError)
        self._check_subquery(query, path.pos)
        return ast.InQuery(path.name, query, op == "!=", "=", path.pos)

    def in_(self, c: list) -> ast.In:
        return ast.In(c[0].name, c[1], False, c[0].pos)

    def not_in(self, c: list) -> ast.In:
        return ast.In(c[0].name, c[1], True, c[0].pos)

    def in_query(self, c: list) -> ast.InQuery:
        self._check_subquery(c[1], c[0].pos)
        return ast.InQuery(c[0].name, c[1], False, "in", c[0].pos)

    def not_in_query(self, c: list) -> ast.InQuery:
        self._check_subquery(c[1], c[0].pos)
        return ast.InQuery(c[0].name, c[1], True, "in", c[0].pos)

    @staticmethod
    def _check_subquery(query: ast.Select, pos: ast.Pos) -> None:
        fields = [i for i in query.items if isinstance(i, ast.Column)]
        others = [i for i in query.items if not isinstance(i, (ast.Column, ast.Star))]
        if others:
            what = "count()" if isinstance(others[0], ast.Count) else "include"
            raise _syntax(f"{what} in a subquery is not supported: select * or one field", others[0].pos, UnsupportedError)
        if len(fields) > 1 or (fields and len(query.items) > 1):
            raise _syntax("a second field in a subquery is not supported: select * or one field",
                          query.items[1].pos, UnsupportedError)

    def exists(self, c: list) -> ast.Exists:
        return ast.Exists(c[0].name, True, c[0].pos)

    def not_exists(self, c: list) -> ast.Exists:
        return ast.Exists(c[0].name, False, c[0].pos)

    def is_null(self, c: list) -> ast.Compare:
        return ast.Compare(c[0].name, "=", ast.Literal(None, _pos(c[1])), c[0].pos)

    def is_not_null(self, c: list) -> ast.Compare:
        return ast.Compare(c[0].name, "!=", ast.Literal(None, _pos(c[1])), c[0].pos)

    def like(self, c: list) -> ast.Match:
        return ast.Match(c[0].name, "like", c[1], False, c[0].pos)

    def not_like(self, c: list) -> ast.Match:
        return ast.Match(c[0].name, "like", c[1], True, c[0].pos)

    def regexp(self, c: list) -> ast.Match:
        return ast.Match(c[0].name, "regexp", c[1], False, c[0].pos)

    def not_regexp(self, c: list) -> ast.Match:
        return ast.Match(c[0].name, "regexp", c[1], True, c[0].pos)

    def all_(self, c: list) -> ast.All:
        return ast.All(c[0].name, c[1], c[0].pos)

    def func_cond(self, c: list) -> ast.Size:
        tok, path, op, value = c
        name = str(tok).lower()
        if name != "size":
            raise _syntax(f"{tok}() in a condition is not supported (only size(field) = n)", _pos(tok), UnsupportedError)
        if op != "=":
            raise _syntax(f"size({path.name}) {op} ... is not supported: only size(field) = n", _pos(tok), UnsupportedError)
        return ast.Size(path.name, value, _pos(tok))

    def distance(self, c: list) -> ast.Distance:
        value, unit = c
        if not isinstance(value, ast.Param):
            value = ast.Literal(_number(value), _pos(value))
        if unit is None:
            return ast.Distance(value, "radians", value.pos)
        name = _UNITS.get(str(unit).lower())
        if name is None:
            raise _syntax(f"unknown distance unit '{unit}': use km, miles or radians", _pos(unit))
        return ast.Distance(value, name, value.pos)

    def near(self, c: list) -> ast.Near:
        return ast.Near(c[0].name, c[1], c[2], c[3], c[0].pos)

    def within(self, c: list) -> ast.Within:
        return ast.Within(c[0].name, c[1], c[2], c[0].pos)

    def related(self, c: list) -> ast.Related:
        return ast.Related(c[0].name, c[1], c[0].pos)

    def or_(self, c: list) -> Any:
        if len(c) == 1:
            return c[0]
        items: List[Any] = []
        for x in c:
            items.extend(x.items if isinstance(x, ast.Or) else (x,))
        return ast.Or(tuple(items), items[0].pos)

    def and_(self, c: list) -> Any:
        if len(c) == 1:
            return c[0]
        items: List[Any] = []
        for x in c:
            items.extend(x.items if isinstance(x, ast.And) else (x,))
        return ast.And(tuple(items), items[0].pos)

    def where(self, c: list) -> Tuple[str, Any]:
        return ("where", c[0])

    def subquery(self, c: list) -> ast.Select:
        return c[0]

    # -- select ------------------------------------------------------------------
    def star(self, c: list) -> ast.Star:
        return ast.Star(_pos(c[0]))

    def column(self, c: list) -> ast.Column:
        return ast.Column(c[0].name, c[0].pos)

    def include(self, c: list) -> ast.Include:
        return ast.Include(c[0].name, c[0].pos)

    def item_func(self, c: list) -> ast.Count:
        tok = c[0]
        name = str(tok).lower()
        args = [a for a in c[1:] if a is not None]
        if name == "count":
            if len(args) == 1 and (getattr(args[0], "type", None) == "STAR"
                                   or getattr(args[0], "name", None) == "objectId"):
                return ast.Count(_pos(tok))
            shown = ", ".join(a.name if isinstance(a, _Named) else str(a) for a in args)
            raise _syntax(f"count({shown}) is not supported: only count(*) or count(objectId)",
                          _pos(tok), UnsupportedError)
        if name in _AGGREGATES:
            raise _syntax(f"aggregate function {name}() is not supported (CQL has only count(*))",
                          _pos(tok), UnsupportedError)
        raise _syntax(f"function {tok}() in the select list is not supported "
                      "(CQL has only count(*) there)", _pos(tok), UnsupportedError)

    def limit(self, c: list) -> Tuple[str, Any, Any]:
        first, second = (self._int_arg(a) if a is not None else None for a in c)
        return ("limit", second, first) if second is not None else ("limit", first, None)

    @staticmethod
    def _int_arg(a: Any) -> Any:
        if isinstance(a, ast.Param):
            return a
        value = _number(a)
        if not isinstance(value, int) or value < 0:
            raise _syntax(f"LIMIT takes whole numbers, found '{a}'", _pos(a))
        return ast.Literal(value, _pos(a))

    def order_item(self, c: list) -> Tuple[Optional[str], _Named, Optional[str]]:
        sign, path, direction = c
        return (str(sign) if sign is not None else None, path,
                str(direction).lower() if direction is not None else None)

    def order(self, c: list) -> Tuple[str, Tuple[ast.OrderItem, ...]]:
        # Decided: with a direction only after the last field, it applies to every
        # unsigned field (`order by a, b desc` = -a,-b, as SPEC); directions written
        # after earlier fields apply to their own field; a sign always wins.
        per_field = any(d is not None for _, _, d in c[:-1])
        trailing = c[-1][2]
        out = []
        for sign, path, direction in c:
            if sign is not None:
                desc = sign == "-"
            elif per_field:
                desc = direction == "desc"
            else:
                desc = trailing == "desc"
            out.append(ast.OrderItem(path.name, desc, path.pos))
        return ("order", tuple(out))

    def select(self, c: list) -> ast.Select:
        items: List[Any] = []
        cls: Optional[_Named] = None
        where = limit = skip = None
        order: Tuple[ast.OrderItem, ...] = ()
        for x in c[1:]:
            if x is None:
                continue
            if isinstance(x, _Named):
                cls = x
            elif isinstance(x, tuple):
                if x[0] == "where":
                    where = x[1]
                elif x[0] == "limit":
                    limit, skip = x[1], x[2]
                else:
                    order = x[1]
            else:
                items.append(x)
        assert cls is not None
        return ast.Select(cls.name, tuple(items), where, limit, skip, order, pos=_pos(c[0]))

    # -- writes --------------------------------------------------------------------
    def row(self, c: list) -> Tuple[Any, ...]:
        return tuple(v for v in c if v is not None)

    def insert(self, c: list) -> ast.Insert:
        cls = c[1]
        columns = [x for x in c[2:] if isinstance(x, _Named)]
        rows = tuple(x for x in c[2:] if isinstance(x, tuple))
        names = [x.name for x in columns]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _syntax(f"column '{name}' is listed twice", columns[i].pos)
        return ast.Insert(cls.name, tuple(names), rows, pos=_pos(c[0]))

    def assignment(self, c: list) -> Tuple[_Named, Any]:
        return (c[0], c[2])

    def update(self, c: list) -> ast.Update:
        cls = c[1]
        assigns = [x for x in c[2:] if isinstance(x, tuple) and isinstance(x[0], _Named)]
        where = next((x[1] for x in c[2:] if isinstance(x, tuple) and x[0] == "where"), None)
        seen: set = set()
        for target, _ in assigns:
            if target.name in seen:
                raise _syntax(f"field '{target.name}' is set twice", target.pos)
            seen.add(target.name)
        return ast.Update(cls.name, tuple((t.name, v) for t, v in assigns), where, pos=_pos(c[0]))

    def delete(self, c: list) -> ast.Delete:
        tok, cls, where = c
        return ast.Delete(cls.name, where[1] if where else None, pos=_pos(tok))

    def start(self, c: list) -> List[ast.Statement]:
        counts = _state.counts + [_state.qmarks]
        bounds = _state.semis + [len(_state.source)]
        out = []
        for stmt, count, end in zip(c, counts, bounds):
            if stmt is None:
                continue
            object.__setattr__(stmt, "param_count", count)
            object.__setattr__(stmt, "source", _state.source)
            object.__setattr__(stmt, "end", end)
            out.append(stmt)
        return out


# ---- the Lark parser, built once ------------------------------------------------------
_lark: Any = None
_lark_lock = threading.Lock()


def _digest(text: str) -> str:
    """A cache key for a text (zlib, not hashlib: hashlib's OpenSSL load costs ~2 ms)."""
    import zlib
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def _cache_dir() -> str:
    return os.environ.get("CQL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cql")


def _cache_file(text: str) -> Optional[str]:
    """Lark's own cache of the analysed grammar (used by the full parser)."""
    try:
        import lark
        digest = _digest(text + lark.__version__ + sys.version)
        os.makedirs(_cache_dir(), exist_ok=True)
        return os.path.join(_cache_dir(), f"grammar-{digest}.lark-cache")
    except Exception:
        return None


def _load_fast() -> _Fast:
    """The fast parser: tables from the user cache (no Lark import), else from Lark
    (then saved, atomically, for the next process)."""
    import marshal
    text = grammar_text()
    digest = _digest(f"{_TABLE_FORMAT}:{text}")
    path = os.path.join(_cache_dir(), f"tables-{digest}.marshal")
    try:
        with open(path, "rb") as f:
            data = marshal.load(f)
        if data.get("format") == _TABLE_FORMAT:
            return _Fast(data)
    except Exception:
        pass
    data = tables_from_lark(get_parser())
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        blob = marshal.dumps(data)
        os.makedirs(_cache_dir(), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except Exception:  # a read-only home, a full disk: parse anyway
        try:
            os.remove(tmp)
        except OSError:
            pass
    return _Fast(data)


def get_parser() -> Any:
    """The process-wide Lark LALR parser (tables cached on disk between runs)."""
    global _lark
    if _lark is None:
        with _lark_lock:
            if _lark is None:
                import logging
                from lark import Lark
                logging.getLogger("lark").setLevel(logging.CRITICAL)  # cache misses are not errors
                text = grammar_text()
                cache = _cache_file(text)
                options: Dict[str, Any] = dict(
                    parser="lalr", lexer="contextual", maybe_placeholders=True,
                    transformer=_Builder(),
                    lexer_callbacks={"QMARK": _on_qmark, "_SEMI": _on_semi})
                try:
                    _lark = Lark(text, cache=cache or False, **options)
                except Exception:
                    _lark = Lark(text, **options)  # an unusable cache file: build in memory
    return _lark


# ---- the fast path: one regex lexer + a tight LALR loop over Lark's own tables ----------
# Lark's lexer and parser loop cost ~2/3 of a parse. This path uses the same parse
# table and the same callbacks; keywords are recognised exactly like the contextual
# lexer does (only where the parser state accepts them). On anything unusual (a
# character it cannot lex, a token the table rejects) it gives up and the full Lark
# parser runs, so error messages come from one place and behaviour cannot diverge
# (tests/test_lang_fuzz.py checks both paths agree).
_LEX = re.compile(r"""
(?:\s+|--[^\n]*|//[^\n]*|/\*[\s\S]*?\*/)*     # whitespace and comments, skipped
(?:(?P<STRING>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
|(?P<QUOTED_NAME>`[^`\n]*`)
|(?P<NUMBER>[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.]))
|(?P<word>[^\W\d]\w*)
|(?P<op><=|>=|!=|<>|[-+*?=<>;,.:()\[\]{}])
|(?P<end>\Z)
|(?P<bad>[\s\S]))          # always matches: the skip above never backtracks
""", re.X | re.S)
_OPS = {
    "=": "EQ", "!=": "NE", "<>": "NE", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE",
    ";": "_SEMI", ",": "_COMMA", ".": "_DOT", ":": "_COLON", "(": "_LPAR", ")": "_RPAR",
    "[": "_LBRACK", "]": "_RBRACK", "{": "_LBRACE", "}": "_RBRACE", "*": "STAR",
    "?": "QMARK", "+": "SIGN", "-": "SIGN",
}


class _Tok(str):
    """A token for the callbacks: the text plus type and position (like lark.Token)."""
    type: str
    start_pos: int
    line: int
    column: int


_TABLE_FORMAT = 1


def tables_from_lark(lark_parser: Any) -> Dict[str, Any]:
    """The LALR tables of a built Lark parser as plain data (dicts, tuples, str, int).

    Rules carry what Lark's parse-tree builder would do with their children
    (drop filtered tokens, splice ``_rule`` children, insert ``[x]`` placeholders,
    inline ``?rule`` with one child), so parsing needs no Lark import at all.
    """
    from lark.parsers.lalr_analysis import Shift
    table = lark_parser.parser.parser.parser.parse_table
    rule_index: Dict[Any, int] = {}
    rules: List[Any] = []
    states: Dict[int, Dict[str, Tuple[bool, int]]] = {}
    for state, row in table.states.items():
        out: Dict[str, Tuple[bool, int]] = {}
        for term, (action, arg) in row.items():
            if action is Shift:
                out[str(term)] = (True, int(arg))
                continue
            if arg not in rule_index:
                rule_index[arg] = len(rules)
                rules.append(arg)
            out[str(term)] = (False, rule_index[arg])
        states[int(state)] = out
    specs = []
    for rule in rules:
        opts = rule.options
        expansion = rule.expansion
        empty = list(opts.empty_indices or ())
        if empty:
            bits = "".join(str(int(b)) for b in empty)
            nones = [len(ones) for ones in bits.split("0")]
        else:
            nones = [0] * (len(expansion) + 1)
        include, pending = [], 0
        for i, sym in enumerate(expansion):
            pending += nones[i]
            if opts.keep_all_tokens or not (sym.is_term and sym.filter_out):
                include.append((i, bool((not sym.is_term) and sym.name.startswith("_")), pending))
                pending = 0
        pending += nones[len(expansion)]
        filtered = bool(empty) or len(include) < len(expansion) or any(x for _, x, _ in include)
        specs.append((str(rule.origin.name), len(expansion),
                      str(rule.alias or opts.template_source or rule.origin.name),
                      bool(opts.expand1 and not rule.alias),
                      (tuple(include), pending) if filtered else None))
    keywords: Dict[str, str] = {}
    for term in lark_parser.terminals:
        if term.priority == 2:  # keywords: word\b or (a|b)\b, case-insensitive
            body = term.pattern.value.replace("\\b", "").strip("()")
            for word in body.split("|"):
                keywords[str(word)] = str(term.name)
    return {"format": _TABLE_FORMAT, "states": states, "rules": specs,
            "start": int(table.start_states["start"]), "end": int(table.end_states["start"]),
            "keywords": keywords}


class _Children:
    """What a ``_rule`` without a callback yields: children for the parent to splice."""
    __slots__ = ("children",)

    def __init__(self, children: list):
        self.children = children


def _rule_callback(builder: Any, spec: Tuple[Any, ...]) -> Any:
    origin, size, name, expand1, child_filter = spec
    method = getattr(builder, name, None)
    if method is None:
        method = _Children
    if expand1:  # innermost, as Lark does: sees the children after filtering
        single = method

        def method(children: list, _inner: Any = single) -> Any:
            return children[0] if len(children) == 1 else _inner(children)
    if child_filter is not None:
        include, append_none = child_filter
        inner = method

        def method(children: list, _inner: Any = inner) -> Any:
            out: list = []
            for i, to_expand, add_none in include:
                if add_none:
                    out += [None] * add_none
                if to_expand:
                    if out:
                        out += children[i].children
                    else:  # left recursion: take the list over, no copying
                        out = children[i].children
                else:
                    out.append(children[i])
            if append_none:
                out += [None] * append_none
            return _inner(out)
    return method


class _Fast:
    def __init__(self, data: Dict[str, Any]):
        builder = _Builder()
        rules = [(_rule_callback(builder, spec), spec[1], spec[0]) for spec in data["rules"]]
        # state -> terminal -> (True, next state) | (False, (callback, size, rule origin))
        self.states: Dict[Any, Dict[str, Tuple[bool, Any]]] = {
            state: {term: (True, arg) if is_shift else (False, rules[arg])
                    for term, (is_shift, arg) in row.items()}
            for state, row in data["states"].items()}
        self.start_state = data["start"]
        self.end_state = data["end"]
        self.keywords: Dict[str, str] = dict(data["keywords"])

    def parse(self, text: str) -> Optional[List[ast.Statement]]:
        """The statements, or None to let Lark parse (and report errors)."""
        states, keywords = self.states, self.keywords
        match = _LEX.match
        end_state = self.end_state
        state_stack = [self.start_state]
        value_stack: List[Any] = []
        pos, line, line_start = 0, 1, 0
        st = _state
        while True:
            m = match(text, pos)
            kind = m.lastgroup
            if kind == "bad":
                return None
            start = m.start(kind)
            if start != pos:  # skipped whitespace/comments: keep line numbers right
                nl = text.count("\n", pos, start)
                if nl:
                    line += nl
                    line_start = text.rindex("\n", pos, start) + 1
            if kind == "end":
                ttype, tok, is_end = "$END", None, True
            else:
                is_end = False
                value = m.group(kind)
                if kind == "word":
                    ttype = keywords.get(value.lower())
                    if ttype is None or ttype not in states[state_stack[-1]]:
                        ttype = "NAME"
                elif kind == "op":
                    ttype = _OPS[value]
                    if ttype == "QMARK":
                        value = str(st.qmarks)
                        st.qmarks += 1
                    elif ttype == "_SEMI":
                        st.counts.append(st.qmarks)
                        st.semis.append(start)
                        st.qmarks = 0
                else:
                    ttype = kind
                tok = _Tok(value)
                tok.type, tok.start_pos, tok.line, tok.column = ttype, start, line, start - line_start + 1
                pos = m.end()
                if kind == "STRING":
                    nl = value.count("\n")
                    if nl:
                        line += nl
                        line_start = text.rindex("\n", start, pos) + 1
            while True:
                try:
                    is_shift, arg = states[state_stack[-1]][ttype]
                except KeyError:
                    return None
                if is_shift:
                    if is_end:
                        return None
                    state_stack.append(arg)
                    value_stack.append(tok)
                    break
                callback, size, origin = arg
                if size:
                    args = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    args = []
                result = callback(args)
                state_stack.append(states[state_stack[-1]][origin][1])
                value_stack.append(result)
                if is_end and state_stack[-1] == end_state:
                    return result


_fast: Optional[_Fast] = None
FAST_PATH = True  # tests turn it off to compare both paths


# ---- errors ---------------------------------------------------------------------------
_DISPLAY = {
    "_SEMI": "';'", "_COMMA": "','", "_DOT": "'.'", "_COLON": "':'", "_LPAR": "'('",
    "_RPAR": "')'", "_LBRACK": "'['", "_RBRACK": "']'", "_LBRACE": "'{'", "_RBRACE": "'}'",
    "STAR": "'*'", "QMARK": "'?'", "SIGN": "a sign (+/-)", "EQ": "'='", "NE": "'!='",
    "LT": "'<'", "LE": "'<='", "GT": "'>'", "GE": "'>='", "NAME": "a name",
    "QUOTED_NAME": "a `name`", "STRING": "a string", "NUMBER": "a number",
    "DIRECTION": "ASC or DESC", "$END": "end of input", "_ORDER": "ORDER BY",
}
_VALUE_START = {"STRING", "NUMBER", "TRUE", "FALSE", "NULL", "QMARK", "_LBRACK", "_LBRACE"}
_OPERATORS = {"EQ", "NE", "LT", "LE", "GT", "GE", "_IN", "_IS", "_LIKE", "_REGEXP",
              "_ALL", "_NEAR", "_WITHIN"}


def _display(name: str) -> str:
    if name in _DISPLAY:
        return _DISPLAY[name]
    return name.lstrip("_")


def _rank(name: str) -> int:
    """Order names as the grammar defines them (keywords, names, values, punctuation)."""
    if name == "$END":
        return 10_000
    order = [t.name for t in get_parser().terminals]
    return order.index(name) if name in order else 9_000


def _expected_text(expected: set) -> str:
    names = set(expected)
    if "_FROM" in names:
        return "FROM"
    parts: List[str] = []
    if names >= {"NAME", "_LPAR", "_RELATED"}:
        parts.append("a condition")
        names -= {"NAME", "QUOTED_NAME", "_LPAR", "_RELATED"}
    if len(names & _VALUE_START) >= 5:
        parts.append("a value")
        names -= _VALUE_START
        names.discard("NAME")
    if len(names & _OPERATORS) >= 5:
        parts.append("an operator (=, !=, <, <=, >, >=, in, like, regexp, is exists, all, near, within)")
        names -= _OPERATORS | {"_NOT"}
    if {"NAME", "QUOTED_NAME"} <= names:
        parts.append("a name")
        names -= {"NAME", "QUOTED_NAME"}
    parts += [_display(n) for n in sorted(names, key=_rank)]
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _tokens_before(text: str, offset: int) -> List[Any]:
    """Tokens of the text (best effort, all terminals), for error context."""
    out: List[Any] = []
    try:
        for tok in get_parser().lex(text):
            out.append(tok)
            if tok.start_pos > offset + 40:
                break
    except Exception:
        pass
    return out


def _unsupported_near(tokens: List[Any], index: int) -> Optional[Tuple[str, Any]]:
    window = tokens[max(0, index - 2): index + 2]
    for tok in window:
        word = str(tok).lower()
        if tok.type == "NAME" and word in _UNSUPPORTED_WORDS:
            return _UNSUPPORTED_WORDS[word], tok
    return None


def _convert(exc: Exception, text: str) -> CQLError:
    """A Lark exception -> CQLSyntaxError/UnsupportedError with line, column, caret."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream
        char = text[offset] if offset < len(text) else ""
        pos = ast.Pos(exc.line, exc.column, offset)
        if char in "'\"":
            return _syntax(f"unterminated string: no closing {char}", pos)
        if char == "`":
            return _syntax("unterminated `name`: no closing `", pos)
        if text.startswith("/*", offset):
            return _syntax("unterminated comment: no closing */", pos)
        tokens = _tokens_before(text, offset)
        index = sum(1 for t in tokens if t.start_pos < offset)
        found = _unsupported_near(tokens, index)
        if found:
            return _syntax(f"CQL does not support {found[0]}", _pos(found[1]), UnsupportedError)
        prev = tokens[index - 1] if index else None
        after = f" after '{prev}'" if prev is not None else ""
        expected = _expected_text(set(exc.allowed or ()))
        return _syntax(f"unexpected character {char!r}{after}: expected {expected}", pos)

    if isinstance(exc, UnexpectedToken):
        token, expected = exc.token, set(exc.expected)
        try:  # the exact set: LALR tables merge look-aheads of similar states
            expected = set(exc.interactive_parser.accepts()) or expected
        except Exception:
            pass
        at_end = token.type == "$END"
        offset = len(text) if at_end else token.start_pos
    elif isinstance(exc, UnexpectedEOF):
        token, expected, at_end, offset = None, set(exc.expected), True, len(text)
    else:  # pragma: no cover - any other Lark error
        return _syntax(f"cannot parse the statement: {exc}", None)

    tokens = _tokens_before(text, offset)
    index = sum(1 for t in tokens if t.start_pos < offset)
    prev = tokens[index - 1] if index else None
    if at_end:
        lines = text.split("\n")
        pos = ast.Pos(len(lines), len(lines[-1]) + 1, len(text))
        if prev is not None:  # point just after the last token
            end = prev.end_pos
            pos = ast.Pos(prev.end_line or prev.line, (prev.end_column or prev.column + len(prev)), end)
        found_text = "end of input"
    else:
        pos = _pos(token)
        found_text = f"'{token}'"

    found = _unsupported_near(tokens, index)
    if found:
        return _syntax(f"CQL does not support {found[0]}", _pos(found[1]), UnsupportedError)
    if not at_end and token.type == "QMARK":
        return _syntax("a ? placeholder can only stand where a value may "
                       "(not in names, ORDER BY or the select list)", pos)
    if not at_end and token.type == "_COMMA" and "_WHERE" in expected and prev is not None \
            and prev.type in ("NAME", "QUOTED_NAME"):
        return _syntax("selecting from several classes (a join) is not supported in CQL", pos,
                       UnsupportedError)
    before = tokens[index - 2] if index >= 2 else None
    if prev is not None and prev.type == "_NOT" and before is not None \
            and before.type in ("_WHERE", "_AND", "_OR", "_LPAR"):
        return _syntax("NOT before a condition is not supported: write !=, not in, not like, "
                       "not regexp or is not exists", _pos(prev), UnsupportedError)

    want = _expected_text(expected)
    if "_FROM" in expected and prev is not None and prev.type == "_FROM":
        return _syntax("expected '*', a field, count(*) or INCLUDE before FROM",
                       _pos(prev))
    if prev is None:
        return _syntax(f"expected SELECT, INSERT, UPDATE or DELETE at the start of a statement, "
                       f"found {found_text}", pos)
    if "_FROM" in expected and prev.type != "DELETE":
        after = "the select list"
    elif prev.type == "_WHERE":
        after = "WHERE"
    else:
        after = f"'{prev}'"
    hint = ""
    if not at_end and token.type not in ("NAME", "QUOTED_NAME") and str(token).isalpha() \
            and {"NAME", "QUOTED_NAME"} & expected:
        hint = f" ('{token}' is a keyword here: write `{token}` to use it as a name)"
    return _syntax(f"expected {want} after {after}, found {found_text}{hint}", pos)


# ---- public entry point ------------------------------------------------------------------
_CACHE: Dict[str, Tuple[ast.Statement, ...]] = {}
_CACHE_MAX = 2048


def clear_cache() -> None:
    """Forget every cached parse (benchmarks use it to time real parsing)."""
    _CACHE.clear()


def _lark_parse(text: str) -> List[ast.Statement]:
    """Lark's own LALR parser: the reference, and the source of syntax errors."""
    from lark.exceptions import LarkError
    parser = get_parser()
    _state.reset(text)
    try:
        return parser.parse(text)
    except CQLError:
        raise
    except LarkError as exc:
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, CQLError):
            raise inner from None
        raise _convert(exc, text) from None


def parse(text: str) -> List[ast.Statement]:
    """Parse CQL text (one statement or a ;-separated script) into statements.

    Raises CQLSyntaxError (300), UnsupportedError (300), InvalidClassName (103)
    or InvalidKey (105) with line/column; never another exception type.
    """
    if not isinstance(text, str):
        raise CQLSyntaxError(f"CQL must be a string, not {type(text).__name__}")
    cached = _CACHE.get(text)
    if cached is not None:
        return list(cached)
    global _fast
    try:
        statements = None
        if FAST_PATH:
            if _fast is None:
                _fast = _load_fast()
            _state.reset(text)
            try:
                statements = _fast.parse(text)
            except (CQLError, RecursionError):
                raise
            except Exception:  # defensive: never let the fast path decide on a surprise
                statements = None
        if statements is None:
            statements = _lark_parse(text)
    except RecursionError:
        raise _syntax("the statement is nested too deeply", None) from None
    finally:
        _state.source = ""
    if len(_CACHE) >= _CACHE_MAX:
        try:
            _CACHE.pop(next(iter(_CACHE)))
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            pass
    _CACHE[text] = tuple(statements)
    return list(statements)

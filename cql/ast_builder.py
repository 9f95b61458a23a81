"""Parse callbacks: Lark's LALR reductions -> AST nodes, with positions and checks.

The callbacks run *during* the parse (no intermediate Lark tree). Name checks
(codes 103/105; the rules are cql.names'), literal decoding (quotes, escapes,
numbers) and the unsupported-SQL checks that need a whole construct (``max(x)``, ``count(name)``,
``size(f) > 2``, a second field in a subquery) live here.
"""
from __future__ import annotations

import re
import threading
from typing import Any, List, Optional, Tuple

from . import ast
from .errors import CQLError, CQLSyntaxError, InvalidClassName, InvalidKey, UnsupportedError, error_at
from .keywords import DISTANCE_UNITS, VALUE_FUNCTIONS
from .names import is_class_name, is_field_name
from .types import MAX_NUMBER

_AGGREGATES = {"max", "min", "sum", "avg", "group_concat", "stddev"}


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


parse_state = _State()


def on_qmark(tok: Any) -> Any:
    """Number each ? at lex time, per statement, so parameters bind left to right."""
    index = parse_state.qmarks
    parse_state.qmarks += 1
    return tok.update(value=str(index))


def on_semi(tok: Any) -> Any:
    parse_state.counts.append(parse_state.qmarks)
    parse_state.semis.append(tok.start_pos)
    parse_state.qmarks = 0
    return tok


def token_pos(tok: Any) -> ast.Pos:
    return ast.Pos(tok.line, tok.column, tok.start_pos)


class _Named:
    """A name with its position (internal; the AST keeps plain strings)."""
    __slots__ = ("name", "pos")

    def __init__(self, name: str, pos: ast.Pos):
        self.name, self.pos = name, pos


def syntax_error(message: str, pos: Optional[ast.Pos], cls: type = CQLSyntaxError) -> CQLError:
    """A ``cls`` error at ``pos`` of the text being parsed."""
    return error_at(cls, message, pos, parse_state.source)


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

    text = _ESCAPE.sub(repl, body)
    if "\\u" in body and any("\ud800" <= ch <= "\udfff" for ch in text):
        # \ud83d\ude00 (JSON style) is one character; a lone half is not text
        try:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("a \\u escape is half of a surrogate pair") from None
    return text


def string_value(tok: Any) -> str:
    try:
        return unquote(str(tok))
    except ValueError as exc:
        raise syntax_error(f"invalid string: {exc}", token_pos(tok)) from None


def number_value(tok: Any) -> Any:
    text = str(tok)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    try:
        if digits[:2] in ("0x", "0X"):
            value = sign * int(digits[2:], 16)
        else:
            value = float(text) if any(c in digits for c in ".eE") else int(text)
    except ValueError:  # e.g. more digits than Python converts (4300)
        raise syntax_error(f"number out of range: {text[:20]}...", token_pos(tok)) from None
    if value in (float("inf"), float("-inf")) or (value.__class__ is int and not -MAX_NUMBER <= value <= MAX_NUMBER):
        raise syntax_error(f"number out of range: {text[:20]}{'...' if len(text) > 20 else ''} "
                           "(a JSON number is at most about 1.8e308)", token_pos(tok))
    return value


def _key_name(tok: Any) -> str:
    """One segment of a field name, checked (code 105)."""
    text = str(tok)
    quoted = text.startswith("`")
    name = text[1:-1] if quoted else text
    if not is_field_name(name):
        if not name:
            msg = "empty field name ``"
        elif not name.isascii():
            msg = f"invalid field name '{name}': field names must be ASCII letters, digits and '_'"
        elif name[0] == "_":
            msg = f"invalid field name '{name}': field names must start with a letter ('_' is only for class names)"
        else:
            msg = f"invalid field name '{name}': field names must start with a letter and use only letters, digits and '_'"
        raise syntax_error(msg, token_pos(tok), InvalidKey)
    return name


def _chain(node: type, c: list) -> Any:
    """One ``node`` (Or/And) for a chain of its operands: ``a or (b or c)`` is Or(a, b, c)."""
    if len(c) == 1:
        return c[0]
    items: List[Any] = []
    for x in c:
        items.extend(x.items if isinstance(x, node) else (x,))
    return node(tuple(items), items[0].pos)


class Builder:
    """LALR callbacks: each returns an AST node (or an internal piece of one)."""

    # -- names ---------------------------------------------------------------
    def class_name(self, c: list) -> _Named:
        tok = c[0]
        text = str(tok)
        name = text[1:-1] if text.startswith("`") else text
        if not is_class_name(name):
            if not name.isascii():
                msg = f"invalid class name '{name}': class names must be ASCII letters, digits and '_'"
            else:
                msg = f"invalid class name '{name}': class names start with a letter or '_' and use only letters, digits and '_'"
            raise syntax_error(msg, token_pos(tok), InvalidClassName)
        return _Named(name, token_pos(tok))

    def path(self, c: list) -> _Named:
        if len(c) == 1:
            return _Named(_key_name(c[0]), token_pos(c[0]))
        return _Named(".".join(_key_name(t) for t in c), token_pos(c[0]))

    # -- values ----------------------------------------------------------------
    def string(self, c: list) -> ast.Literal:
        return ast.Literal(string_value(c[0]), token_pos(c[0]))

    def number(self, c: list) -> ast.Literal:
        return ast.Literal(number_value(c[0]), token_pos(c[0]))

    def true(self, c: list) -> ast.Literal:
        return ast.Literal(True, token_pos(c[0]))

    def false(self, c: list) -> ast.Literal:
        return ast.Literal(False, token_pos(c[0]))

    def null(self, c: list) -> ast.Literal:
        return ast.Literal(None, token_pos(c[0]))

    def param(self, c: list) -> ast.Param:
        return ast.Param(int(c[0]), token_pos(c[0]))

    def array(self, c: list) -> ast.Array:
        items = tuple(v for v in c if v is not None)
        return ast.Array(items, items[0].pos if items else ast.NOPOS)

    def pair(self, c: list) -> Tuple[str, Any]:
        key = c[0]
        text = str(key)
        if key.type == "STRING":
            text = string_value(key)
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
                raise syntax_error(f"{name}() cannot stand where a value is expected", token_pos(tok), UnsupportedError)
            known = ", ".join(f"{f}()" for f in VALUE_FUNCTIONS)
            raise syntax_error(f"unknown function {tok}(): CQL has {known}", token_pos(tok), UnsupportedError)
        lo, hi = VALUE_FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}"
            raise syntax_error(f"{name}() takes {want} argument{'s' if hi != 1 else ''}, got {len(args)}", token_pos(tok))
        return ast.Func(name, args, token_pos(tok))

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
            raise syntax_error(f"a subquery can only be compared with = or !=, not {op}", path.pos, UnsupportedError)
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
            raise syntax_error(f"{what} in a subquery is not supported: select * or one field", others[0].pos, UnsupportedError)
        if len(fields) > 1 or (fields and len(query.items) > 1):
            raise syntax_error("a second field in a subquery is not supported: select * or one field",
                          query.items[1].pos, UnsupportedError)

    def exists(self, c: list) -> ast.Exists:
        return ast.Exists(c[0].name, True, c[0].pos)

    def not_exists(self, c: list) -> ast.Exists:
        return ast.Exists(c[0].name, False, c[0].pos)

    def is_null(self, c: list) -> ast.Compare:
        return ast.Compare(c[0].name, "=", ast.Literal(None, token_pos(c[1])), c[0].pos)

    def is_not_null(self, c: list) -> ast.Compare:
        return ast.Compare(c[0].name, "!=", ast.Literal(None, token_pos(c[1])), c[0].pos)

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
            raise syntax_error(f"{tok}() in a condition is not supported (only size(field) = n)", token_pos(tok), UnsupportedError)
        if op != "=":
            raise syntax_error(f"size({path.name}) {op} ... is not supported: only size(field) = n", token_pos(tok), UnsupportedError)
        return ast.Size(path.name, value, token_pos(tok))

    def distance(self, c: list) -> ast.Distance:
        value, unit = c
        if not isinstance(value, ast.Param):
            value = ast.Literal(number_value(value), token_pos(value))
        if unit is None:
            return ast.Distance(value, "radians", value.pos)
        name = DISTANCE_UNITS.get(str(unit).lower())
        if name is None:
            raise syntax_error(f"unknown distance unit '{unit}': use km, miles or radians", token_pos(unit))
        return ast.Distance(value, name, value.pos)

    def near(self, c: list) -> ast.Near:
        return ast.Near(c[0].name, c[1], c[2], c[3], c[0].pos)

    def within(self, c: list) -> ast.Within:
        return ast.Within(c[0].name, c[1], c[2], c[0].pos)

    def related(self, c: list) -> ast.Related:
        # c[0] is the RELATED keyword token (kept so that `related` may also be a field name)
        return ast.Related(c[1].name, c[2], c[1].pos)

    def or_(self, c: list) -> Any:
        return _chain(ast.Or, c)

    def and_(self, c: list) -> Any:
        return _chain(ast.And, c)

    def where(self, c: list) -> Tuple[str, Any]:
        return ("where", c[0])

    def subquery(self, c: list) -> ast.Select:
        return c[0]

    # -- select ------------------------------------------------------------------
    def star(self, c: list) -> ast.Star:
        return ast.Star(token_pos(c[0]))

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
                return ast.Count(token_pos(tok))
            shown = ", ".join(a.name if isinstance(a, _Named) else str(a) for a in args)
            raise syntax_error(f"count({shown}) is not supported: only count(*) or count(objectId)",
                          token_pos(tok), UnsupportedError)
        if name in _AGGREGATES:
            raise syntax_error(f"aggregate function {name}() is not supported (CQL has only count(*))",
                          token_pos(tok), UnsupportedError)
        raise syntax_error(f"function {tok}() in the select list is not supported "
                      "(CQL has only count(*) there)", token_pos(tok), UnsupportedError)

    def limit(self, c: list) -> Tuple[str, Any, Any]:
        first, second = (self._int_arg(a) if a is not None else None for a in c)
        return ("limit", second, first) if second is not None else ("limit", first, None)

    @staticmethod
    def _int_arg(a: Any) -> Any:
        if isinstance(a, ast.Param):
            return a
        value = number_value(a)
        if not isinstance(value, int) or value < 0:
            raise syntax_error(f"LIMIT takes whole numbers, found '{a}'", token_pos(a))
        return ast.Literal(value, token_pos(a))

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
        return ast.Select(cls.name, tuple(items), where, limit, skip, order, pos=token_pos(c[0]))

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
                raise syntax_error(f"column '{name}' is listed twice", columns[i].pos)
        return ast.Insert(cls.name, tuple(names), rows, pos=token_pos(c[0]))

    def assignment(self, c: list) -> Tuple[_Named, Any]:
        return (c[0], c[2])

    def update(self, c: list) -> ast.Update:
        cls = c[1]
        assigns = [x for x in c[2:] if isinstance(x, tuple) and isinstance(x[0], _Named)]
        where = next((x[1] for x in c[2:] if isinstance(x, tuple) and x[0] == "where"), None)
        seen: set = set()
        for target, _ in assigns:
            if target.name in seen:
                raise syntax_error(f"field '{target.name}' is set twice", target.pos)
            seen.add(target.name)
        return ast.Update(cls.name, tuple((t.name, v) for t, v in assigns), where, pos=token_pos(c[0]))

    def delete(self, c: list) -> ast.Delete:
        tok, cls, where = c
        return ast.Delete(cls.name, where[1] if where else None, pos=token_pos(tok))

    def start(self, c: list) -> List[ast.Statement]:
        counts = parse_state.counts + [parse_state.qmarks]
        bounds = parse_state.semis + [len(parse_state.source)]
        out = []
        for stmt, count, end in zip(c, counts, bounds):
            if stmt is None:
                continue
            object.__setattr__(stmt, "param_count", count)
            object.__setattr__(stmt, "source", parse_state.source)
            object.__setattr__(stmt, "end", end)
            out.append(stmt)
        return out


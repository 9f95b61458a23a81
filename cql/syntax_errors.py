"""Lark's syntax exceptions -> CQLSyntaxError / UnsupportedError a person can act on.

Messages say what was found and what was expected ("expected FROM after the
select list, found 'GameScore'"), name unsupported SQL instead of a generic
failure, and carry line/column so str() shows the source line with a caret.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from . import ast
from .ast_builder import token_pos, syntax_error
from .errors import CQLError, UnsupportedError
from .keywords import VALUE_FUNCTIONS

__all__ = ["convert"]

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


def _ranker(lark_parser: Any) -> Any:
    """Order names as the grammar defines them (keywords, names, values, punctuation)."""
    order = {t.name: i for i, t in enumerate(lark_parser.terminals)}
    return lambda name: 10_000 if name == "$END" else order.get(name, 9_000)


def _expected_text(expected: set, rank: Any) -> str:
    names = set(expected)
    if "_FROM" in names:
        return "FROM"
    parts: List[str] = []
    if names >= {"NAME", "_LPAR", "RELATED"}:
        parts.append("a condition")
        names -= {"NAME", "QUOTED_NAME", "_LPAR", "RELATED"}
    if len(names & _VALUE_START) >= 5:
        parts.append("a value")
        names -= _VALUE_START
        names.discard("NAME")
    if len(names & _OPERATORS) >= 5:
        parts.append("an operator (=, !=, <, <=, >, >=, in, like, regexp, is exists, all, near, within)")
        names -= _OPERATORS | {"_NOT"}
    if {"NAME", "QUOTED_NAME"} <= names:
        parts.append("a name")
        names -= {"NAME", "QUOTED_NAME", "RELATED"}  # `related` may be a field name too
    parts += [_display(n) for n in sorted(names, key=rank)]
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _tokens_before(text: str, offset: int, lark_parser: Any) -> List[Any]:
    """Tokens of the text (best effort, all terminals), for error context."""
    out: List[Any] = []
    try:
        for tok in lark_parser.lex(text):
            out.append(tok)
            if tok.start_pos > offset + 40:
                break
    except Exception:
        pass
    return out


# A bare name where a value stands parses as a function call; these names are real functions.
_FUNCTIONS = frozenset({*VALUE_FUNCTIONS, "size"})
# Tokens after which a value stands (a name there was read as the start of a function call).
_VALUE_AFTER = frozenset({"EQ", "NE", "LT", "LE", "GT", "GE", "_LPAR", "_COMMA", "_LBRACK",
                          "_COLON", "_NEAR", "_AND"})


def _unsupported_near(tokens: List[Any], index: int) -> Optional[Tuple[str, Any]]:
    window = tokens[max(0, index - 2): index + 2]
    for tok in window:
        word = str(tok).lower()
        if tok.type == "NAME" and word in _UNSUPPORTED_WORDS:
            return _UNSUPPORTED_WORDS[word], tok
    return None


def convert(exc: Exception, text: str, lark_parser: Any) -> CQLError:
    """A Lark exception -> CQLSyntaxError/UnsupportedError with line, column, caret."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream
        char = text[offset] if offset < len(text) else ""
        pos = ast.Pos(exc.line, exc.column, offset)
        if char in "'\"":
            return syntax_error(f"unterminated string: no closing {char}", pos)
        if char == "`":
            return syntax_error("unterminated `name`: no closing `", pos)
        if text.startswith("/*", offset):
            return syntax_error("unterminated comment: no closing */", pos)
        tokens = _tokens_before(text, offset, lark_parser)
        index = sum(1 for t in tokens if t.start_pos < offset)
        found = _unsupported_near(tokens, index)
        if found:
            return syntax_error(f"CQL does not support {found[0]}", token_pos(found[1]), UnsupportedError)
        prev = tokens[index - 1] if index else None
        after = f" after '{prev}'" if prev is not None else ""
        expected = _expected_text(set(exc.allowed or ()), _ranker(lark_parser))
        shown = f"'{char}'" if char.isprintable() else repr(char)  # as typed: repr would double a backslash
        return syntax_error(f"unexpected character {shown}{after}: expected {expected}", pos)

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
        return syntax_error(f"cannot parse the statement: {exc}", None)

    tokens = _tokens_before(text, offset, lark_parser)
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
        pos = token_pos(token)
        found_text = f"'{token}'"

    found = _unsupported_near(tokens, index)
    if found:
        return syntax_error(f"CQL does not support {found[0]}", token_pos(found[1]), UnsupportedError)
    if not at_end and token.type == "QMARK":
        return syntax_error("a ? placeholder can only stand where a value may "
                       "(not in names, ORDER BY or the select list)", pos)
    if not at_end and token.type == "_COMMA" and "_WHERE" in expected and prev is not None \
            and prev.type in ("NAME", "QUOTED_NAME"):
        return syntax_error("selecting from several classes (a join) is not supported in CQL", pos,
                       UnsupportedError)
    before = tokens[index - 2] if index >= 2 else None
    if prev is not None and prev.type == "_NOT" and before is not None \
            and before.type in ("_WHERE", "_AND", "_OR", "_LPAR"):
        return syntax_error("NOT before a condition is not supported: write !=, not in, not like, "
                       "not regexp or is not exists", token_pos(prev), UnsupportedError)

    if expected <= {"_LPAR"} and prev is not None and prev.type == "NAME" \
            and str(prev).lower() not in _FUNCTIONS and before is not None \
            and before.type in _VALUE_AFTER:
        return syntax_error(f"'{prev}' is not a value: a field name cannot stand where a value is "
                       f"expected (quote text: '{prev}')", token_pos(prev))
    want = _expected_text(expected, _ranker(lark_parser))
    if "_FROM" in expected and prev is not None and prev.type == "_FROM":
        return syntax_error("expected '*', a field, count(*) or INCLUDE before FROM",
                       token_pos(prev))
    if prev is None:
        return syntax_error(f"expected SELECT, INSERT, UPDATE or DELETE at the start of a statement, "
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
    return syntax_error(f"expected {want} after {after}, found {found_text}{hint}", pos)

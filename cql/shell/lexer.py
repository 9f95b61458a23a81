"""A pygments lexer for CQL (highlighting in the shell; ``pygmentize -l cql``).

Keywords and functions come from cql.keywords (taken from the grammar) when it
is there; the fallback lists below match grammar/cql.lark at the time of
writing, so the lexer works on its own too.
"""
from __future__ import annotations

from typing import Tuple

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation,
                            String, Text, Whitespace)

_FALLBACK_KEYWORDS = (
    "select", "from", "where", "limit", "order", "by", "asc", "desc", "include", "insert",
    "into", "values", "update", "set", "delete", "and", "or", "not", "in", "is", "exists",
    "null", "true", "false", "like", "regexp", "all", "near", "within", "min", "max",
    "related", "to",
)
_FALLBACK_FUNCTIONS = (
    "count", "size", "date", "pointer", "geopoint", "file", "base64", "current_timestamp", "op",
)
_FALLBACK_UNITS = ("km", "kilometers", "miles", "mi", "radians")


def vocabulary() -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
    """(keywords, functions, distance units), lower case."""
    try:
        from .. import keywords as kw
        keys = tuple(k.lower() for k in getattr(kw, "KEYWORDS"))
        funcs = tuple(f.lower() for f in getattr(kw, "FUNCTIONS"))
        units = tuple(u.lower() for u in getattr(kw, "UNITS", _FALLBACK_UNITS))
        if keys and funcs:
            return keys, funcs, units
    except (ImportError, AttributeError, TypeError):
        pass
    return _FALLBACK_KEYWORDS, _FALLBACK_FUNCTIONS, _FALLBACK_UNITS


KEYWORDS, FUNCTIONS, UNITS = vocabulary()
_CONSTANTS = ("null", "true", "false")


class CQLLexer(RegexLexer):
    """CQL, LeanCloud's Cloud Query Language (plus the cql shell's dot commands)."""

    name = "CQL"
    aliases = ["cql"]
    filenames = ["*.cql"]
    mimetypes = ["text/x-cql"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"(--|//).*?$", Comment.Single),
            (r"/\*", Comment.Multiline, "comment"),
            (r"(?m)^(\.[A-Za-z_]+)(.*)$", bygroups(Keyword.Pseudo, Text)),
            (r"'(?:[^'\\]|\\.|'')*'", String.Single),
            (r'"(?:[^"\\]|\\.|"")*"', String.Double),
            (r"`[^`\n]*`", Name.Variable),
            (r"0[xX][0-9a-fA-F]+", Number.Hex),
            (r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", Number),
            (words(_CONSTANTS, prefix=r"(?i)\b", suffix=r"\b"), Keyword.Constant),
            (words(tuple(k for k in KEYWORDS if k not in _CONSTANTS), prefix=r"(?i)\b", suffix=r"\b"),
             Keyword),
            (words(FUNCTIONS, prefix=r"(?i)\b", suffix=r"(?=\s*\()"), Name.Function),
            (words(UNITS, prefix=r"(?i)\b", suffix=r"\b"), Keyword.Type),
            (r"\?", Name.Variable.Magic),
            (r"\\G", Keyword.Pseudo),
            (r"[^\W\d]\w*", Name),
            (r"!=|<>|<=|>=|[=<>+\-*]", Operator),
            (r"[;,.():\[\]{}]", Punctuation),
            (r".", Text),
        ],
        "comment": [
            (r"[^*/]+", Comment.Multiline),
            (r"\*/", Comment.Multiline, "#pop"),
            (r"[*/]", Comment.Multiline),
        ],
    }

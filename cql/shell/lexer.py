"""A pygments lexer for CQL (highlighting in the shell; ``pygmentize -l cql``).

Keywords, functions and distance units come from cql.keywords.
"""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation,
                            String, Text, Whitespace)

from ..keywords import DISTANCE_UNITS, FUNCTIONS, KEYWORDS

UNITS = tuple(DISTANCE_UNITS)
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

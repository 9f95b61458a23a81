"""The rows of a long INSERT of plain literals, read in one pass.

A 1000-row ``INSERT ... VALUES`` text spends its time in the parser, one
value at a time (lalr.py's row lane). When every row after the first holds
only plain values (single-quoted strings without escapes, double quotes,
parentheses or ``?``; integers and decimals of up to 15 digits before the point;
true, false, null; ``?``; flat arrays of those), one regex checks the whole tail and
``json`` reads it: JSON writes those values the same way and with the same
meaning (CQL reads ``1`` as an int and ``1.5`` as a float, as json does).
The head and the first row still go through the parser, so names, columns
and every check stay its own. Anything else (a function, an escape,
an exponent, a comment, a second statement) leaves the text to the parser.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any, Callable, List, Optional, Tuple

from . import ast

__all__ = ["MIN_LENGTH", "parse_long_insert"]

MIN_LENGTH = 16_384  # below this the row lane is as fast

_WS = r"[ \t\r\n]*"
_SCALAR = (r"'[^'\\\"()?\x00-\x1f\ud800-\udfff]*'|\?"
           r"|-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,17})?(?![0-9.eExX])"
           r"|(?:true|false|null)(?![A-Za-z0-9_])")
_VALUE = rf"(?:{_SCALAR}|\[{_WS}(?:(?:{_SCALAR}){_WS}(?:,{_WS}(?:{_SCALAR}){_WS})*)?\])"
_ROW = rf"\({_WS}{_VALUE}{_WS}(?:,{_WS}{_VALUE}{_WS})*\)"
_HEAD = r"[ \t\r\n]*insert[ \t\r\n]+into[ \t\r\n][^;'\"\\]*?[ \t\r\n)]values" + _WS
_FIRST_ROW = r"\([^()'\"\\]*(?:'[^'\\]*'[^()'\"\\]*)*\)"
_TAIL = rf"{_WS},{_WS}({_ROW}(?:{_WS},{_WS}{_ROW})*){_WS}(;{_WS})?\Z"


@functools.lru_cache(maxsize=None)
def _patterns() -> Tuple[Any, Any, Any]:
    """Compiled on the first long text (15 ms; most runs of cql -e parse none)."""
    return re.compile(_HEAD, re.I), re.compile(_FIRST_ROW), re.compile(_TAIL)
_TO_JSON = str.maketrans({"'": '"', "(": "[", ")": "]", "?": "{}"})  # {} stands for a ? (no object gets here)


def parse_long_insert(text: str, parse_head: Callable[[str], List[ast.Statement]]
                      ) -> Optional[ast.Insert]:
    """The one INSERT of ``text`` when its rows after the first are plain
    literals (see the module doc), else None. ``parse_head`` parses the text
    up to the end of the first row."""
    head_re, first_re, tail_re = _patterns()
    head = head_re.match(text)
    if head is None:
        return None
    first = first_re.match(text, head.end())
    if first is None:
        return None
    tail = tail_re.match(text, first.end())
    if tail is None:
        return None
    try:
        rows = json.loads("[" + tail.group(1).translate(_TO_JSON) + "]")
    except ValueError:
        return None
    statements = parse_head(text[:first.end()])
    if len(statements) != 1 or not isinstance(statements[0], ast.Insert):
        return None
    insert = statements[0]
    width = len(insert.columns)
    if len(insert.rows) != 1 or any(len(row) != width for row in rows):
        return None  # the parser says which row is wrong, and where
    pos = insert.rows[0][0].pos if insert.rows[0] else insert.pos
    end = tail.start(2) if tail.group(2) is not None else len(text)
    params = [insert.param_count]
    more = tuple(_nodes(rows, pos, params))
    return dataclasses.replace(insert, rows=insert.rows + more, param_count=params[0], source=text, end=end)


def _nodes(rows: List[list], pos: ast.Pos, params: List[int]) -> Any:
    """Rows of ast.Literal / ast.Array / ast.Param, as the row lane builds them
    (one position for all: nothing after parsing points at a plain literal or
    a ?); ``params[0]`` counts the ? numbers given."""
    new, literal, array = object.__new__, ast.Literal, ast.Array

    def node(value: Any) -> Any:
        if value.__class__ is list:
            return array(tuple(node(v) for v in value), pos)
        if value.__class__ is dict:  # a ?
            params[0] += 1
            return ast.Param(params[0] - 1, pos)
        item = new(literal)  # ast.Literal(value, pos), without the dataclass __init__
        d = item.__dict__
        d["value"], d["pos"] = value, pos
        return item

    for row in rows:
        yield tuple([node(v) for v in row])

"""Values the shell itself reads and writes: arguments of ``.run`` and
``.set``, shell variables (``:name`` in a statement, psql's habit), and CQL
literals for ``.dump``.

Variables and arguments are bound as parameters (``?``), never pasted into
the text: ``:name`` becomes ``?`` padded with spaces to the same length, so
error columns still point into what the user wrote.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Sequence, Tuple

from .errors import CommandError

# What hides a ':' or '?' from binding: quotes, backticks, comments.
_TOKEN = re.compile(r"""
    '(?:[^'\\]|\\.|'')*'? | "(?:[^"\\]|\\.|"")*"? | `[^`]*`?
  | --[^\n]* | //[^\n]* | /\*[\s\S]*?(?:\*/|$)
  | (?P<var>:(?P<name>[A-Za-z_]\w*)(?!\s*\()) | (?P<param>\?)
""", re.X)
_NOT_VARIABLES = {"true", "false", "null"}   # {'a':true} is an object, not a variable
VARIABLE = re.compile(r"[A-Za-z_]\w*\Z")


def variables_in(text: str) -> List[str]:
    """The ``:name`` references of a statement, in order."""
    return [m.group("name") for m in _TOKEN.finditer(text)
            if m.group("var") and m.group("name").lower() not in _NOT_VARIABLES]


def placeholders(text: str) -> int:
    """How many ``?`` a statement has (outside quotes and comments)."""
    return sum(1 for m in _TOKEN.finditer(text) if m.group("param"))


def unbound(text: str) -> str:
    """The text with every ``:name`` as a ``?`` (to parse it before the
    variables are known)."""
    return _TOKEN.sub(lambda m: "?" + " " * len(m.group("name"))
                      if m.group("var") and m.group("name").lower() not in _NOT_VARIABLES else m.group(), text)


def bind(text: str, args: Sequence[Any], variables: Dict[str, Any]) -> Tuple[str, List[Any]]:
    """(text, parameters): each ``:name`` becomes a ``?`` bound to the
    variable, each ``?`` takes the next of ``args``. Without ``:name`` the
    text and ``args`` are returned as they are (the planner then says if the
    count of ``?`` is wrong)."""
    if ":" not in text or not variables_in(text):
        return text, list(args)
    out: List[str] = []
    params: List[Any] = []
    pos = 0
    given = list(args)
    for m in _TOKEN.finditer(text):
        if m.group("param"):
            if not given:
                raise CommandError(f"the statement has more ? placeholders than the {len(args)} "
                                   "value(s) given")
            params.append(given.pop(0))
        elif m.group("var") and m.group("name").lower() not in _NOT_VARIABLES:
            name = m.group("name")
            if name not in variables:
                known = ", ".join(sorted(variables)) or "none yet"
                raise CommandError(f"no variable :{name} (.set NAME VALUE sets one; set: {known})")
            params.append(variables[name])
            out.append(text[pos:m.start()] + "?" + " " * len(name))
            pos = m.end()
    if given:
        raise CommandError(f"{len(args)} value(s) given but the statement has only "
                           f"{len(args) - len(given)} ? placeholder(s)")
    out.append(text[pos:])
    return "".join(out), params


def split_args(text: str) -> List[str]:
    """Words separated by blanks outside quotes and brackets:
    ``10 'a b' pointer('C', 'x') [1, 2]`` is four words."""
    words: List[str] = []
    current: List[str] = []
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch in "([{":
            depth += 1
            current.append(ch)
        elif ch in ")]}":
            depth -= 1
            current.append(ch)
        elif ch.isspace() and depth <= 0:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
        i += 1
    if quote:
        raise CommandError(f"unclosed {quote} in {text.strip()}")
    if current:
        words.append("".join(current))
    return words


def literal_value(word: str, variables: Dict[str, Any]) -> Any:
    """One argument as a value: ``:name`` a variable; anything CQL reads as
    a value (``10``, ``'tom'``, ``true``, ``date('2024-01-01')``,
    ``pointer('C', 'id')``, ``[1, 2]``) that value; any other word its text."""
    if word.startswith(":") and word[1:] in variables:
        return variables[word[1:]]
    from .. import errors
    from ..parser import parse
    from ..planner import plan
    try:
        statements = parse(f"insert into Value (v) values ({word})")
        create = plan(statements[0], ()) if len(statements) == 1 else None
    except errors.Error:
        return word
    rows = getattr(create, "rows", ())
    return rows[0]["v"] if len(rows) == 1 and "v" in rows[0] else word


# -- writing CQL literals (.dump) -------------------------------------------------

_ESCAPES = {"\\": "\\\\", "'": "''", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str) -> str:
    """A CQL string literal that reads back as exactly ``text``."""
    out = []
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is None and (ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF):
            esc = f"\\u{ord(ch):04x}"
        out.append(esc or ch)
    return "'" + "".join(out) + "'"


def literal(value: Any, pointer_text: Any = None) -> str:
    """A REST JSON value as CQL text that a statement reads back as the same
    value: ``date('...')``, ``pointer('C', 'id')``, ``geopoint(lng, lat)``,
    ``base64('...')``, ``[...]``, ``{'k': ...}``. ``pointer_text(class, id)``
    may write a pointer otherwise (a variable)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, pointer_text) for v in value) + "]"
    if isinstance(value, dict):
        kind = value.get("__type")
        if kind == "Date" and set(value) == {"__type", "iso"}:
            return f"date({quote(value['iso'])})"
        if kind == "Pointer" and set(value) == {"__type", "className", "objectId"}:
            if pointer_text is not None:
                return pointer_text(value["className"], value["objectId"])
            return f"pointer({quote(value['className'])}, {quote(value['objectId'])})"
        if kind == "GeoPoint" and set(value) == {"__type", "latitude", "longitude"}:
            return f"geopoint({literal(value['longitude'])}, {literal(value['latitude'])})"
        if kind == "Bytes" and set(value) == {"__type", "base64"}:
            return f"base64({quote(value['base64'])})"
        if kind == "File" and set(value) == {"__type", "id"}:
            return f"file({quote(value['id'])})"
        return "{" + ", ".join(f"{quote(k)}: {literal(v, pointer_text)}" for k, v in value.items()) + "}"
    return quote(json.dumps(value))  # pragma: no cover (REST JSON has no other types)

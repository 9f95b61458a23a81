"""What kind of token is expected at the cursor: a PURE function of the text
(no connection, no metadata), so it is unit-tested on its own. The completer
(completer.py) turns these kinds into candidates from the schema — litecli's
``suggest_type`` split.

``suggest(text_before_cursor, full_text=None)`` returns a list of dicts:
``{"type": "keyword"}``, ``{"type": "function"}``, ``{"type": "class"}``,
``{"type": "field", "class": "GameScore"}`` (class None when unknown),
``{"type": "command"}``, ``{"type": "file"}``, ``{"type": "format"}``,
``{"type": "onoff"}``; and ``{"type": "keyword", "only": [...]}`` when just a
few keywords fit. An empty list: nothing to offer (inside a string or comment).
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from ..splitter import COMMAND_WORDS, scan

Suggestion = Dict[str, object]

_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|//[^\n]*|/\*.*?(\*/|$))
  | (?P<string>'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?)
  | (?P<quoted>`[^`\n]*`?)
  | (?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d]\w*)
  | (?P<op>!=|<>|<=|>=|[=<>+\-*?])
  | (?P<punct>[;,.():\[\]{}])
  | (?P<space>\s+)
""", re.X | re.S)

CLAUSES = ("select", "from", "where", "limit", "order", "insert", "into", "values", "update", "set",
           "delete", "include")
STARTERS = ["select", "insert", "update", "delete"]
_NAME = r"(`[^`\n]*`|[^\W\d]\w*)"


def _tokens(text: str) -> List[tuple]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            out.append(("other", text[pos]))
            pos += 1
            continue
        kind = m.lastgroup
        if kind != "space":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _current_statement(text: str) -> str:
    """The text after the last terminator outside quotes and comments."""
    spans, _open = scan(text)
    if spans and not spans[-1][2]:
        return text[spans[-1][0]:]
    return ""


def unquote(name: str) -> str:
    return name[1:-1] if name.startswith("`") and name.endswith("`") else name


def statement_class(statement: str, cursor: Optional[int] = None) -> Optional[str]:
    """The class a statement works on: after FROM/INTO/UPDATE; the last one
    before the cursor if any (the innermost open subquery), else the first."""
    found = [(m.start(), unquote(m.group(2)))
             for m in re.finditer(r"(?i)\b(from|into|update)\s+" + _NAME, statement)]
    if not found:
        return None
    if cursor is not None:
        before = [name for pos, name in found if pos < cursor]
        if before:
            return before[-1]
    return found[0][1]


def _command_suggestion(line: str) -> List[Suggestion]:
    from .commands import completion_kinds
    if not re.search(r"\s", line):
        return [{"type": "command"}]
    name, rest = line.split(None, 1) if len(line.split(None, 1)) == 2 else (line.strip(), "")
    kinds = completion_kinds(name)
    if not kinds:
        return []
    if kinds[0] == "statement":
        return suggest(rest)
    done = len(rest.split()) - (0 if rest[-1:].isspace() or not rest else 1)
    if done >= len(kinds):
        return []
    return [{"type": kinds[done]}]


def suggest(text_before_cursor: str, full_text: Optional[str] = None) -> List[Suggestion]:
    """The kinds of token that may come at the cursor."""
    # A dot command: the current line starts with "." and nothing is pending.
    line = text_before_cursor.rsplit("\n", 1)[-1].lstrip()
    pending = _current_statement(text_before_cursor[: len(text_before_cursor) - len(line)])
    if not pending.strip() and (line.startswith((".", "\\")) or line.split(" ", 1)[0].lower() in COMMAND_WORDS):
        if not line.startswith(".") and not re.search(r"\s", line):
            return []  # a habit's name (\d, describe) is typed whole
        return _command_suggestion(line)

    _spans, open_ = scan(text_before_cursor)
    if open_ is not None:
        return []
    statement = _current_statement(text_before_cursor)
    toks = _tokens(statement)
    if toks and toks[-1][0] == "comment":
        return []
    if toks and toks[-1][0] in ("word", "quoted", "number") and statement and not statement[-1].isspace():
        toks = toks[:-1]  # the word being typed
    if not toks:
        return [{"type": "keyword", "only": STARTERS}]

    full_statement = statement
    if full_text is not None and full_text.startswith(text_before_cursor):
        after = full_text[len(text_before_cursor):]
        full_statement = statement + after.split(";", 1)[0]
    cls = statement_class(full_statement, cursor=len(statement))

    kind, value = toks[-1]
    prev = value.lower() if kind == "word" else value
    words = [v.lower() for k, v in toks if k == "word"]
    clause = next((w for w in reversed(words) if w in CLAUSES), None)
    fields = {"type": "field", "class": cls}

    if prev in ("from", "into", "update"):
        return [{"type": "class"}]
    if prev == "delete":
        return [{"type": "keyword", "only": ["from"]}]
    if prev == "insert":
        return [{"type": "keyword", "only": ["into"]}]
    if prev == "order":
        return [{"type": "keyword", "only": ["by"]}]
    if len(toks) >= 2 and toks[-2][0] == "word" and toks[-2][1].lower() in ("from", "into", "update") \
            and kind in ("word", "quoted"):
        after_class = {"from": ["where", "limit", "order"], "into": [], "update": ["set"]}[toks[-2][1].lower()]
        if toks[-2][1].lower() == "into":
            return [{"type": "keyword", "only": ["values"]}]
        return [{"type": "keyword", "only": after_class}]
    if clause == "into":
        return [fields] if "(" in [v for k, v in toks] else [{"type": "keyword", "only": ["values"]}]
    if clause in ("select", "include"):
        return [fields, {"type": "function"}, {"type": "keyword", "only": ["from", "include"]}]
    if clause in ("where", "set", "order"):
        if prev == "by" or prev == "," and clause == "order":
            return [fields]
        return [fields, {"type": "function"}, {"type": "keyword"}]
    if clause == "values":
        return [{"type": "function"}, {"type": "keyword", "only": ["null", "true", "false"]}]
    if clause == "limit":
        return [{"type": "keyword", "only": ["order"]}]
    return [{"type": "keyword"}]

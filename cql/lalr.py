"""The fast parse path: one regex lexer and a tight LALR loop over plain tables.

Lark's lexer and parser loop cost ~2/3 of a parse, and importing Lark costs
~20 ms of start-up. This path needs neither: ``tables_from_lark`` turns the
tables of Lark's analysis into plain data (cached per user by cql.parser), and
``FastParser`` runs them with the same callbacks (cql.ast_builder), shaping
children exactly as Lark's parse-tree builder would. Keywords are recognised
as Lark's contextual lexer does: only where the parser state accepts them. On
anything unusual (a character it cannot lex, a token the table rejects) it
returns None and Lark's own parser runs, so errors come from one place and the
two cannot diverge (tests/test_lang_fuzz.py checks that they agree).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from . import ast
from .ast_builder import Builder, number_value, parse_state, string_value

__all__ = ["FastParser", "tables_from_lark", "TABLE_FORMAT"]

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


# The row lane (see _row): a plain value of a VALUES row and the delimiter
# after it, or the opening of an array; the same token patterns as _LEX.
# Compiled on the first INSERT (most runs of cql -e parse none).
_LANE_PATTERNS = {
    "scalar": (r"""[ \t\r\n]*
('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"
|[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])
|(?:[tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|[nN][uU][lL][lL])(?!\w)
|\?)
[ \t\r\n]*([,)\]])""", re.X),
    "open": (r"[ \t\r\n]*\[", 0),
    "close": (r"[ \t\r\n]*([,)\]])", 0),
    "blanks_close": (r"[ \t\r\n]*([)\]])", 0),
    "open_row": (r"[ \t\r\n]*\(", 0),
}
_lane: Dict[str, Any] = {}


def _lane_re(name: str) -> Any:
    pattern = _lane.get(name)
    if pattern is None:
        pattern = _lane[name] = re.compile(*_LANE_PATTERNS[name])
    return pattern


_WORDS = {"true": True, "false": False, "null": None}
_new = object.__new__
_Pos, _Literal = ast.Pos, ast.Literal


class _Tok(str):
    """A token for the callbacks: the text plus type and position (like lark.Token)."""
    type: str
    start_pos: int
    line: int
    column: int


TABLE_FORMAT = 1  # bump when tables_from_lark or _rule_callback change meaning


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
    return {"format": TABLE_FORMAT, "states": states, "rules": specs,
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


class FastParser:
    def __init__(self, data: Dict[str, Any]):
        builder = Builder()
        rules = [(_rule_callback(builder, spec), spec[1], spec[0]) for spec in data["rules"]]
        # state -> terminal -> (True, next state) | (False, (callback, size, rule origin))
        self.states: Dict[Any, Dict[str, Tuple[bool, Any]]] = {
            state: {term: (True, arg) if is_shift else (False, rules[arg])
                    for term, (is_shift, arg) in row.items()}
            for state, row in data["states"].items()}
        self.start_state = data["start"]
        self.end_state = data["end"]
        self.keywords: Dict[str, str] = dict(data["keywords"])
        # states where a VALUES row may begin -> the state after that row
        self.row_goto: Dict[Any, Any] = {state: row["row"][1] for state, row in self.states.items()
                                         if "row" in row and row["row"][0] and "_LPAR" in row}

    def parse(self, text: str) -> Optional[List[ast.Statement]]:
        """The statements, or None to let Lark parse (and report errors)."""
        states, keywords = self.states, self.keywords
        match = _LEX.match
        end_state = self.end_state
        row_goto = self.row_goto
        state_stack = [self.start_state]
        value_stack: List[Any] = []
        pos, line, line_start = 0, 1, 0
        st = parse_state
        while True:
            goto = row_goto.get(state_stack[-1])
            if goto is not None:  # a VALUES row may start here: the lane
                got = _row(text, pos, line, line_start)
                if got is not None:
                    row, pos, line, line_start = got
                    state_stack.append(goto)
                    value_stack.append(row)
                    continue
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



def _row(text: str, pos: int, line: int, line_start: int) -> Optional[Tuple[tuple, int, int, int]]:
    """A VALUES row of plain literals at ``pos`` (after blanks), as the ``row``
    rule's callbacks would build it, in one pass (one regex match per value
    instead of a lexer call and parser steps per token); None when the row
    holds anything else (a function, an object, a comment, an error): then the
    LALR loop parses it. Why: a 1000-row INSERT spends its time here."""
    m = _lane_re("open_row").match(text, pos)
    if m is None:
        return None
    i = m.end()
    lines = _Lines(text, pos, line, line_start)
    lines.to(i)
    qmarks = parse_state.qmarks
    got = _values(text, i, lines)
    if got is None or got[2] != ")":
        parse_state.qmarks = qmarks  # the LALR loop numbers them again
        return None
    return tuple(got[0]), got[1], lines.line, lines.start


class _Lines:
    """Line numbers while the lane moves forward: a count only when a newline
    was passed (rows are mostly on one line)."""

    __slots__ = ("text", "at", "line", "start", "nl")

    def __init__(self, text: str, at: int, line: int, start: int):
        self.text, self.at, self.line, self.start = text, at, line, start
        nl = text.find("\n", at)
        self.nl = nl if nl >= 0 else len(text)

    def to(self, x: int) -> None:
        """Move to offset x (>= the last one), counting newlines passed."""
        if x > self.nl:
            text = self.text
            self.line += text.count("\n", self.at, x)
            self.start = text.rindex("\n", self.at, x) + 1
            nl = text.find("\n", x)
            self.nl = nl if nl >= 0 else len(text)
        self.at = x


def _values(text: str, i: int, lines: _Lines) -> Optional[Tuple[list, int, str]]:
    """Comma-separated plain values from ``i`` up to a closing ) or ]:
    (items, end, closer), or None."""
    scalar, st, new, words = _lane_re("scalar").match, parse_state, _new, _WORDS
    items: list = []
    m0 = _lane_re("blanks_close").match(text, i)
    if m0 is not None:  # () or []
        lines.to(m0.end())
        return items, m0.end(), m0.group(1)
    while True:
        m = scalar(text, i)
        if m is not None:
            raw, closer = m.group(1, 2)
            start = m.start(1)
            if start > lines.nl:
                lines.to(start)
            where = new(_Pos)  # ast.Pos(line, column, start), without the dataclass __init__
            d = where.__dict__
            d["line"], d["column"], d["offset"] = lines.line, start - lines.start + 1, start
            c = raw[0]
            try:
                if c == "'" or c == '"':
                    value: Any = string_value(raw)
                elif c == "?":
                    item: Any = ast.Param(st.qmarks, where)
                    st.qmarks += 1
                    value = item
                elif c in "tTfFnN":
                    value = words[raw.lower()]
                else:
                    value = int(raw) if raw.isdigit() else number_value(raw)
            except Exception:  # a string or number in error: the LALR loop says so
                return None
            if c != "?":
                item = new(_Literal)  # ast.Literal(value, where)
                d = item.__dict__
                d["value"], d["pos"] = value, where
            i = m.end()
            if i > lines.nl:
                lines.to(i)
        else:
            a = _lane_re("open").match(text, i)
            if a is None:
                return None
            lines.to(a.end())
            inner = _values(text, a.end(), lines)
            if inner is None or inner[2] != "]":
                return None
            values, j, _c = inner
            item = ast.Array(tuple(values), values[0].pos if values else ast.NOPOS)
            b = _lane_re("close").match(text, j)
            if b is None:
                return None
            i, closer = b.end(), b.group(1)
            lines.to(i)
        items.append(item)
        if closer != ",":
            return items, i, closer

"""LIKE-shaped regular expressions, matched in time linear in the text.

``like_to_regex`` turns ``name like '%a%b_'`` into ``a.*b.$``: literals, ``.``,
``.*``, ``[...]`` classes and the ``^``/``$`` anchors. A backtracking engine
(Python ``re``, PCRE) tries every way of splitting the text among the ``.*``s,
so ``%a%a%a%a%b`` on a few hundred ``a``s takes seconds. None of this needs
backtracking: ``like_matcher`` recognises such a pattern (also when written as
``regexp``) and matches it

- without any ``.*`` with ``re`` itself (a fixed-length pattern: at most
  ``len(text) * len(pattern)`` steps);
- else, when nothing in it can match a newline (the usual case), line by line:
  each run between ``.*``s is a fixed-length pattern, found at its earliest
  place after the previous one (earliest is always best: the rest of the line
  stays longest);
- else with a bit-parallel automaton (one set of states per character).

Semantics are Python's and PCRE's defaults, exactly: ``.`` is any character but
``\\n``, ``^`` the start of the text, ``$`` its end or just before a final
``\\n``. tests/test_regex.py checks all three paths against ``re``.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

__all__ = ["like_matcher"]

# A token: (regex text of one character, star?). Star tokens are always ".*".
Token = Tuple[str, bool]

_META = frozenset("\\.^$*+?()[]{}|")
_SET_OPERATORS = ("[:", "[=", "[.", "&&", "||", "--", "~~")  # POSIX classes, set operations


def like_matcher(pattern: str, options: str) -> Optional[Callable[[str], bool]]:
    """A linear-time ``search`` for a LIKE-shaped ``pattern`` (None if it is not one)."""
    if options:
        return None
    parsed = _parse(pattern)
    if parsed is None:
        return None
    start, tokens, end = parsed
    if not any(star for _, star in tokens):
        text = ("^" if start else "") + "".join(t for t, _ in tokens) + ("$" if end else "")
        search = re.compile(text).search  # fixed length: no backtracking to speak of
        return lambda text: search(text) is not None
    singles = [re.compile(text) for text, star in tokens if not star]
    if not any(p.match("\n") for p in singles):
        return _by_lines(start, tokens, end)
    return _automaton(start, tokens, end)


def _parse(pattern: str) -> Optional[Tuple[bool, List[Token], bool]]:
    """(anchored at the start, tokens with consecutive stars merged, anchored at
    the end), or None when the pattern holds anything else."""
    i, n = 0, len(pattern)
    start = pattern.startswith("^")
    if start:
        i = 1
    tokens: List[Token] = []
    end = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n or pattern[i + 1].isalnum() or pattern[i + 1].isspace():
                return None  # \d, \b, \1, ...: not a literal
            tokens.append((re.escape(pattern[i + 1]), False))
            i += 2
        elif ch == ".":
            if pattern[i + 1:i + 2] == "*":
                if not (tokens and tokens[-1][1]):
                    tokens.append((".", True))
                i += 2
            else:
                tokens.append((".", False))
                i += 1
        elif ch == "[":
            close = _class_end(pattern, i)
            if close is None:
                return None
            text = _plain_class(pattern[i:close + 1])
            if text is None:
                return None
            tokens.append((text, False))
            i = close + 1
        elif ch == "$" and i == n - 1:
            end = True
            i += 1
        elif ch in _META:
            return None
        else:
            tokens.append((re.escape(ch), False))
            i += 1
        if i < n and pattern[i] in "*+?{" and not (tokens and tokens[-1][1]):
            return None  # a quantifier on something other than '.'
    return start, tokens, end


def _class_end(pattern: str, i: int) -> Optional[int]:
    """The index of the ']' closing the class opened at ``i`` (None: not a plain class)."""
    j = i + 1
    if pattern[j:j + 1] == "^":
        j += 1
    if pattern[j:j + 1] == "]":
        j += 1  # a leading ']' is a literal
    while j < len(pattern):
        ch = pattern[j]
        if ch == "\\":
            if j + 1 < len(pattern) and pattern[j + 1].isalpha() and pattern[j + 1] not in "dDsSwW":
                return None  # \N{...}, \x.., \u....: leave to the full engine
            j += 2
            continue
        if ch == "]":
            body = pattern[i + 1:j]
            if any(op in body for op in _SET_OPERATORS):
                return None
            return j
        j += 1
    return None


def _plain_class(text: str) -> Optional[str]:
    """A class as ``re`` reads it alike everywhere: a '[' inside is a literal
    (escaped, so no "nested set" warning); None if ``re`` refuses it."""
    out = [text[0]]
    i = 1
    while i < len(text) - 1:
        ch = text[i]
        if ch == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        out.append("\\[" if ch == "[" else ch)
        i += 1
    out.append("]")
    plain = "".join(out)
    try:
        re.compile(plain)
    except re.error:
        return None
    return plain


def _segments(tokens: List[Token]) -> Tuple[bool, List["re.Pattern[str]"], List[int], bool]:
    """(leading star, the fixed runs between stars compiled, their lengths, trailing star)."""
    runs: List[List[str]] = [[]]
    for text, star in tokens:
        if star:
            runs.append([])
        else:
            runs[-1].append(text)
    lead = tokens[0][1]
    trail = tokens[-1][1]
    fixed = [r for r in runs if r]
    return lead, [re.compile("".join(r)) for r in fixed], [len(r) for r in fixed], trail


def _by_lines(start: bool, tokens: List[Token], end: bool) -> Callable[[str], bool]:
    """Nothing but ``.*`` spans characters and nothing matches '\\n': a match lies
    inside one line; find each fixed run at its earliest place in that line."""
    lead, runs, sizes, trail = _segments(tokens)
    first_fixed = start and not lead
    last_fixed = end and not trail
    last = len(runs) - 1

    def in_line(line: str) -> bool:
        pos = 0
        for k, run in enumerate(runs):
            if k == last and last_fixed:
                at = len(line) - sizes[k]
                return at >= pos and (k > 0 or not first_fixed or at == 0) and run.match(line, at) is not None
            if k == 0 and first_fixed:
                m = run.match(line)
            else:
                m = run.search(line, pos)
            if m is None:
                return False
            pos = m.end()
        return True

    def search(text: str) -> bool:
        if "\n" not in text:
            return in_line(text)
        lines = text.split("\n")
        if start:
            # line 0; with '$' too, it must also be the last line (or the one before a final '\n')
            if end and not (len(lines) == 1 or (len(lines) == 2 and lines[1] == "")):
                return False
            return in_line(lines[0])
        if end:
            if lines[-1] == "" and in_line(lines[-2]):
                return True
            return in_line(lines[-1])
        for line in lines:
            if in_line(line):
                return True
        return False
    return search


def _automaton(start: bool, tokens: List[Token], end: bool) -> Callable[[str], bool]:
    """Shift-And over the tokens: bit j set = the first j tokens matched; a star
    token may match again (it stays) or not at all (closure). Stars never stand
    side by side (merged), so one closure step suffices."""
    m = len(tokens)
    singles = [re.compile(text) for text, _ in tokens]
    stars = 0
    for j, (_, star) in enumerate(tokens, 1):
        if star:
            stars |= 1 << j
    accept = 1 << m
    init = 1 | (2 & stars)  # state 0, and state 1 when the first token is a star
    masks: dict = {}

    def mask(ch: str) -> int:
        bits = 0
        for j, single in enumerate(singles, 1):
            if single.match(ch):
                bits |= 1 << j
        masks[ch] = bits
        return bits

    def search(text: str) -> bool:
        states = init
        if states & accept and not end:
            return True
        last = len(text) - 1
        get = masks.get
        for i, ch in enumerate(text):
            if end and i == last and ch == "\n" and states & accept:
                return True  # '$' before a final newline
            b = get(ch)
            if b is None:
                b = mask(ch)
            states = ((states << 1) & b) | (states & stars & b)
            if not start:
                states |= 1
            states |= (states << 1) & stars
            if states & accept and not end:
                return True
            if not states:
                return False
        return bool(states & accept)
    return search

"""``$regex``: MongoDB (PCRE) patterns and ``$options``, matched in bounded time.

A pattern is matched by one of two engines:

- LIKE-shaped patterns (what ``like`` lowers to: literals, ``.``, ``.*``,
  ``[...]``, ``^``, ``$``, no options) by ``like.like_matcher``, in time linear
  in the text;
- everything else by the ``regex`` package (mrab-regex), a backtracking engine
  that keeps what PCRE users write (lookaround, backreferences, atomic groups,
  possessive quantifiers, ``\\p{Han}``, ``[[:alpha:]]``, ``(?<name>...)``) and
  can stop a match after a timeout. A linear-time engine (RE2) was the other
  choice; it would refuse lookaround and backreferences that MongoDB accepts.

Bounds, so that no pattern can stall a statement:
- a pattern longer than ``MAX_PATTERN`` characters (MongoDB's own limit) is
  refused, code 300;
- nested counted repetitions (``(?:a{100}){100}``) are what the regex package
  unrolls when compiling (seconds, uninterruptible): more than ``MAX_NESTED``
  levels, or more than ``MAX_EXPANSION`` unrolled items, is refused, code 300;
- matching shares a time budget per statement (``statement_budget``, the
  backends' ``regex_timeout`` option, 10 s by default): the regex package's CPU
  time is counted across all the statement's matches, and running out is
  ``QueryTimeout`` (LeanCloud's code 124).

PCRE's ``\\Q...\\E`` quoting is translated; the options are MongoDB's
``i m s x``. Patterns are compiled once (cached).
"""
from __future__ import annotations

import re
import threading
import time
from functools import lru_cache
from typing import Any, Callable, List, Optional

from ..errors import CQLError, QueryTimeout
from .like import like_matcher
from .values import REGEX_ERROR, query_error

__all__ = ["compile_regex", "regex_search", "regex_predicate", "statement_budget",
           "DEFAULT_BUDGET", "MAX_PATTERN", "MAX_NESTED", "MAX_EXPANSION"]

#: Seconds of regex matching one statement may spend (the regex_timeout option).
DEFAULT_BUDGET = 10.0
#: The longest pattern accepted (MongoDB refuses longer ones too).
MAX_PATTERN = 32764
#: Counted repetitions inside counted repetitions, at most this deep ...
MAX_NESTED = 4
#: ... and at most this many items once every counted repetition is unrolled.
MAX_EXPANSION = 100_000

_PCRE_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.S)
_FLAG_NAMES = "imsx"
_COUNTED = re.compile(r"\{(\d*)(?:,(\d*))?\}")


# -- the budget -----------------------------------------------------------------------

class _Budget(threading.local):
    left: Optional[float] = None  # seconds left for this thread's statement; None: none running


_budget = _Budget()


class statement_budget:
    """``with statement_budget(seconds):`` one statement's matches share ``seconds``
    (None: the default). Outside one, each match gets the default on its own."""

    __slots__ = ("seconds", "saved")

    def __init__(self, seconds: Optional[float] = None):
        self.seconds = DEFAULT_BUDGET if seconds is None else float(seconds)

    def __enter__(self) -> "statement_budget":
        self.saved = _budget.left
        _budget.left = self.seconds
        return self

    def __exit__(self, *exc: Any) -> None:
        _budget.left = self.saved


# -- compiling ---------------------------------------------------------------------

def _regex_module() -> Any:
    import regex  # mrab-regex: imported on first use (import cql stays lean)
    return regex


def _refuse(pattern: str, why: str) -> CQLError:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return CQLError(f"invalid regular expression {shown!r}: {why}", REGEX_ERROR)


def _check_repetition(pattern: str) -> None:
    """Refuse nested counted repetitions the regex package would unroll for
    seconds while compiling (it cannot be interrupted there)."""
    # One frame per open group: [items so far, deepest counted nesting inside]
    frames: List[List[int]] = [[0, 0]]
    last_size, last_depth = 0, 0
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            last_size, last_depth = 1, 0
            frames[-1][0] += 1
            continue
        if ch == "[":
            j = i + 1
            if pattern[j:j + 1] == "^":
                j += 1
            if pattern[j:j + 1] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            last_size, last_depth = 1, 0
            frames[-1][0] += 1
            continue
        if ch == "(":
            frames.append([0, 0])
            i += 1
            continue
        if ch == ")" and len(frames) > 1:
            size, depth = frames.pop()
            last_size, last_depth = max(size, 1), depth
            frames[-1][0] += last_size
            frames[-1][1] = max(frames[-1][1], depth)
            i += 1
            continue
        if ch == "{":
            m = _COUNTED.match(pattern, i)
            if m is not None and (m.group(1) or m.group(2)):
                times = max(int(m.group(1) or 0), int(m.group(2) or 0), 1)
                grown = last_size * (times - 1)
                depth = last_depth + 1
                if depth > MAX_NESTED:
                    raise _refuse(pattern, f"counted repetitions ({m.group(0)}) nested more than "
                                  f"{MAX_NESTED} deep; write the repetition out or simplify it")
                frames[-1][0] += grown
                frames[-1][1] = max(frames[-1][1], depth)
                last_size, last_depth = last_size * times, depth
                if frames[-1][0] > MAX_EXPANSION:
                    raise _refuse(pattern, f"its counted repetitions expand to more than {MAX_EXPANSION:,} "
                                  "items; use * or + where an exact count is not needed")
                i = m.end()
                continue
        last_size, last_depth = 1, 0
        frames[-1][0] += 1
        i += 1
    total = sum(f[0] for f in frames)
    if total > MAX_EXPANSION:
        raise _refuse(pattern, f"its counted repetitions expand to more than {MAX_EXPANSION:,} items; "
                      "use * or + where an exact count is not needed")


def _flags(options: str) -> int:
    flags = 0
    for ch in options:
        if ch not in _FLAG_NAMES:
            raise query_error(f"Bad $options value for query: {options} (allowed: i, m, s, x)")
    regex = _regex_module()
    for ch, flag in (("i", regex.IGNORECASE), ("m", regex.MULTILINE), ("s", regex.DOTALL),
                     ("x", regex.VERBOSE)):
        if ch in options:
            flags |= flag
    return flags


def _check_size(pattern: str) -> None:
    if len(pattern) > MAX_PATTERN:
        raise CQLError(f"the regular expression is {len(pattern):,} characters long; the limit is "
                       f"{MAX_PATTERN:,} (as in MongoDB): match on a shorter pattern", REGEX_ERROR)


@lru_cache(maxsize=1024)
def compile_regex(pattern: str, options: str = "") -> Any:
    """The compiled ``regex`` pattern for a MongoDB/PCRE ``$regex`` with ``$options`` (cached)."""
    _check_size(pattern)
    flags = _flags(options)
    text = _PCRE_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    _check_repetition(text)
    regex = _regex_module()
    try:
        return regex.compile(text, flags)
    except (regex.error, OverflowError, RecursionError, ValueError, MemoryError) as exc:
        raise _refuse(pattern, str(exc)) from None


@lru_cache(maxsize=1024)
def regex_search(pattern: str, options: str = "") -> Callable[[str], bool]:
    """``search(text) -> bool`` for a ``$regex``: linear for LIKE-shaped
    patterns, else within the statement's time budget (cached)."""
    _check_size(pattern)
    for ch in options:
        if ch not in _FLAG_NAMES:
            raise query_error(f"Bad $options value for query: {options} (allowed: i, m, s, x)")
    linear = like_matcher(pattern, options)
    if linear is not None:
        return linear
    search = compile_regex(pattern, options).search
    clock = time.perf_counter
    budget = _budget

    def timed_search(text: str) -> bool:
        left = budget.left
        limit = DEFAULT_BUDGET if left is None else left
        if limit <= 0:
            raise _timeout(pattern, 0.0)
        began = clock()
        try:
            return search(text, timeout=limit) is not None
        except TimeoutError:
            if left is not None:
                budget.left = 0.0
            raise _timeout(pattern, limit) from None
        finally:
            if left is not None and budget.left:
                budget.left -= clock() - began
    return timed_search


def _timeout(pattern: str, limit: float) -> QueryTimeout:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return QueryTimeout(
        f"the regular expression {shown!r} ran out of this statement's time budget for matching "
        "(regex_timeout): patterns with nested repetition such as (a+)+ or (a|a)* can take time "
        "exponential in the text; simplify the pattern, or raise regex_timeout")


def regex_predicate(pattern: Any, options: Any) -> Callable[[Any], bool]:
    """A string matching ``pattern``, or an array with such a string element."""
    if type(pattern) is not str or type(options) is not str:  # subclasses: as plain text
        if not (issubclass(type(pattern), str) and issubclass(type(options), str)):
            what = "$regex needs a string pattern" if not issubclass(type(pattern), str) else \
                "$options needs a string of flags"
            raise query_error(f"{what}, got {_shown(pattern if 'regex' in what else options)}")
        pattern, options = str.__str__(pattern), str.__str__(options)
    search = regex_search(pattern, options)

    def regex_vp(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return search(v)
        if t is list:
            for e in v:
                if e.__class__ is str and search(e):
                    return True
        return False
    return regex_vp


def _shown(value: Any) -> str:
    from ..errors import describe
    return describe(value)

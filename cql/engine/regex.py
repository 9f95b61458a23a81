"""``$regex`` as Python ``re``: MongoDB (PCRE) patterns and ``$options``.

PCRE's ``\\Q...\\E`` quoting and ``(?<name>...)`` groups are translated; the
options are MongoDB's ``i m s x``. Patterns are compiled once (cached).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from ..errors import CQLError
from .values import REGEX_ERROR, query_error

__all__ = ["compile_regex", "regex_predicate"]

_PCRE_QUOTE = re.compile(r"\\Q(.*?)(?:\\E|$)", re.S)
_PCRE_NAMED = re.compile(r"\(\?<(?=[A-Za-z_])")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@lru_cache(maxsize=1024)
def compile_regex(pattern: str, options: str = "") -> "re.Pattern[str]":
    """Python regex for a MongoDB/PCRE ``$regex`` with ``$options`` (cached)."""
    flags = 0
    for ch in options:
        if ch not in _FLAGS:
            raise query_error(f"Bad $options value for query: {options} (allowed: i, m, s, x)")
        flags |= _FLAGS[ch]
    text = _PCRE_QUOTE.sub(lambda m: re.escape(m.group(1)), pattern)
    text = _PCRE_NAMED.sub("(?P<", text)
    try:
        return re.compile(text, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise CQLError(f"invalid regular expression {pattern!r}: {exc}", REGEX_ERROR) from None


def regex_predicate(pattern: Any, options: Any) -> Callable[[Any], bool]:
    """A string matching ``pattern``, or an array with such a string element."""
    if not isinstance(pattern, str):
        raise query_error(f"$regex needs a string pattern, got {pattern!r}")
    if not isinstance(options, str):
        raise query_error(f"$options needs a string of flags, got {options!r}")
    search = compile_regex(pattern, options).search

    def regex_vp(v: Any) -> bool:
        t = v.__class__
        if t is str:
            return search(v) is not None
        if t is list:
            for e in v:
                if e.__class__ is str and search(e) is not None:
                    return True
        return False
    return regex_vp

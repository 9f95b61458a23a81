"""CQL text -> AST: ``parse(text)``, with a statement cache keyed by text.

The grammar (grammar/cql.lark, shipped as cql/grammar/cql.lark) is analysed by
Lark once; its LALR tables are cached per user as plain data, so later
processes parse with cql.lalr's fast path without importing Lark at all. Lark's
own parser (built once per process, on demand) parses whatever the fast path
declines and produces the syntax errors (cql.syntax_errors). The AST is built
by cql.ast_builder's callbacks during the parse. Every failure is a CQLError;
Lark's exceptions never leak.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

from . import ast, values_tail
from .ast_builder import Builder, on_qmark, on_semi, parse_state, syntax_error
from .errors import CQLError, CQLSyntaxError
from .keywords import VALUE_FUNCTIONS
from .lalr import TABLE_FORMAT, FastParser, tables_from_lark

__all__ = ["parse", "clear_cache", "grammar_path", "grammar_text", "get_parser", "VALUE_FUNCTIONS"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_GRAMMAR_CANDIDATES = (
    os.path.join(_HERE, "grammar", "cql.lark"),               # installed package
    os.path.join(os.path.dirname(_HERE), "grammar", "cql.lark"),  # source checkout
)


def grammar_path() -> str:
    """Where the grammar file is: inside the package when installed."""
    for candidate in _GRAMMAR_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    raise CQLError("the CQL grammar file is missing from the installation (cql/grammar/cql.lark)")


def grammar_text() -> str:
    path = grammar_path()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\n" not in text.strip() and text.strip().endswith(".lark"):
        # cql/grammar/cql.lark is a symlink to grammar/cql.lark; a checkout without
        # symlink support (Windows) leaves the link's target path as the file's text.
        with open(os.path.join(os.path.dirname(path), text.strip()), encoding="utf-8") as f:
            text = f.read()
    return text


# ---- the Lark parser, built once ------------------------------------------------------
_lark: Any = None
_lark_lock = threading.Lock()


def _digest(text: str) -> str:
    """A cache key for a text (zlib, not hashlib: hashlib's OpenSSL load costs ~2 ms)."""
    import zlib
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def _cache_dir() -> str:
    return os.environ.get("CQL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cql")


def _cache_file(text: str) -> Optional[str]:
    """Lark's own cache of the analysed grammar (used by the full parser)."""
    try:
        import lark
        digest = _digest(text + lark.__version__ + sys.version)
        os.makedirs(_cache_dir(), exist_ok=True)
        return os.path.join(_cache_dir(), f"grammar-{digest}.lark-cache")
    except Exception:
        return None


def _load_fast() -> FastParser:
    """The fast parser: tables from the user cache (no Lark import), else from Lark
    (then saved, atomically, for the next process)."""
    import marshal
    text = grammar_text()
    digest = _digest(f"{TABLE_FORMAT}:{text}")
    path = os.path.join(_cache_dir(), f"tables-{digest}.marshal")
    try:
        with open(path, "rb") as f:
            data = marshal.load(f)
        if data.get("format") == TABLE_FORMAT:
            return FastParser(data)
    except Exception:
        pass
    data = tables_from_lark(get_parser())
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        blob = marshal.dumps(data)
        os.makedirs(_cache_dir(), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except Exception:  # a read-only home, a full disk: parse anyway
        try:
            os.remove(tmp)
        except OSError:
            pass
    return FastParser(data)


def get_parser() -> Any:
    """The process-wide Lark LALR parser (tables cached on disk between runs)."""
    global _lark
    if _lark is None:
        with _lark_lock:
            if _lark is None:
                import logging
                from lark import Lark
                logging.getLogger("lark").setLevel(logging.CRITICAL)  # cache misses are not errors
                text = grammar_text()
                cache = _cache_file(text)
                options: Dict[str, Any] = dict(
                    parser="lalr", lexer="contextual", maybe_placeholders=True,
                    transformer=Builder(),
                    lexer_callbacks={"QMARK": on_qmark, "_SEMI": on_semi})
                try:
                    _lark = Lark(text, cache=cache or False, **options)
                except Exception:
                    _lark = Lark(text, **options)  # an unusable cache file: build in memory
    return _lark


_fast: Optional[FastParser] = None
FAST_PATH = True  # tests turn it off to compare both paths


# ---- public entry point ------------------------------------------------------------------
_CACHE: Dict[str, Tuple[ast.Statement, ...]] = {}
_CACHE_MAX = 2048
_CACHE_TEXT_MAX = 16_384  # longer texts are not cached (2048 x 1 MB would be 2 GB held)


def clear_cache() -> None:
    """Forget every cached parse (benchmarks use it to time real parsing)."""
    _CACHE.clear()


def _lark_parse(text: str) -> List[ast.Statement]:
    """Lark's own LALR parser: the reference, and the source of syntax errors."""
    from lark.exceptions import LarkError
    parser = get_parser()
    parse_state.reset(text)
    try:
        return parser.parse(text)
    except CQLError:
        raise
    except LarkError as exc:
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, CQLError):
            raise inner from None
        from .syntax_errors import convert
        raise convert(exc, text, parser) from None


def _refuse_surrogates(text: str) -> None:
    """A lone surrogate is not a character (no file or server could store it):
    a syntax error where it stands, the same on every backend."""
    from .types import surrogate_at
    at = surrogate_at(text)
    if at < 0:
        return
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    raise CQLSyntaxError(f"the text holds a lone surrogate (U+{ord(text[at]):04X}), which is not a character; "
                         "decode the text with errors='replace'", line=line, column=column, source=text)


def _parse_text(text: str) -> List[ast.Statement]:
    """The fast path's statements, else Lark's (and its errors)."""
    global _fast
    statements = None
    if FAST_PATH:
        if _fast is None:
            _fast = _load_fast()
        parse_state.reset(text)
        try:
            statements = _fast.parse(text)
        except (CQLError, RecursionError):
            raise
        except Exception:  # defensive: never let the fast path decide on a surprise
            statements = None
    return statements if statements is not None else _lark_parse(text)


def parse(text: str) -> List[ast.Statement]:
    """Parse CQL text (one statement or a ;-separated script) into statements.

    Raises CQLSyntaxError (300), UnsupportedError (300), InvalidClassName (103)
    or InvalidKey (105) with line/column; never another exception type.
    """
    if not isinstance(text, str):
        raise CQLSyntaxError(f"CQL must be a string, not {type(text).__name__}")
    cached = _CACHE.get(text)
    if cached is not None:
        return list(cached)
    if type(text) is not str:
        text = str.__str__(text)  # a str subclass: its own methods are not ours to call
    if not text.isascii():
        _refuse_surrogates(text)
    # A long text makes tens of thousands of nodes: without the pause the cyclic
    # GC would walk every object again and again (the tree has no cycles).
    paused = len(text) > _CACHE_TEXT_MAX and gc.isenabled()
    if paused:
        gc.disable()
    try:
        statements = None
        if FAST_PATH and len(text) >= values_tail.MIN_LENGTH:
            insert = values_tail.parse_long_insert(text, _parse_text)
            statements = [insert] if insert is not None else None
        if statements is None:
            statements = _parse_text(text)
    except RecursionError:
        raise syntax_error("the statement is nested too deeply", None) from None
    finally:
        parse_state.source = ""
        if paused:
            gc.enable()
    if len(text) > _CACHE_TEXT_MAX:  # a one-off big script or literal: caching it only holds memory
        return list(statements)
    if len(_CACHE) >= _CACHE_MAX:
        try:
            _CACHE.pop(next(iter(_CACHE)))
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            pass
    _CACHE[text] = tuple(statements)
    return list(statements)

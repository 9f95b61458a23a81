"""The prompt_toolkit completer: turns suggest()'s kinds into candidates from
the schema it holds. The REPL marks the schema stale after writes, ``.open``
and ``.import`` (``mark_stale``); it is reloaded on the next completion, so
new classes and fields complete at once."""
from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, List, Optional

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..keywords import FUNCTIONS, KEYWORDS
from .suggest import suggest

_WORD = re.compile(r"[\w.\\?`]*$")


class CQLCompleter(Completer):
    """Keywords, functions, class and field names, dot commands, file names."""

    def __init__(self, schema_source: Optional[Callable[[], Dict[str, Dict[str, str]]]] = None):
        self.keywords = list(KEYWORDS)
        self.functions = list(FUNCTIONS)
        self.schema: Dict[str, Dict[str, str]] = {}
        self.schema_source = schema_source
        self.paths = PathCompleter(expanduser=True)
        self.stale = True  # reload the schema before the next completion

    def mark_stale(self) -> None:
        """The schema may have changed: reload it lazily, on the next completion."""
        self.stale = True

    def refresh(self) -> None:
        """Reload the schema (errors leave the old one in place)."""
        if self.schema_source is None:
            return
        try:
            self.schema = dict(self.schema_source())
        except Exception:  # completion must never break the prompt
            pass

    # -- candidates ------------------------------------------------------------------
    def candidates(self, kind: dict) -> List[tuple]:
        """(text, meta) pairs for one suggestion kind."""
        t = kind["type"]
        if t == "class":
            return [(c, "class") for c in sorted(self.schema)]
        if t == "field":
            cls = kind.get("class")
            if cls in self.schema:
                names: Iterable[str] = self.schema[cls]
            else:
                names = sorted({f for fields in self.schema.values() for f in fields})
            return [(f, "field") for f in names]
        if t == "function":
            return [(f, "function") for f in self.functions]
        if t == "keyword":
            return [(k, "keyword") for k in (kind.get("only") or self.keywords)]
        if t == "command":
            from .commands import all_commands
            return [(c.name, c.description) for c in all_commands()]
        if t == "format":
            from .formats import FORMATS
            return [(f, "format") for f in FORMATS]
        if t == "onoff":
            return [("on", ""), ("off", "")]
        if t == "query":
            from .named import load
            try:
                return [(name, text) for name, text in sorted(load().items())]
            except Exception:  # an unreadable file: no candidates, never a broken prompt
                return []
        return []

    def get_completions(self, document: Document, complete_event):
        if self.stale:
            self.stale = False
            self.refresh()
        text = document.text_before_cursor
        kinds = suggest(text, document.text)
        word = _WORD.search(text).group()
        if "." in word and not word.startswith("."):
            word = word.rsplit(".", 1)[-1]
        for kind in kinds:
            if kind["type"] == "file":
                arg = text.rsplit(None, 1)[-1] if text and not text[-1].isspace() else ""
                yield from self.paths.get_completions(Document(arg, len(arg)), complete_event)
                continue
            low = word.lower()
            for cand, meta in self.candidates(kind):
                if not cand.lower().startswith(low.lstrip("`")):
                    continue
                shown = cand
                if kind["type"] in ("keyword", "function") and word and word[0].isupper():
                    shown = cand.upper()
                yield Completion(shown, start_position=-len(word), display_meta=meta)

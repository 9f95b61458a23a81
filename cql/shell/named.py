"""Named queries (pgcli's ``\\n``/``\\ns``/``\\nd``, litecli's favorites): a
statement with ``?`` placeholders saved under a name, run later with
arguments (``.run top_scores 10``).

They live in ``queries.json`` in the user's config directory
($XDG_CONFIG_HOME/cql, ~/.config/cql), ``{"name": "statement", ...}``, written
whole to a temporary file and renamed into place, so a crash never leaves
half a file.
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict

from .config import config_dir
from .errors import CommandError, did_you_mean

NAME = re.compile(r"[A-Za-z_][\w-]*\Z")


def path() -> str:
    return os.path.join(config_dir(), "queries.json")


def load() -> Dict[str, str]:
    """Every saved query by name ({} when none were saved)."""
    try:
        with open(path(), encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the named queries in {path()}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CommandError(f"{path()}: expected a JSON object of name: statement")
    return data


def _write(queries: Dict[str, str]) -> None:
    target = path()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(dict(sorted(queries.items())), f, ensure_ascii=False, indent=2)
            f.write("\n")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save(name: str, statement: str) -> bool:
    """Save ``statement`` as ``name``; True when it replaced an older one."""
    if not NAME.match(name):
        raise CommandError(f"invalid query name {name!r}: use letters, digits, '_' and '-'")
    queries = load()
    replaced = name in queries
    queries[name] = statement
    _write(queries)
    return replaced


def delete(name: str) -> None:
    queries = load()
    if name not in queries:
        raise CommandError(f"no named query {name} (.queries lists them)")
    del queries[name]
    _write(queries)


def get(name: str) -> str:
    queries = load()
    if name not in queries:
        raise CommandError(f"no named query {name}{did_you_mean(name, queries)} (.queries lists them)")
    return queries[name]

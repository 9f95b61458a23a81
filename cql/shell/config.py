"""The shell's config file, as pgcli and litecli keep theirs:
``$XDG_CONFIG_HOME/cql/config`` (``~/.config/cql/config``), or ``cql
--config FILE``. INI read by configparser, one ``[main]`` section:

    [main]
    format = table
    timing = on

Every key is in ``KEYS`` with its default and meaning (README lists them; a
test checks). Command-line flags win over the file. A key the shell does not
know, or a value it cannot use, is a warning that names the file and line,
and the default stays: a typo never keeps the shell from starting.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Callable, Dict, List, Optional, Tuple

from .errors import CommandError
from .formats import FORMATS

SECTION = "main"


def config_dir() -> str:
    """$XDG_CONFIG_HOME/cql, else ~/.config/cql (named queries live here too)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "cql")


def default_path() -> str:
    return os.path.join(config_dir(), "config")


@dataclass
class Settings:
    """What the config file sets (defaults: no file)."""
    format: str = "table"
    pager: str = "on"
    timing: bool = False
    headers: bool = True
    auto_vertical: bool = True
    key_bindings: str = "emacs"
    syntax_style: str = "default"
    history_file: str = ""  # "": $CQL_HISTORY, else ~/.local/share/cql/history
    history_size: int = 10000
    confirm_threshold: int = 1


def on_off(text: str) -> bool:
    v = text.strip().lower()
    if v in ("on", "yes", "true", "1"):
        return True
    if v in ("off", "no", "false", "0"):
        return False
    raise ValueError("expected on or off")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        v = text.strip().lower()
        if v not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return v
    return parse


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text.strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if n < least:
            raise ValueError(f"expected a number >= {least}")
        return n
    return parse


def _style(text: str) -> str:
    from pygments.styles import get_all_styles
    name = text.strip()
    if name not in set(get_all_styles()):
        raise ValueError("not a Pygments style (python -m pygments -L styles lists them)")
    return name


def _path(text: str) -> str:
    return os.path.expanduser(text.strip())


#: key -> (how its text is read, what it does); README documents each.
KEYS: Dict[str, Tuple[Callable[[str], object], str]] = {
    "format": (_choice(*FORMATS), "output format: table, vertical, json, jsonl, csv or markdown"),
    "pager": (lambda t: t.strip() if t.strip().lower() not in ("on", "off") else t.strip().lower(),
              "on ($PAGER, else less -SRXF), off, or a command to page through"),
    "timing": (on_off, "print how long each statement took"),
    "headers": (on_off, "print the column names in table, csv and markdown output"),
    "auto_vertical": (on_off, "show a table wider than the terminal vertically"),
    "key_bindings": (_choice("emacs", "vi"), "emacs or vi"),
    "syntax_style": (_style, "Pygments colour style of the input (e.g. monokai, friendly)"),
    "history_file": (_path, "where the history is kept (default ~/.local/share/cql/history; "
                            "$CQL_HISTORY wins)"),
    "history_size": (_count(0), "how many entries the history keeps"),
    "confirm_threshold": (_count(0), "ask before an update or delete touching more objects than this"),
}


def load(path: Optional[str] = None) -> Tuple[Settings, List[str]]:
    """(settings, warnings) from ``path`` (an explicit --config FILE, which
    must exist) or the default file (if there is one)."""
    settings = Settings()
    explicit = path is not None
    path = path if explicit else default_path()
    if not explicit and not os.path.exists(path):
        return settings, []
    import configparser
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as exc:
        raise CommandError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except configparser.Error as exc:
        raise CommandError(f"{path}: not an INI file with a [{SECTION}] section: "
                           f"{str(exc).splitlines()[0]}") from None
    warnings = []
    lines = _key_lines(path)
    for section in parser.sections():
        if section != SECTION:
            warnings.append(f"{path}: section [{section}] is not used (the keys go under [{SECTION}])")
    if parser.has_section(SECTION):
        known = {f.name for f in fields(Settings)}
        for key, text in parser.items(SECTION):
            where = f"{path}:{lines.get(key, '?')}"
            if key not in KEYS or key not in known:
                warnings.append(f"{where}: unknown key {key} (known: {', '.join(KEYS)})")
                continue
            try:
                setattr(settings, key, KEYS[key][0](text))
            except ValueError as exc:
                warnings.append(f"{where}: {key} = {text}: {exc}; using {getattr(settings, key)}")
    return settings, warnings


def _key_lines(path: str) -> Dict[str, int]:
    """The line of each key (configparser does not keep it)."""
    out: Dict[str, int] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                key, sep, _ = line.partition("=")
                if sep and not line[:1].isspace():
                    out.setdefault(key.strip().lower(), n)
    except (OSError, UnicodeDecodeError):
        pass
    return out

"""What a write statement does to the values it writes, apart from storing
them: private copies (so a caller cannot change stored objects through its own
dicts, nor through a result), and the field-type check against the class
schema (a field's type is fixed by the first non-null value written)."""
from __future__ import annotations

import gc
import marshal
from contextlib import contextmanager
from math import isfinite
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .. import errors
from ..names import SYSTEM_FIELDS
from ..types import MAX_NUMBER, schema_type as type_name
from .store import Batch

def clone(value: Any) -> Any:
    c = value.__class__
    if c is dict:
        return {k: (v if v.__class__ not in _CONTAINERS else clone(v)) for k, v in value.items()}
    if c is list:
        return [v if v.__class__ not in _CONTAINERS else clone(v) for v in value]
    return value


_CONTAINERS = (dict, list)


@contextmanager
def gc_paused(pause: bool) -> Iterator[None]:
    """Pause the cyclic GC during a big insert: the many new dicts would start
    full collections over the whole store, and JSON data has no cycles."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def deep_copy(rows: List[dict]) -> List[dict]:
    """A private deep copy of a page of rows, so callers cannot change the store
    through a result. marshal copies JSON-shaped data in C, several times faster
    than a Python walk (it also shares repeated key strings)."""
    if not rows:
        return rows
    try:
        return marshal.loads(marshal.dumps(rows))
    except ValueError:  # something marshal does not know: copy in Python
        return [clone(r) for r in rows]


def project_included(row: dict, keys: Tuple[str, ...]) -> None:
    """``keys=player.name`` with ``include=player``: the included player keeps
    only name (and its system fields), as Parse does."""
    subkeys: Dict[str, set] = {}
    for k in keys:
        head, dot, rest = k.partition(".")
        if dot:
            subkeys.setdefault(head, set()).add(rest.split(".", 1)[0])
    for head, wanted in subkeys.items():
        value = row.get(head)
        items = value if value.__class__ is list else [value]
        out = []
        for v in items:
            if v.__class__ is dict and v.get("__type") == "Object":
                v = {k: x for k, x in v.items()
                     if k in wanted or k in SYSTEM_FIELDS or k in ("__type", "className")}
            out.append(v)
        if head in row:
            row[head] = out if value.__class__ is list else out[0]


def plain_row(row: dict) -> bool:
    """A row of plain values under plain keys (no ops, no dotted or $ keys)."""
    for k, v in row.items():
        if not k or "." in k or k[0] == "$" or (v.__class__ is dict and "__op" in v):
            return False
    return True


# Exact classes of plain JSON values -> schema type (anything else: schema_type).
_SCALAR_TYPES = {str: "String", int: "Number", float: "Number", bool: "Boolean", list: "Array"}


class SchemaCheck:
    """Field types of one write statement against the class schema: a field's
    type is fixed by the first non-null value written (code 111 after that)."""

    __slots__ = ("cls", "known", "added", "batch", "strict", "passed")

    def __init__(self, cls: str, known: Dict[str, str], batch: Batch, strict: bool):
        self.cls = cls
        self.known = known  # the class schema (not changed here)
        self.added: Dict[str, str] = {}  # fields this statement adds to it
        self.batch = batch
        self.strict = strict
        # (field, class of value) already found fine in this statement: a bulk
        # insert checks each once (dicts excepted: their type is in their content)
        self.passed: Set[Tuple[str, type]] = set()

    def check(self, obj: dict, fields: Optional[Set[str]] = None) -> None:
        """Check ``obj``'s fields (only ``fields`` when given: an update checks
        what its body wrote); system fields are skipped."""
        known = self.known
        added = self.added
        items: Any
        if fields is None:
            items = obj.items()
        elif len(fields) == 1:  # e.g. set score = ?
            key = next(iter(fields))
            items = ((key, obj[key]),) if key in obj else ()
        else:
            items = [(k, v) for k, v in obj.items() if k in fields]
        passed = self.passed
        for key, value in items:
            c = value.__class__
            if c is int and not -MAX_NUMBER <= value <= MAX_NUMBER:  # an Increment's sum
                raise errors.InvalidJSON(f"{self.cls}.{key}: the number grows beyond what JSON can hold "
                                         "(about 1.8e308)")
            if (key, c) in passed:
                continue
            t = _SCALAR_TYPES.get(c)
            if t is None:
                if value is None:
                    continue
                t = type_name(value)
            elif value.__class__ is float and not isfinite(value):
                if key in SYSTEM_FIELDS:
                    continue
                raise errors.InvalidJSON(f"{self.cls}.{key}: {value} is not a number JSON can hold")
            if key in SYSTEM_FIELDS:
                continue
            e = known.get(key)
            if e is None:
                e = added.get(key)
            if e is None:
                added[key] = t
                self.batch.schema.append((self.cls, key, t))
            elif e != t and self.strict:
                raise errors.TypeMismatch(
                    f"schema mismatch for {self.cls}.{key}; expected {e} but got {t}")
            if c is not dict and c is not float:
                passed.add((key, c))

"""Reading chosen fields of stored objects in SQL, and conservative SQL
pre-filters: how a scan avoids decoding whole objects.

Why: decoding an object's JSON costs microseconds; a scan over a million
objects that decoded each would be many times slower than SQLite's own
``json_extract`` scan. So a scan asks SQLite for just the fields the where
(and ORDER BY) reads, rebuilds a small object of those fields, and lets the
compiled matcher decide on it; only the objects a statement returns are
decoded whole.

Exactness rules (the small object must hold exactly the stored values):
``json_extract`` gives integers within 64 bits, strings and JSON texts of
arrays/objects exactly; reals (SQLite's text-to-double conversion is not
guaranteed to round as Python's does) and integers beyond 64 bits are taken
from their JSON text (``json -> path``); a string holding U+0000 comes back cut
short, so a row whose JSON has a ``\\u0000`` escape is decoded whole;
``json_type`` tells true/false (1/0 to SQL) and null from missing.

Pre-filters only narrow: for each top-level conjunct of a kind listed in
``_conjunct_sql`` they keep every row the matcher could accept (arrays are
always kept, since an element may match; numbers compare with a little slack;
rows with a ``\\u0000`` escape are kept); anything else adds no condition.
"""
from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..names import DATE_FIELDS
from .values import MISSING

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_FIELDS = 8  # more fields than this: decode whole objects instead
_INT64 = 2 ** 63 - 1
_SLACK = 1e-9  # relative widening of float bounds (superset, the matcher decides)
NUL_ESCAPE = "\\u0000"


def json_path(field: str) -> Optional[str]:
    """The SQLite JSON path of a top-level field, or None."""
    if _NAME.match(field):
        return f"$.{field}"
    if '"' in field or "\\" in field or not field:
        return None
    return f'$."{field}"'


class Projection:
    """The SQL columns that read some top-level fields of ``{src}`` (the JSON
    column), and the Python that rebuilds them into a small object."""

    __slots__ = ("fields", "paths", "width")

    def __init__(self, fields: Sequence[str]):
        self.fields = tuple(fields)
        paths = [json_path(f) for f in self.fields]
        if any(p is None for p in paths):
            raise ValueError("a field without a JSON path")
        self.paths: Tuple[str, ...] = tuple(paths)  # type: ignore[arg-type]
        self.width = 3 * len(self.fields) + 1

    @staticmethod
    def of(fields: Sequence[str]) -> Optional["Projection"]:
        fields = list(dict.fromkeys(fields))
        if len(fields) > MAX_FIELDS or any(json_path(f) is None for f in fields):
            return None
        return Projection(fields)

    def columns(self, src: str) -> str:
        """SQL select items: per field value, type and exact text (reals, big
        integers), then the \\u0000 flag. Paths are literals (validated)."""
        out = []
        for p in self.paths:
            lit = _sql_text(p)
            out.append(f"json_extract({src}, {lit}), json_type({src}, {lit}), "
                       f"CASE WHEN json_type({src}, {lit}) = 'real' OR (json_type({src}, {lit}) = 'integer' "
                       f"AND typeof(json_extract({src}, {lit})) = 'real') THEN {src} -> {lit} END")
        out.append(f"instr({src}, '{NUL_ESCAPE}')")
        return ", ".join(out)

    def build(self, oid: str, row: Sequence[Any], at: int) -> Optional[dict]:
        """The small object from ``row[at:at + width]`` (None: decode it whole)."""
        if row[at + self.width - 1]:
            return None
        obj: Dict[str, Any] = {"objectId": oid}
        i = at
        for field in self.fields:
            t = row[i + 1]
            if t is not None:
                if t == "text":
                    obj[field] = row[i]
                elif t == "integer":
                    x = row[i + 2]
                    obj[field] = row[i] if x is None else int(x)
                elif t == "real":
                    obj[field] = float(row[i + 2])
                elif t == "true":
                    obj[field] = True
                elif t == "false":
                    obj[field] = False
                elif t == "null":
                    obj[field] = None
                else:
                    obj[field] = _loads(row[i])
            i += 3
        return obj


def value_of(v: Any, t: Optional[str], x: Any) -> Any:
    """One projected value (MISSING when absent); see ``Projection.build``."""
    if t is None:
        return MISSING
    if t == "text":
        return v
    if t == "integer":
        return v if x is None else int(x)
    if t == "real":
        return float(x)
    if t == "true":
        return True
    if t == "false":
        return False
    if t == "null":
        return None
    return _loads(v)


def _loads(text: str) -> Any:
    import json
    return json.loads(text)


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# -- pre-filters -----------------------------------------------------------------------
def where_fields(where: Any) -> Optional[List[str]]:
    """The top-level fields a where reads (objectId always), or None when it
    cannot be said (then objects are decoded whole)."""
    out: List[str] = []
    if not _collect(where, out):
        return None
    return out


def _collect(where: Any, out: List[str]) -> bool:
    if where is None:
        return True
    if not isinstance(where, dict):
        return False
    for key, cond in where.items():
        if not isinstance(key, str):
            return False
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list):
                return False
            for part in cond:
                if not _collect(part, out):
                    return False
        elif key == "$relatedTo":
            continue  # reads objectId, always there
        elif key.startswith("$"):
            return False
        else:
            head = key.split(".", 1)[0]
            if not head:
                return False
            out.append(head)
    return True


def prefilter(where: dict, src: str) -> Tuple[str, List[Any]]:
    """An SQL condition on ``{src}`` (the JSON column) that every match of
    ``where`` meets, with its parameters ("" when there is none)."""
    parts: List[str] = []
    params: List[Any] = []
    for field, cond in _conjuncts(where):
        got = _conjunct_sql(field, cond, src)
        if got is not None:
            parts.append(got[0])
            params.extend(got[1])
    if not parts:
        return "", []
    return " AND ".join(parts), params


def _conjuncts(where: dict):
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            for part in cond:
                if isinstance(part, dict):
                    yield from _conjuncts(part)
        elif isinstance(key, str) and not key.startswith("$"):
            yield key, cond


def _kind(q: Any) -> Optional[str]:
    """The SQL-comparable kind of a query value: 'num', 'str', 'bool' or None."""
    c = q.__class__
    if c is bool:
        return "bool"
    if c is int:
        return "num" if -_INT64 <= q <= _INT64 else None
    if c is float:
        return "num" if math.isfinite(q) else None
    if c is str:
        return "str" if "\x00" not in q and not any("\ud800" <= ch <= "\udfff" for ch in q) else None
    return None


def _widen(q: Any, down: bool) -> Any:
    if q.__class__ is int and abs(q) < 2 ** 53:
        return q
    x = float(q)
    d = abs(x) * _SLACK + 1e-300
    return x - d if down else x + d


def _conjunct_sql(field: str, cond: Any, src: str) -> Optional[Tuple[str, List[Any]]]:
    """A superset condition for one top-level conjunct, or None."""
    if field in DATE_FIELDS or "." in field:
        return None  # stored as ISO text that may be written in other forms
    path = json_path(field)
    if path is None:
        return None
    lit = _sql_text(path)
    v = f"json_extract({src}, {lit})"
    t = f"json_type({src}, {lit})"
    keep = f"{t} = 'array'"
    if isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond) \
            and "__type" not in cond:
        terms: List[str] = []
        params: List[Any] = []
        for op, q in cond.items():
            got = _op_sql(op, q, v, t)
            if got is not None:
                terms.append(got[0])
                params.extend(got[1])
        if not terms:
            return None
        return f"(({' AND '.join(terms)}) OR {keep} OR instr({src}, '{NUL_ESCAPE}'))", params
    got = _eq_sql(cond, v, t)
    if got is None:
        return None
    return f"({got[0]} OR {keep} OR instr({src}, '{NUL_ESCAPE}'))", got[1]


def _eq_sql(q: Any, v: str, t: str) -> Optional[Tuple[str, List[Any]]]:
    kind = _kind(q)
    if kind == "bool":
        return f"{t} = '{'true' if q else 'false'}'", []
    if kind == "str":
        return f"({t} = 'text' AND {v} = ?)", [q]
    if kind == "num":
        if q.__class__ is int and abs(q) < 2 ** 53:
            return f"({t} IN ('integer', 'real') AND {v} = ?)", [q]
        return f"({t} IN ('integer', 'real') AND {v} BETWEEN ? AND ?)", [_widen(q, True), _widen(q, False)]
    return None


_CMP = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _op_sql(op: str, q: Any, v: str, t: str) -> Optional[Tuple[str, List[Any]]]:
    if op == "$eq":
        return _eq_sql(q, v, t)
    if op == "$in" and isinstance(q, list) and q:
        terms, params = [], []
        for x in q:
            got = _eq_sql(x, v, t)
            if got is None:
                return None
            terms.append(got[0])
            params.extend(got[1])
        return "(" + " OR ".join(terms) + ")", params
    if op == "$exists" and q is True:
        return f"{t} IS NOT NULL", []
    if op == "$exists" and q is False:
        return f"{t} IS NULL", []
    sym = _CMP.get(op)
    if sym is None:
        return None
    kind = _kind(q)
    if kind == "num":
        bound = _widen(q, down=sym.startswith(">"))
        return f"({t} IN ('integer', 'real') AND {v} {sym} ?)", [bound]
    if kind == "str":
        return f"({t} = 'text' AND {v} {sym} ?)", [q]
    return None

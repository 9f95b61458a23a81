"""Reading chosen fields of stored objects in SQL, and conservative SQL
pre-filters: how a scan avoids decoding whole objects.

Why: decoding an object's JSON costs microseconds; a scan over a million
objects that decoded each would be many times slower than SQLite's own
``json_extract`` scan. So a scan asks SQLite for just the fields the where
(and ORDER BY) reads, rebuilds a small object of those fields, and lets the
compiled matcher decide on it; only the objects a statement returns are
decoded whole.

Exactness: a field is read as its JSON text (``json -> path``, SQLite 3.38+;
SQL NULL when absent) and decoded in Python, so the small object holds
exactly what ``json.loads`` of the whole object would (``json_extract``
would round reals with SQLite's own conversion, turn integers beyond 64 bits
into reals and cut strings at U+0000).

Cost: each JSON function call parses the object's JSON (SQLite 3.40 keeps no
parse between calls) and SQLite computes an expression again wherever it is
written, so a scan reads each filtered field once, in a subquery SQLite
cannot flatten (``LIMIT -1 OFFSET 0``), and the pre-filter and the small
object both use that one text: one parse per object and field, as a
``json_extract`` scan does.

Pre-filters only narrow: for each top-level conjunct of a kind handled below
they keep every row the matcher could accept; anything else adds no
condition. They work on the field's JSON text: numbers by ``CAST(text AS
REAL)`` with a little slack (SQLite's text-to-double conversion may differ
from Python's in the last bit), strings by the text between the quotes when it
has no backslash (any escaped string is kept), and arrays are always kept (an
element may match).
"""
from __future__ import annotations

import math
import re
import sqlite3
from json import loads
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..names import DATE_FIELDS
from .values import MISSING

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_FIELDS = 8  # more fields than this: decode whole objects instead
AVAILABLE = sqlite3.sqlite_version_info >= (3, 38, 0)  # the -> operator
_INT64 = 2 ** 63 - 1
_SLACK = 1e-9  # relative widening of float bounds (superset, the matcher decides)


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
        self.width = len(self.fields)

    @staticmethod
    def of(fields: Sequence[str]) -> Optional["Projection"]:
        fields = [f for f in dict.fromkeys(fields) if f != "objectId"]
        if not AVAILABLE or len(fields) > MAX_FIELDS or any(json_path(f) is None for f in fields):
            return None
        return Projection(fields)

    def columns(self, src: str) -> str:
        """SQL select items: the JSON text of each field (paths are validated literals)."""
        if not self.paths:
            return "NULL"
        return ", ".join(f"{src} -> {_sql_text(p)}" for p in self.paths)

    def build(self, oid: str, row: Sequence[Any], at: int) -> dict:
        """The small object of ``row[at:at + width]``."""
        obj: Dict[str, Any] = {"objectId": oid}
        i = at
        for field in self.fields:
            text = row[i]
            if text is not None:
                obj[field] = decode(text)
            i += 1
        return obj


def scan_sql(projection: Optional["Projection"], where: dict, need_json: bool,
             with_id: bool = True) -> Tuple[str, List[Any]]:
    """SQL of a class scan (parameter 1: the class) whose rows are (id, json
    or NULL, the projection's columns...) in objectId order, pre-filtered
    (only the projection's columns when not ``with_id``: a count)."""
    if projection is None:
        return "SELECT o.id, o.json FROM objects o WHERE o.class = ? ORDER BY o.id", []
    names: Dict[str, str] = {}

    def column(field: str) -> Optional[str]:
        if field not in projection.fields:
            return None
        return names.setdefault(field, f"t{len(names)}")

    cond, params = prefilter(where, column)
    if not cond:
        cols = ", ".join((["o.id", "o.json" if need_json else "NULL"] if with_id else [])
                         + [projection.columns("o.json")])
        return f"SELECT {cols} FROM objects o WHERE o.class = ? ORDER BY o.id", []
    inner = ["o.id AS id"]
    if need_json or len(names) < len(projection.fields):
        inner.append("o.json AS json")
    inner += [f"o.json -> {_sql_text(json_path(f))} AS {n}" for f, n in names.items()]  # type: ignore[arg-type]
    outer = ["id", "json" if need_json else "NULL"] if with_id else []
    outer += [names.get(f) or f"json -> {_sql_text(p)}" for f, p in zip(projection.fields, projection.paths)]
    sql = (f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM objects o WHERE o.class = ? "
           f"ORDER BY o.id LIMIT -1 OFFSET 0) WHERE {cond}")
    return sql, params


def count_scan(db: Any, class_name: str, projection: "Projection", where: dict,
               predicate: Callable[[dict], bool]) -> int:
    """The matches of a where that does not read objectId, over a whole class:
    rows of its fields only, nothing kept."""
    sql, params = scan_sql(projection, where, False, with_id=False)
    fields = projection.fields
    n = 0
    if len(fields) == 1:
        field = fields[0]
        for (text,) in db.execute(sql, (class_name, *params)):
            if predicate({} if text is None else {field: decode(text)}):
                n += 1
        return n
    for row in db.execute(sql, (class_name, *params)):
        if predicate({f: decode(t) for f, t in zip(fields, row) if t is not None}):
            n += 1
    return n


def decode(text: str) -> Any:
    """A JSON value's text, decoded as json.loads does (faster for scalars)."""
    c = text[0]
    if c == '"':
        return text[1:-1] if "\\" not in text else loads(text)
    if c in "-0123456789":
        if "." in text or "e" in text or "E" in text:
            return float(text)
        return int(text)
    if c == "t":
        return True
    if c == "f":
        return False
    if c == "n":
        return None
    return loads(text)


def value_of(text: Optional[str]) -> Any:
    """One projected value: MISSING when absent."""
    return MISSING if text is None else decode(text)


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
            out.append("objectId")
        elif key.startswith("$"):
            return False
        else:
            head = key.split(".", 1)[0]
            if not head:
                return False
            out.append(head)
    return True


def prefilter(where: dict, column: Callable[[str], Optional[str]]) -> Tuple[str, List[Any]]:
    """An SQL condition that every match of ``where`` meets, on the JSON texts
    of fields (``column(field)`` names the SQL column holding a field's text,
    or None when the field is not read), with its parameters ("" for none)."""
    parts: List[str] = []
    params: List[Any] = []
    for field, cond in conjuncts(where):
        if field in DATE_FIELDS or "." in field:
            continue  # stored as ISO text that may be written in other forms
        if not _filterable(cond):
            continue
        name = column(field)
        if name is None:
            continue
        got = _conjunct_sql(cond, name)
        if got is not None:
            parts.append(got[0])
            params.extend(got[1])
    if not parts:
        return "", []
    return " AND ".join(parts), params


def _filterable(cond: Any) -> bool:
    if isinstance(cond, dict) and "__type" not in cond and any(isinstance(k, str) and k.startswith("$")
                                                               for k in cond):
        return any(_op_sql(op, q, "t") is not None for op, q in cond.items())
    return _eq_sql(cond, "t") is not None


def conjuncts(where: dict) -> Iterator[Tuple[str, Any]]:
    """(field, condition) pairs every match must satisfy: the top-level
    fields and those of nested $and lists."""
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            for part in cond:
                if isinstance(part, dict):
                    yield from conjuncts(part)
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


def _conjunct_sql(cond: Any, t: str) -> Optional[Tuple[str, List[Any]]]:
    """A superset condition for one top-level conjunct on the field's JSON text ``t``."""
    if isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond) \
            and "__type" not in cond:
        terms: List[str] = []
        params: List[Any] = []
        for op, q in cond.items():
            got = _op_sql(op, q, t)
            if got is not None:
                terms.append(got[0])
                params.extend(got[1])
        if not terms:
            return None
        return " AND ".join(terms), params
    return _eq_sql(cond, t)


# Pieces of the conditions on a field's JSON text t (SQL NULL when absent).
def _array(t: str) -> str:
    return f"substr({t}, 1, 1) = '['"


def _number(t: str) -> str:
    return f"CAST({t} AS REAL)"  # the number of a number's text (0 for other texts)


def _string(t: str) -> str:
    """The string of an unescaped JSON string's text (texts with a backslash are kept apart)."""
    return f"substr({t}, 2, length({t}) - 2)"


def _escaped(t: str) -> str:
    return f"instr({t}, '\\')"


def _eq_sql(q: Any, t: str) -> Optional[Tuple[str, List[Any]]]:
    kind = _kind(q)
    if kind == "bool":
        return f"({t} = '{'true' if q else 'false'}' OR {_array(t)})", []
    if kind == "str":
        return f"({_string(t)} = ? OR {_escaped(t)} OR {_array(t)})", [q]
    if kind == "num":
        if q.__class__ is int and abs(q) < 2 ** 53:
            return f"({_number(t)} = ? OR {_array(t)})", [q]
        return f"({_number(t)} BETWEEN ? AND ? OR {_array(t)})", [_widen(q, True), _widen(q, False)]
    return None


def _op_sql(op: str, q: Any, t: str) -> Optional[Tuple[str, List[Any]]]:
    if op == "$eq":
        return _eq_sql(q, t)
    if op == "$in" and isinstance(q, list) and q:
        terms, params = [], []
        for v in q:
            got = _eq_sql(v, t)
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
        return f"({_number(t)} {sym} ? OR {_array(t)})", [bound]
    if kind == "str":
        return f"({_string(t)} {sym} ? OR {_escaped(t)} OR {_array(t)})", [q]
    return None


_CMP = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

"""Output formats: turn a Result into text.

Human formats (table, vertical) show cells readably (dates as ISO time,
``<Pointer(Post:id)>``, ``<GeoPoint(lng, lat)>``, an included object as
``<_User:id username: tom, ...>``, compact JSON for arrays and objects,
``<null>`` for a stored null, nothing for a missing field) and end with a
status line. Values are whole everywhere except in a table on a terminal,
whose cells are cut to the terminal's width (``render(..., limit=)``).
Machine formats (json, jsonl, csv, markdown) print the data only: REST JSON
values, so the output can be fed back to other tools or ``.import``.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, List, Optional, Sequence

from ..result import Result, column_value

FORMATS = ("table", "vertical", "json", "jsonl", "csv", "markdown")
HUMAN = ("table", "vertical")
NULL = "<null>"
_MISSING = object()


# -- cells ---------------------------------------------------------------------

def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def width(text: str) -> int:
    """Display width in terminal columns (CJK counts 2). ASCII takes the fast
    path, so wcwidth is only imported when there is wide text."""
    if text.isascii():
        return len(text)
    from wcwidth import wcswidth
    w = wcswidth(text)
    return w if w >= 0 else len(text)


def cut(text: str, limit: Optional[int]) -> str:
    """Cut ``text`` to ``limit`` display columns, ending with an ellipsis
    (None: whole)."""
    if limit is None or limit <= 0 or width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = max(width(ch), 0)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _special(value: dict) -> Optional[str]:
    kind = value.get("__type")
    if kind == "Date":
        return str(value.get("iso"))
    if kind == "Pointer":
        return f"<Pointer({value.get('className')}:{value.get('objectId')})>"
    if kind == "GeoPoint":
        return f"<GeoPoint({value.get('longitude')}, {value.get('latitude')})>"
    if kind == "File":
        return f"<File({value.get('id') or value.get('name') or value.get('url')})>"
    if kind == "Relation":
        return f"<Relation({value.get('className')})>"
    if kind == "Bytes":
        return f"<Bytes({len(str(value.get('base64', '')))} base64 chars)>"
    if kind == "Object":  # an included object: its fields, each shown as a cell is
        fields = ", ".join(f"{k}: {display_cell(v)}" for k, v in value.items()
                           if k not in ("__type", "className", "objectId"))
        return f"<{value.get('className')}:{value.get('objectId')}{' ' + fields if fields else ''}>"
    return None


def display_cell(value: Any, limit: Optional[int] = None) -> str:
    """A REST JSON value as a human reads it in a table cell, cut to
    ``limit`` display columns (None: whole)."""
    if value is _MISSING:
        return ""
    if value is None:
        return NULL
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if any(c in value for c in "\n\r\t"):
            value = value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
        return cut(value, limit)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        special = _special(value)
        if special is not None:
            return cut(special, limit)
    if isinstance(value, list) and value and all(isinstance(v, dict) and "__type" in v for v in value):
        return cut("[" + ", ".join(display_cell(v) for v in value) + "]", limit)
    return cut(compact_json(value), limit)


def csv_cell(value: Any) -> str:
    """A REST JSON value as one CSV field: text as is, dates as ISO time,
    everything structured as compact JSON, missing and null empty."""
    if value is _MISSING or value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict) and value.get("__type") == "Date":
        return str(value.get("iso"))
    return compact_json(value)


# -- rows ------------------------------------------------------------------------

def table_data(result: Result) -> tuple:
    """(columns, rows of raw REST JSON values, _MISSING for absent fields)."""
    if result.count_only:
        return ["count"], [[result.count]]
    cols = result.columns
    rows = [[column_value(obj, c, _MISSING) for c in cols] for obj in result.objects]
    return cols, rows


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_time(seconds: float) -> str:
    """0.4 ms, 12.3 ms, 1.234 s."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def status_line(result: Result, elapsed: Optional[float] = None) -> str:
    """The footer: row count, count, truncation, time ('' when nothing to say)."""
    parts: List[str] = []
    if result.kind == "select":
        if result.count_only:
            parts.append(f"count: {result.count}")
        else:
            parts.append(plural(len(result.objects), "row"))
            if result.count is not None:
                parts.append(f"count: {result.count}")
            if result.truncated:
                parts.append("limit 100 reached, add LIMIT n or LIMIT skip, n to see more")
    else:
        verb = {"insert": "inserted", "update": "updated", "delete": "deleted"}.get(result.kind, result.kind)
        text = f"{plural(result.rowcount, 'object')} {verb}"
        if result.kind == "insert" and len(result.objects) == 1 and result.objects[0].get("objectId"):
            text += f" (objectId {result.objects[0]['objectId']})"
        parts.append(text)
    if elapsed is not None:
        parts.append(f"Time: {format_time(elapsed)}")
    return ", ".join(parts[:1]) + ("" if len(parts) < 2 else "; " + "; ".join(parts[1:]))


# -- renderers -------------------------------------------------------------------

def render_table(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """An ASCII table in tabulate's "psql" layout (the same text, checked by a
    test), drawn here so ``cql -e`` does not pay tabulate's import; cells are
    padded by display width, so CJK text lines up, and cut to ``limit``."""
    cols, rows = table_data(result)
    if not cols:
        return ""
    cells = [[display_cell(v, limit) for v in row] for row in rows]
    return psql_table(cols, cells, numeric_columns(rows, len(cols)), headers=headers)


def numeric_columns(rows: Sequence[Sequence[Any]], n: int) -> List[bool]:
    """Columns whose present values are all numbers (not booleans): these
    are right-aligned, as psql does."""
    out = []
    for i in range(n):
        values = [row[i] for row in rows if row[i] is not _MISSING and row[i] is not None]
        out.append(bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values))
    return out


def psql_table(names: Sequence[str], cells: Sequence[Sequence[str]],
               right: Optional[Sequence[bool]] = None, headers: bool = True) -> str:
    right = list(right) if right is not None else [False] * len(names)
    widths = [width(h) + 2 if headers else 0 for h in names]  # tabulate's MIN_PADDING for headers
    for row in cells:
        for i, c in enumerate(row):
            w = width(c)
            if w > widths[i]:
                widths[i] = w

    def pad(c: str, w: int, r: bool) -> str:
        space = " " * (w - width(c))
        return space + c if r else c + space

    def line(items: Sequence[str]) -> str:
        return "| " + " | ".join(pad(c, w, r) for c, w, r in zip(items, widths, right)) + " |"
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, line(names), "|" + "+".join("-" * (w + 2) for w in widths) + "|"] if headers else [rule]
    out.extend(line(row) for row in cells)
    out.append(rule)
    return "\n".join(out)


def render_vertical(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """One ``name: value`` line per field, a separator per row (mysql's \\G)."""
    cols, rows = table_data(result)
    if not cols:
        return ""
    name_width = max(width(c) for c in cols)
    out = []
    for i, row in enumerate(rows, 1):
        out.append(f"{'*' * 27} {i}. row {'*' * 27}")
        for c, v in zip(cols, row):
            out.append((" " * (name_width - width(c)) + f"{c}: {display_cell(v)}").rstrip())
    return "\n".join(out)


def render_json(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """Selects: the REST JSON objects (a list); ``{"count": n}`` for a count;
    ``{"count": n, "results": [...]}`` for both. (The session prints machine
    formats for selects only; writes would give their REST answers, or
    ``{"deleted": n}``.)"""
    return json.dumps(_json_value(result), ensure_ascii=False, indent=2)


def _json_value(result: Result) -> Any:
    if result.kind == "delete":
        return {"deleted": result.rowcount}
    if result.count_only:
        return {"count": result.count}
    if result.kind == "select" and result.count is not None:
        return {"count": result.count, "results": result.objects}
    return result.objects


def render_jsonl(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """One JSON object per line (a count or delete: one line)."""
    if result.kind == "delete":
        return compact_json({"deleted": result.rowcount})
    if result.count_only:
        return compact_json({"count": result.count})
    return "\n".join(compact_json(o) for o in result.objects)


def render_csv(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """A header line (unless ``headers`` is off) and one line per row (RFC 4180 quoting)."""
    import csv
    import io
    if result.kind == "delete":
        rows: Iterable[Sequence[Any]] = [[result.rowcount]]
        cols: List[str] = ["deleted"]
    else:
        cols, rows = table_data(result)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if headers:
        writer.writerow(cols)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue().rstrip("\n")


def render_markdown(result: Result, limit: Optional[int] = None, headers: bool = True) -> str:
    """A GitHub-flavoured markdown table ('|' in cells escaped); a table
    needs its header row, so ``headers`` off leaves the names blank."""
    from tabulate import tabulate
    if result.kind == "delete":
        cols, rows = ["deleted"], [[result.rowcount]]
    else:
        cols, rows = table_data(result)
    cells = [[display_cell(v).replace("|", "\\|") for v in row] for row in rows]
    return tabulate(cells, headers=cols if headers else [""] * len(cols), tablefmt="github", disable_numparse=True)


RENDERERS = {
    "table": render_table,
    "vertical": render_vertical,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
    "markdown": render_markdown,
}


def render(result: Result, mode: str, *, limit: Optional[int] = None, headers: bool = True) -> str:
    """The data part of a result in ``mode`` ('' when a human format has no
    rows to show: writes only get a status line, and a lone count is said
    once, by the status line). ``limit`` cuts table cells to that many
    columns (None: whole values); ``headers`` off drops the names line."""
    if mode in HUMAN and (result.kind in ("insert", "update", "delete") or result.count_only):
        return ""
    if mode in HUMAN and result.kind == "select" and not result.objects and result.selected is None:
        return ""
    return RENDERERS[mode](result, limit, headers)


def text_width(text: str) -> int:
    """The widest line of ``text`` in terminal columns."""
    return max((width(line) for line in text.splitlines()), default=0)

"""LeanCloud's data file formats, read and written: the one home of file
formats for ``cql copy`` and the shell's ``.import``/``.export``.

- JSON Lines (``.jsonl``): one object per line; what the console's data export
  writes (objectId, createdAt/updatedAt as ISO strings, ACL, typed values in
  REST encoding).
- JSON (``.json``): an array of objects, or ``{"results": [...]}``.
- LeanCloud's typed CSV (``.csv``): row 1 the types (``int``, ``long``,
  ``number``, ``double``, ``string``, ``date``, ``boolean``, ``file``,
  ``array``, ``object``, ``geopoint`` as "longitude latitude",
  ``pointer:ClassName`` holding an objectId), row 2 the field names, data from
  row 3. A CSV whose first row is names (no types) is plain CSV, as
  spreadsheets write it: a name may state its type (``due:date``,
  ``author:pointer:_User``); a column without one takes the class's type when
  the class has the field, else one type for the whole column (numbers,
  booleans, arrays or objects when every cell is one, else text).
- Relation rows: ``{"owningId", "relatedId"}`` objects (JSON/JSON Lines) or
  two-column CSV rows ``owningId,relatedId`` (a header line is optional).

Readers yield ``(line, object)`` so every error names its file and line
(``FormatError``, code 107); nothing is guessed silently.
"""
from __future__ import annotations

import csv
import io
import json
import re
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..errors import InvalidJSON
from ..names import DATE_FIELDS, SYSTEM_FIELDS

__all__ = ["FormatError", "loads", "text_lines", "read_objects", "read_text", "read_relations", "read_jsonl",
           "read_json", "read_typed_csv", "dumps_line", "write_jsonl", "write_typed_csv", "schema_fields", "csv_type",
           "csv_type_of", "csv_cell", "is_typed_csv_header", "column_type", "CSV_TYPES"]

# LeanCloud's CSV type names -> how a cell of that type is read
CSV_TYPES = ("int", "long", "number", "double", "string", "date", "boolean", "file", "array", "object",
             "geopoint", "pointer")


class FormatError(InvalidJSON):
    """A data file that cannot be read as what it claims to be; the message
    starts with ``file:line:`` (``file:line:column:`` when known)."""

    def __init__(self, name: str, line: Optional[int], message: str, column: Optional[int] = None):
        where = name if line is None else f"{name}:{line}" if column is None else f"{name}:{line}:{column}"
        super().__init__(f"{where}: {message}")
        self.file = name
        self.file_line = line


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number JSON (or CQL) can hold", name, 0)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def loads(text: str) -> Any:
    """json.loads without NaN/Infinity (they cannot be stored)."""
    return _DECODER.decode(text)


# -- reading -------------------------------------------------------------------

def text_lines(binary: Iterable[bytes], name: str) -> Iterator[str]:
    """The lines of a binary stream as strict UTF-8 text: a byte that is not
    UTF-8 is an error at its line (never a silently replaced character)."""
    for n, raw in enumerate(binary, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(name, n, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                       f"{len(raw[:exc.start].decode('utf-8', 'replace')) + 1}); convert the "
                                       "file to UTF-8 (e.g. iconv -f gbk -t utf-8)") from None


def read_jsonl(lines: Iterable[str], name: str) -> Iterator[Tuple[int, dict]]:
    """Objects of a JSON Lines text, one per non-blank line."""
    for n, line in enumerate(lines, 1):
        if n == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            continue
        try:
            obj = loads(line.rstrip("\r\n"))  # (a column past the end would be reported on "line 2")
        except json.JSONDecodeError as exc:
            raise FormatError(name, n, f"malformed JSON: {exc.msg}", exc.colno) from None
        if not isinstance(obj, dict):
            raise FormatError(name, n, "expected a JSON object per line")
        yield n, obj


def read_json(text: str, name: str) -> Iterator[Tuple[int, dict]]:
    """Objects of a JSON document: an array of objects or {"results": [...]}.
    The 'line' of an object is its position in the array (1-based)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(name, exc.lineno, f"malformed JSON: {exc.msg}", exc.colno) from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if not isinstance(data, list):
        raise FormatError(name, None, 'expected a JSON array of objects (or {"results": [...]})')
    for i, obj in enumerate(data, 1):
        if not isinstance(obj, dict):
            raise FormatError(name, None, f"expected a JSON array of objects; item {i} is a "
                                          f"{type(obj).__name__}")
        yield i, obj


def is_typed_csv_header(row: Sequence[str]) -> bool:
    """Whether a CSV row is LeanCloud's type row (every cell a type name)."""
    return bool(row) and all(csv_type(cell) is not None for cell in row)


def csv_type(cell: str) -> Optional[Tuple[str, Optional[str]]]:
    """("pointer", "Player") for "pointer:Player", ("int", None) for "int"; None if not a type."""
    text = cell.strip()
    kind, _, arg = text.partition(":")
    kind = kind.strip().lower()
    if kind == "pointer":
        return ("pointer", arg.strip()) if arg.strip() else None
    return (kind, None) if kind in CSV_TYPES and not arg else None


Kind = Optional[Tuple[str, Optional[str]]]


def read_typed_csv(stream: Iterable[str], name: str,
                   known: Optional[Dict[str, str]] = None) -> Iterator[Tuple[int, dict]]:
    """Objects of LeanCloud's typed CSV (types row, names row, data), or of a
    plain CSV (a header line of names, each ``name`` or ``name:type``):
    a plain column's type is stated, or the class's (``known``: field ->
    schema type), or inferred once for the whole column (``column_type``)."""
    reader = csv.reader(stream, strict=True)
    try:
        first = next(reader, None)
        if first is None:
            return
        if first and first[0].startswith("\ufeff"):
            first[0] = first[0][1:]
        rows: Iterable[Tuple[int, List[str]]]
        if is_typed_csv_header(first):
            types: List[Kind] = [csv_type(c) for c in first]
            names = next(reader, None)
            if names is None:
                raise FormatError(name, 2, "the row of field names (row 2, under the row of types) is missing")
            if len(names) != len(types):
                raise FormatError(name, 2, f"{len(names)} field names but {len(types)} types in row 1")
            _check_names(names, name, reader.line_num)
            rows = _data_rows(reader)
        else:
            names, types = _plain_header(first, name)
            _check_names(names, name, reader.line_num)
            rows = list(_data_rows(reader))  # read whole: a column's type comes from all its cells
            types = [kind or (csv_type(csv_type_of(known[field])) if known and field in known
                              else column_type([row[i] for _, row in rows if i < len(row) and row[i] != ""]))
                     for i, (field, kind) in enumerate(zip(names, types))]
        for line, row in rows:
            if len(row) > len(names):
                raise FormatError(name, line, f"{len(row)} values but the header line has {len(names)} names")
            obj = {}
            for field, kind, cell in zip(names, types, row):
                if cell == "":
                    continue  # an empty cell is a field left out
                try:
                    obj[field] = _cell(cell, kind)
                except ValueError as exc:
                    what = "" if kind is None else f" ({kind[0]}{':' + kind[1] if kind[1] else ''})"
                    raise FormatError(name, line, f"field {field}{what}: {exc}") from None
            yield line, obj
    except csv.Error as exc:
        raise FormatError(name, reader.line_num, f"malformed CSV: {exc}") from None


def _data_rows(reader: Any) -> Iterator[Tuple[int, List[str]]]:
    """(line, cells) of the rows that are not blank."""
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _plain_header(cells: Sequence[str], name: str) -> Tuple[List[str], List[Kind]]:
    """Names and stated types (None) of a plain CSV header: ``due:date``."""
    names, types = [], []
    for i, cell in enumerate(cells, 1):
        field, colon, kind = cell.partition(":")
        stated = csv_type(kind) if colon else None
        if colon and stated is None:
            raise FormatError(name, 1, f"column {i} of the header line: {kind!r} is not a type (one of "
                                       f"{', '.join(CSV_TYPES[:-1])}, pointer:Class)")
        names.append(field.strip() if colon else cell)
        types.append(stated)
    return names, types


def column_type(cells: Sequence[str]) -> Kind:
    """One type for a plain CSV column: number, boolean, array or object when
    every (non-empty) cell reads as one in JSON (so 01234 stays text), else
    string."""
    def reads_as(cell: str, kinds: tuple) -> bool:
        try:
            value = loads(cell.strip())
        except ValueError:
            return False
        return isinstance(value, kinds) and not (bool not in kinds and isinstance(value, bool))
    for kind, kinds in (("number", (int, float)), ("boolean", (bool,)), ("array", (list,)), ("object", (dict,))):
        if cells and all(reads_as(c, kinds) for c in cells):
            return (kind, None)
    return ("string", None)


def _check_names(names: Sequence[str], name: str, line: int) -> None:
    for i, field in enumerate(names, 1):
        if not field.strip():
            raise FormatError(name, line, f"column {i} of the header line has no name")
        if field in names[:i - 1]:
            raise FormatError(name, line, f"column name {field!r} appears twice in the header line")


def _cell(cell: str, kind: Optional[Tuple[str, Optional[str]]]) -> Any:
    """One CSV cell as REST JSON, by its column type."""
    if kind is None:
        s = cell.strip()
        if s and s[0] in "-0123456789[{tfn":
            try:
                return loads(s)
            except ValueError:
                pass
        return cell
    t, arg = kind
    s = cell.strip()
    if t in ("int", "long"):
        try:
            return int(s)
        except ValueError:
            raise ValueError(f"{cell!r} is not an integer") from None
    if t in ("number", "double"):
        try:
            value = float(s) if any(c in s for c in ".eE") else int(s)
        except ValueError:
            raise ValueError(f"{cell!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{cell!r} is not a number JSON can hold")
        return value
    if t == "string":
        return cell
    if t == "boolean":
        low = s.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(f"{cell!r} is not a boolean (true or false)")
    if t == "date":
        from ..errors import CQLError
        from ..types import format_date, parse_date
        try:
            return {"__type": "Date", "iso": format_date(parse_date(s))}
        except CQLError as exc:
            raise ValueError(exc.message) from None
    if t in ("array", "object"):
        try:
            value = loads(s)
        except ValueError as exc:
            raise ValueError(f"not JSON: {_reason(exc)}") from None
        if not isinstance(value, list if t == "array" else dict):
            raise ValueError(f"{cell!r} is not a JSON {t}")
        return value
    if t == "geopoint":
        parts = s.replace(",", " ").split()
        try:
            lng, lat = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"{cell!r} is not 'longitude latitude'") from None
        return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}
    if t == "pointer":
        return {"__type": "Pointer", "className": arg, "objectId": s}
    if t == "file":
        if s.startswith(("http://", "https://")):
            return {"__type": "File", "url": s, "name": s.rstrip("/").rsplit("/", 1)[-1]}
        if s.startswith("{"):
            try:
                value = loads(s)
            except ValueError as exc:
                raise ValueError(f"not JSON: {_reason(exc)}") from None
            if isinstance(value, dict):
                return value
        return {"__type": "File", "id": s}
    raise ValueError(f"unknown type {t}")  # pragma: no cover (csv_type filters)


def read_objects(stream: Iterable[str], name: str) -> Iterator[Tuple[int, dict]]:
    """Objects of one data file (a text stream or its lines), by its
    extension (.jsonl, .json, .csv); another extension is read by content
    (array/object: JSON, else JSON Lines)."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return read_typed_csv(stream, name)
    if lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        return read_jsonl(stream, name)
    text = stream.read() if hasattr(stream, "read") else "".join(stream)
    if lower.endswith(".json"):
        return read_json(text, name)
    return read_text(text, name)


_RESULTS = re.compile(r'^\s*\{\s*"results"\s*:\s*\[')


def read_text(text: str, name: str, known: Optional[Dict[str, str]] = None) -> Iterator[Tuple[int, dict]]:
    """Objects of a data file's text, told by content: a JSON array or
    {"results": [...]}, JSON Lines, or CSV (LeanCloud's typed CSV, or a
    header line of names; ``known`` types its columns, see read_typed_csv)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    head = text.lstrip()[:1]
    if head == "[":
        return read_json(text, name)
    if head == "{":
        if _RESULTS.match(text):
            try:
                whole = loads(text)
            except ValueError:
                whole = None
            if isinstance(whole, dict) and set(whole) == {"results"} and isinstance(whole["results"], list):
                return read_json(text, name)
        return read_jsonl(io.StringIO(text), name)
    if head in ('"', "]") or head.isdigit():
        raise FormatError(name, None, "expected a JSON array of objects, JSON lines or CSV with a header line")
    return read_typed_csv(io.StringIO(text, newline=""), name, known)


def read_relations(stream: Iterable[str], name: str) -> Iterator[Tuple[int, str, str]]:
    """(line, owningId, relatedId) of a relation file."""
    if name.lower().endswith(".csv"):
        reader = csv.reader(stream, strict=True)
        try:
            for row in reader:
                if not any(c.strip() for c in row):
                    continue
                if len(row) != 2:
                    raise FormatError(name, reader.line_num, f"expected two columns (owningId, relatedId), "
                                                             f"got {len(row)}")
                if reader.line_num == 1 and [c.strip() for c in row] == ["owningId", "relatedId"]:
                    continue
                yield reader.line_num, row[0].strip(), row[1].strip()
        except csv.Error as exc:
            raise FormatError(name, reader.line_num, f"malformed CSV: {exc}") from None
        return
    for line, obj in read_objects(stream, name):
        owning, related = obj.get("owningId"), obj.get("relatedId")
        if not (isinstance(owning, str) and owning and isinstance(related, str) and related):
            raise FormatError(name, line, 'a relation row needs "owningId" and "relatedId" strings')
        yield line, owning, related


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    return str(exc)


# -- writing -------------------------------------------------------------------

def dumps_line(value: Any) -> str:
    """Compact JSON text of one value, UTF-8 kept, no NaN."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_jsonl(objects: Iterable[dict], stream: IO[str]) -> int:
    """One compact JSON object per line; the number written."""
    n = 0
    for obj in objects:
        stream.write(dumps_line(obj))
        stream.write("\n")
        n += 1
    return n


# schema type (cql.types.schema_type) -> LeanCloud CSV type
_CSV_OF_SCHEMA = {"String": "string", "Number": "number", "Boolean": "boolean", "Date": "date",
                  "File": "file", "Array": "array", "Object": "object", "GeoPoint": "geopoint"}


def csv_type_of(schema_type: Optional[str]) -> str:
    """The LeanCloud CSV type for a schema type ("Pointer<Player>" -> "pointer:Player")."""
    if schema_type and schema_type.startswith("Pointer<"):
        return f"pointer:{schema_type[len('Pointer<'):-1]}"
    return _CSV_OF_SCHEMA.get(schema_type or "", "object")


def csv_cell(value: Any, kind: str) -> str:
    """A REST JSON value as a typed-CSV cell (inverse of reading)."""
    if value is None:
        return ""
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "date":
        return value.get("iso", "") if isinstance(value, dict) else str(value)
    if kind == "geopoint" and isinstance(value, dict):
        return f"{value.get('longitude')} {value.get('latitude')}"
    if kind.startswith("pointer:") and isinstance(value, dict):
        return str(value.get("objectId", ""))
    if kind == "number":
        return json.dumps(value)
    if kind == "file" and isinstance(value, dict):
        return value.get("url") or dumps_line(value)
    return dumps_line(value)


def write_typed_csv(objects: Iterable[dict], fields: Sequence[Tuple[str, str]], stream: IO[str]) -> int:
    """LeanCloud's typed CSV: ``fields`` is [(name, schema type)]; row 1 the
    CSV types, row 2 the names, then one row per object. createdAt/updatedAt
    (ISO strings) are written as dates."""
    types = [csv_type_of(t) for _, t in fields]
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(types)
    writer.writerow([f for f, _ in fields])
    n = 0
    for obj in objects:
        writer.writerow([csv_cell(obj.get(f), k) for (f, _), k in zip(fields, types)])
        n += 1
    return n


def schema_fields(objects: Sequence[dict], known: Optional[Dict[str, str]] = None) -> List[Tuple[str, str]]:
    """(name, schema type) of every field of ``objects`` (objectId first,
    createdAt/updatedAt last), types from ``known`` or the first non-null value."""
    from ..types import schema_type
    types: Dict[str, str] = {}
    for obj in objects:
        for key, value in obj.items():
            if key not in types and value is not None:
                types[key] = (known or {}).get(key) or schema_type(value) or "String"
    head = [("objectId", "String")] if "objectId" in types else []
    tail = [(k, "Date") for k in sorted(DATE_FIELDS) if k in types]
    middle = sorted((k, t) for k, t in types.items() if k not in SYSTEM_FIELDS)
    return head + middle + tail

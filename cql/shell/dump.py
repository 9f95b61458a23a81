"""``.dump [Class ...]``: sqlite3's ``.dump`` for an object store, a CQL
script that recreates the objects when run on an empty database
(``cql -f dump.cql new.db``, or on a server).

What "exactly" means here (decided):

- Kept: every field with its typed value (strings, numbers as int or float,
  booleans, null, Date, Pointer, GeoPoint, File, Bytes, arrays and objects
  with typed values inside), and every pointer and relation between dumped
  objects: the objectId a new object gets is captured with ``.set VAR
  insert ...`` and bound as ``:VAR`` wherever the old one stood, so pointers
  still point at the same objects. A pointer to an object outside the dump
  keeps its old objectId as written.
- Not kept: objectId, createdAt and updatedAt. An INSERT cannot set them
  (error 105, as on LeanCloud), so the new database assigns its own; the
  old objectId of each object another one points to survives in its
  variable's name (``:Post_6b10...``). An empty relation is not recreated.
  To keep ids and times, copy the database file or use ``.export`` with
  ``cql copy``.

Classes are written so that pointed-to classes come first; a pointer to an
object not yet written (a cycle) is set by an update at the end. Objects
that nothing points to are inserted 100 to a statement.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Sequence, Set, TextIO, Tuple

from ..connection import Connection
from ..keywords import KEYWORDS
from ..names import SYSTEM_FIELDS
from .errors import CommandError, did_you_mean
from .transfer import iter_class
from .values import literal, quote

ROWS = 100                 # objects per multi-row insert
EMPTY = "cql_dump_empty"   # a field for an object that has none (deleted again at once)
DELETE = object()          # a field's value in a final update: op('Delete')
Key = Tuple[str, str]      # (className, objectId)


def name(text: str) -> str:
    """A class or field name as CQL reads it (backticks for a keyword)."""
    return f"`{text}`" if text.lower() in KEYWORDS else text


def pointers(value: Any) -> Iterator[Key]:
    """Every (className, objectId) a value points to, at any depth."""
    if isinstance(value, list):
        for item in value:
            yield from pointers(item)
    elif isinstance(value, dict):
        if value.get("__type") == "Pointer":
            yield value.get("className"), value.get("objectId")
        else:
            for item in value.values():
                yield from pointers(item)


def _target(kind: str, prefix: str) -> str:
    return kind[len(prefix):-1] if kind.startswith(prefix) and kind.endswith(">") else ""


def _order(classes: Sequence[str], schema: Dict[str, Dict[str, str]]) -> List[str]:
    """Pointed-to classes before the classes that point to them (depth first)."""
    out: List[str] = []
    seen: Set[str] = set()

    def visit(cls: str) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for kind in schema.get(cls, {}).values():
            target = _target(kind, "Pointer<") or _target(kind, "Relation<")
            if target in classes:
                visit(target)
        out.append(cls)
    for cls in sorted(classes):
        visit(cls)
    return out


class _Dump:
    def __init__(self, conn: Connection, classes: List[str], schema: Dict[str, Dict[str, str]], out: TextIO):
        self.conn = conn
        self.classes = classes
        self.schema = schema
        self.out = out
        self.variables: Dict[Key, str] = {}     # objects written and captured
        self.used: Set[str] = set()
        self.referenced: Set[Key] = set()       # dumped objects something points to
        self.relations: Dict[Key, List[Tuple[str, str, List[str]]]] = defaultdict(list)
        self.later: List[Tuple[str, str, str, Any]] = []   # (class, variable, field, value) set at the end
        self.count = 0

    def relation_fields(self, cls: str) -> List[Tuple[str, str]]:
        return [(f, _target(k, "Relation<")) for f, k in self.schema.get(cls, {}).items()
                if _target(k, "Relation<")]

    def scan(self) -> None:
        """First pass: which dumped objects are pointed to, and the members
        of every relation."""
        dumped = set(self.classes)
        targets = {_target(k, "Pointer<") or _target(k, "Relation<")
                   for cls in self.classes for k in self.schema.get(cls, {}).values()} & dumped
        existing: Set[Key] = set()
        pointed: Set[Key] = set()
        for cls in self.classes:
            relations = self.relation_fields(cls)
            for obj in iter_class(self.conn, cls):
                oid = obj["objectId"]
                if cls in targets:
                    existing.add((cls, oid))
                pointed.update(p for p in pointers(obj) if p[0] in dumped)
                for field, target in relations:
                    where = {"$relatedTo": {"object": {"__type": "Pointer", "className": cls, "objectId": oid},
                                            "key": field}}
                    members = [o["objectId"] for o in iter_class(self.conn, target, where=where)]
                    if members:
                        self.relations[(cls, oid)].append((field, target, members))
                        if target in dumped:
                            pointed.update((target, m) for m in members)
        self.referenced = pointed & existing

    def variable(self, key: Key) -> str:
        base = re.sub(r"\W", "_", f"{key[0]}_{key[1]}")
        var, n = base, 1
        while var in self.used:
            n += 1
            var = f"{base}_{n}"
        self.used.add(var)
        self.variables[key] = var
        return var

    def pointer_text(self, cls: str, oid: str) -> str:
        var = self.variables.get((cls, oid))
        return f"pointer({quote(cls)}, :{var})" if var else f"pointer({quote(cls)}, {quote(oid)})"

    def value(self, value: Any) -> str:
        return literal(value, self.pointer_text)

    def waiting(self, value: Any) -> bool:
        """Whether a value points to a dumped object not written yet."""
        return any(p in self.referenced and p not in self.variables for p in pointers(value))

    def write(self, line: str) -> None:
        self.out.write(line + "\n")

    def insert(self, cls: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        values = ", ".join("(" + ", ".join(self.value(v) for v in row) + ")" for row in rows)
        return f"insert into {name(cls)} ({', '.join(name(c) for c in columns)}) values {values}"

    def objects(self, cls: str) -> None:
        """Second pass for one class: its inserts, captured where needed."""
        group: List[Sequence[Any]] = []
        group_columns: Tuple[str, ...] = ()

        def flush() -> None:
            if group:
                self.write(self.insert(cls, group_columns, group) + ";")
                group.clear()
        for obj in iter_class(self.conn, cls):
            self.count += 1
            key = (cls, obj["objectId"])
            fields = {k: v for k, v in obj.items() if k not in SYSTEM_FIELDS
                      and not (isinstance(v, dict) and v.get("__type") == "Relation")}
            deferred = {k: v for k, v in fields.items() if self.waiting(v)}
            now = {k: v for k, v in fields.items() if k not in deferred}
            if not (key in self.referenced or deferred or key in self.relations or not now):
                columns = tuple(now)
                if columns != group_columns or len(group) >= ROWS:
                    flush()
                    group_columns = columns
                group.append(tuple(now.values()))
                continue
            flush()
            var = self.variable(key)
            if not now:  # an insert needs a column: null now, set (or deleted) at the end
                placeholder = next(iter(deferred), EMPTY)
                now = {placeholder: None}
                if placeholder == EMPTY:
                    deferred[EMPTY] = DELETE
            self.write(f".set {var} " + self.insert(cls, tuple(now), [tuple(now.values())]))
            self.later.extend((cls, var, field, value) for field, value in deferred.items())
        flush()

    def finish(self) -> None:
        """The updates that wait for every insert: pointers to objects
        written later, relations, placeholder fields."""
        for cls, var, field, value in self.later:
            text = "op('Delete')" if value is DELETE else self.value(value)
            self.write(f"update {name(cls)} set {name(field)} = {text} where objectId = :{var};")
        for (cls, oid), fields in self.relations.items():
            var = self.variables[(cls, oid)]
            for field, target, members in fields:
                for i in range(0, len(members), ROWS):
                    objects = ", ".join(self.pointer_text(target, m) for m in members[i:i + ROWS])
                    self.write(f"update {name(cls)} set {name(field)} = op('AddRelation', {{'objects': [{objects}]}}) "
                               f"where objectId = :{var};")


def dump(conn: Connection, class_names: Sequence[str], out: TextIO, source: str = "") -> int:
    """Write the script for ``class_names`` (every class when empty) to
    ``out``; the number of objects dumped."""
    schema = conn.schema()
    for cls in class_names:
        if cls not in schema:
            raise CommandError(f"no class {cls}{did_you_mean(cls, schema)} (.classes lists them)")
    classes = _order(list(class_names) or sorted(schema), schema)
    job = _Dump(conn, classes, schema, out)
    job.scan()
    job.write(f"-- cql .dump of {source}: {', '.join(classes) or 'no classes'}")
    job.write("-- Run it on an empty database: cql -f THIS_FILE new.db")
    job.write("-- Every field and typed value is kept, and pointers/relations between these objects;")
    job.write("-- objectId, createdAt and updatedAt are new (an insert cannot set them): .set captures")
    job.write("-- each new objectId that something points to, named after the old one.")
    for cls in classes:
        job.objects(cls)
    job.finish()
    job.write(f"-- {job.count} objects")
    return job.count

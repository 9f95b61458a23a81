"""LeanCloud exports as a copy source (and a folder or archive of them as a
target): a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive, a folder, or one
data file.

Names recognised, anywhere in a folder or archive (sub-folders are fine):
  ``Class.jsonl``, ``Class.json``, ``Class.csv``    objects of Class
  ``Class.N.jsonl`` (N digits; also .json/.csv)     one part of Class
  ``_Join:key:Class.jsonl`` (also .json/.csv)       relation rows of Class.key
  ``schema.json``, ``schemas.json``, ``_schema.json`` the schema (GET /schemas answer)
Anything else is listed as ignored, never read silently. One data file on its
own holds the class named by its file name.
"""
from __future__ import annotations

import os
import tarfile
import tempfile
import zipfile
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .. import errors
from ..names import DATE_FIELDS, is_class_name, is_field_name
from . import formats
from .endpoints import (PAGE, SYSTEM, ClassWriter, Endpoint, Findings, RelationRow, Schema, Written, file_fields,
                        parse_spec, parse_type)

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")
DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
SCHEMA_NAMES = ("schema.json", "schemas.json", "_schema.json")


def is_export_path(path: str) -> bool:
    """Whether ``path`` names an export (archive, folder or data file) rather
    than an embedded database file."""
    lower = path.lower()
    if lower.endswith(ARCHIVE_SUFFIXES) or lower.endswith(DATA_SUFFIXES):
        return True
    return os.path.isdir(path)


class Member:
    """One file of an export: its name inside the export and how to open it."""

    def __init__(self, name: str, open_binary: Callable[[], IO[bytes]]):
        self.name = name
        self.open_binary = open_binary


def classify(name: str) -> Optional[Tuple[str, tuple]]:
    """("objects", (Class,)) | ("relation", (Class, key)) | ("schema", ()) | None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if base.lower() in SCHEMA_NAMES:
        return ("schema", ())
    stem, _, ext = base.rpartition(".")
    if ext.lower() not in ("jsonl", "ndjson", "json", "csv"):
        return None
    head, _, part = stem.rpartition(".")
    if head and part.isdigit():  # Class.3.jsonl: a part of Class
        stem = head
    if stem.startswith("_Join:"):
        _, key, cls = (stem.split(":") + ["", ""])[:3]
        if stem.count(":") == 2 and is_field_name(key) and is_class_name(cls):
            return ("relation", (cls, key))
        return None
    return ("objects", (stem,)) if is_class_name(stem) else None


class Export:
    """The files of one export, read in order each time ``members()`` is called."""

    def __init__(self, path: str):
        self.path = path
        lower = path.lower()
        if not os.path.exists(path):
            raise errors.CQLError(f"{path}: no such file or folder", 1)
        if os.path.isdir(path):
            self.kind = "folder"
        elif lower.endswith(".zip"):
            self.kind = "zip"
        elif lower.endswith(ARCHIVE_SUFFIXES):
            self.kind = "tar"
        elif lower.endswith(DATA_SUFFIXES):
            self.kind = "file"
        else:
            raise errors.CQLError(f"{path}: not an export (a .tar.gz/.zip archive, a folder, or a "
                                  f".jsonl/.json/.csv file)", 1)

    def members(self) -> Iterator[Member]:
        if self.kind == "file":
            yield Member(os.path.basename(self.path), lambda: open(self.path, "rb"))
        elif self.kind == "folder":
            for root, dirs, files in os.walk(self.path):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(root, f)
                    rel = os.path.relpath(full, self.path).replace(os.sep, "/")
                    yield Member(rel, lambda full=full: open(full, "rb"))
        elif self.kind == "zip":
            try:
                with zipfile.ZipFile(self.path) as z:
                    for info in z.infolist():
                        if not info.is_dir():
                            yield Member(info.filename, lambda info=info, z=z: z.open(info))
            except zipfile.BadZipFile as exc:
                raise errors.CQLError(f"{self.path}: not a readable zip archive ({exc})", 1) from None
        else:
            try:
                with tarfile.open(self.path, "r:*") as t:
                    for info in t:
                        if info.isfile():
                            yield Member(info.name, lambda info=info, t=t: t.extractfile(info))
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise errors.CQLError(f"{self.path}: not a readable tar archive ({exc})", 1) from None

    def member_kind(self, member: Member) -> Optional[Tuple[str, tuple]]:
        kind = classify(member.name)
        if self.kind == "file" and kind is None:
            raise errors.CQLError(f"{self.path}: name the file after its class (e.g. Todo.jsonl, "
                                  "_Join:likes:Post.jsonl for relation rows)", 1)
        return kind

    def shown(self, member: Member) -> str:
        """A member's name in messages: the file itself, or archive/member."""
        if self.kind == "file":
            return self.path
        return f"{self.path}/{member.name}" if self.kind == "folder" else f"{self.path}:{member.name}"


def read_schema_file(text: str, name: str) -> Dict[str, dict]:
    """{class: {field: Parse field spec}} from a /schemas answer, a list of
    class entries, or {class: {"fields": ...}}."""
    entries = []
    try:
        data = formats.loads(text)
    except ValueError as exc:
        raise formats.FormatError(name, None, f"malformed JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        entries = data["results"]
    elif isinstance(data, list):
        entries = data
    elif isinstance(data, dict):
        entries = [dict(v, className=k) for k, v in data.items() if isinstance(v, dict)]
    out: Dict[str, dict] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("className"), str):
            fields = entry.get("fields") or entry.get("schema") or {}
            out[entry["className"]] = {k: (v if isinstance(v, dict) else {"type": str(v)})
                                       for k, v in fields.items()} if isinstance(fields, dict) else {}
    return out


def write_export(path: str, write_members: Callable[[Callable[[str], IO[str]]], None]) -> None:
    """Write an export: a folder, or a .tar.gz/.zip archive, or one data file,
    all built in a temporary place and moved into ``path`` at the end (a
    failed write leaves the old export whole). ``write_members(open_member)``
    writes each member through ``open_member(name)`` (a text stream)."""
    lower = path.lower()
    parent = os.path.dirname(os.path.abspath(path))
    staging = tempfile.mkdtemp(prefix=".cql-export-", dir=parent)
    try:
        def open_member(name: str) -> IO[str]:
            full = os.path.join(staging, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            return open(full, "w", encoding="utf-8", newline="")

        write_members(open_member)
        names = sorted(os.listdir(staging))
        if lower.endswith(ARCHIVE_SUFFIXES):
            tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.part")
            if lower.endswith(".zip"):
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                    for n in names:
                        z.write(os.path.join(staging, n), n)
            else:
                mode = {"gz": "w:gz", "tgz": "w:gz", "bz2": "w:bz2", "xz": "w:xz"}.get(lower.rsplit(".", 1)[-1], "w")
                with tarfile.open(tmp, mode) as t:
                    for n in names:
                        t.add(os.path.join(staging, n), n)
            os.replace(tmp, path)
        elif lower.endswith(DATA_SUFFIXES):
            if len(names) != 1:
                raise errors.CQLError(f"{path}: one data file holds one class, but the copy has "
                                      f"{len(names)} files ({', '.join(names[:5])}); copy into a folder "
                                      "or an archive instead", 1)
            os.replace(os.path.join(staging, names[0]), path)
        else:
            os.makedirs(path, exist_ok=True)
            for n in names:
                os.replace(os.path.join(staging, n), os.path.join(path, n))
    finally:
        import shutil
        shutil.rmtree(staging, ignore_errors=True)


# -- the export as an endpoint ----------------------------------------------------

class ExportEndpoint(Endpoint):
    """A LeanCloud export as a source (read twice: ``prescan`` checks every
    line and learns the schema before anything is written), or a folder or
    archive of JSON Lines files as a target."""

    kind = "export"

    def __init__(self, path: str, *, for_writing: bool = False):
        self.path = path
        self.shown = path
        self._staging: Optional[str] = None
        self._scanned: Optional[_Prescan] = None
        self._written: List[Tuple[str, List[str]]] = []   # (member name, lines file) of a target
        if for_writing:
            self.export = None
            self._out = tempfile.mkdtemp(prefix=".cql-copy-", dir=os.path.dirname(os.path.abspath(path)))
            return
        self._out = None
        self.export = Export(path)
        if self.export.kind in ("tar", "zip"):  # one decompression: members to a folder, read from there
            self._staging = tempfile.mkdtemp(prefix="cql-export-")
            self._members = list(self._spool())
        else:
            self._members = [m for m in self.export.members()]

    # -- reading ----------------------------------------------------------------------
    def _spool(self) -> Iterator[Tuple[Member, Optional[Tuple[str, tuple]]]]:
        import shutil
        for i, m in enumerate(self.export.members()):
            kind = classify(m.name)
            if kind is None:
                yield m, None
                continue
            local = os.path.join(self._staging, f"{i:06d}")
            with m.open_binary() as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield Member(m.name, lambda local=local: open(local, "rb")), kind

    def members(self) -> List[Tuple[Member, Optional[Tuple[str, tuple]]]]:
        if self._staging is not None:
            return self._members
        return [(m, self.export.member_kind(m)) for m in self._members]

    def prescan(self, classes: Optional[Sequence[str]] = None, where: Optional[Dict[str, dict]] = None
                ) -> "_Prescan":
        """Read every file once: each line checked (a bad one is an error
        naming its file and line), field types learned, objects counted (those
        matching ``where`` {class: where JSON})."""
        scan = _Prescan()
        predicates = {cls: _predicate(w) for cls, w in (where or {}).items() if w}
        members = self.members()
        for m, kind in members:
            if kind is not None and kind[0] == "schema":
                with m.open_binary() as f:
                    name = self.export.shown(m)
                    scan.schema_file.update(read_schema_file("".join(formats.text_lines(f, name)), name))
        for m, kind in members:
            if kind is None:
                scan.ignored.append(m.name)
                continue
            what, args = kind
            if what != "objects":
                continue
            cls = args[0]
            if classes is not None and cls not in classes:
                continue
            scan.files.setdefault(cls, []).append(m)
            name = self.export.shown(m)
            keep = predicates.get(cls)
            for line, obj in _read(m, name):
                scan.check(cls, obj, name, line)
                if keep is not None and not keep(obj):
                    continue
                scan.count(cls, obj)
        for m, kind in members:
            if kind is None or kind[0] != "relation":
                continue
            cls, key = kind[1]
            if classes is not None and cls not in classes:
                continue
            name = self.export.shown(m)
            target = scan.relation_target(cls, key)
            if target is None:
                raise formats.FormatError(name, None, f"cannot tell which class {cls}.{key} relates to: no "
                                                      f"schema.json names it and no {cls} object has a "
                                                      f"{key} Relation value")
            ids = scan.ids.get(cls)
            with m.open_binary() as f:
                for _line, owning, related in formats.read_relations(formats.text_lines(f, name), name):
                    if ids is not None and owning not in ids and cls in predicates:
                        continue
                    scan.relations.setdefault(cls, []).append((owning, key, target, related))
            scan.types.setdefault(cls, {}).setdefault(key, f"Relation<{target}>")
        self._scanned = scan
        return scan

    @property
    def ignored(self) -> List[str]:
        """Files of the export whose names are not recognised (not read)."""
        return self._scanned.ignored if self._scanned is not None else []

    def _scan(self) -> "_Prescan":
        if self._scanned is None:
            self.prescan()
        return self._scanned

    def classes(self) -> List[str]:
        """The classes of the export, by its file names (nothing read yet)."""
        if self._scanned is not None:
            return sorted(set(self._scanned.files) | set(self._scanned.relations))
        names = set()
        for _m, kind in self.members():
            if kind is not None and kind[0] in ("objects", "relation"):
                names.add(kind[1][0])
        return sorted(names)

    def schema(self) -> Schema:
        s = self._scan()
        out: Schema = {}
        for cls in set(s.types) | set(s.schema_file):
            fields = {}
            for name, spec in s.schema_file.get(cls, {}).items():
                kind = parse_type(spec)
                if kind is not None and name not in SYSTEM:
                    fields[name] = kind
            fields.update(s.types.get(cls, {}))
            out[cls] = fields
        return out

    def count(self, cls: str, where: Optional[dict]) -> Optional[int]:
        return len(self._scan().ids.get(cls, ()))

    def findings(self, classes: Sequence[str], schema: Schema, where: Dict[str, dict]) -> Findings:
        s = self._scan()
        out = Findings(nulls=0, user_secrets=0, auth_data=0, acl_without_self=0,
                       file_fields=file_fields(classes, schema))
        for cls in classes:
            one = s.found.get(cls, Findings())
            out.counts[cls] = one.counts.get(cls, 0)
            out.nulls += one.nulls or 0
            out.null_example = out.null_example or one.null_example
            out.user_secrets += one.user_secrets or 0
            out.auth_data += one.auth_data or 0
            out.acl_without_self += one.acl_without_self or 0
        return out

    def pages(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        predicate = _predicate(where) if where else None
        page: List[dict] = []
        for m in self._scan().files.get(cls, []):
            for _line, obj in _read(m, self.export.shown(m)):
                if predicate is not None and not predicate(obj):
                    continue
                page.append(obj)
                if len(page) >= PAGE:
                    yield page
                    page = []
        if page:
            yield page

    def relations(self, cls: str) -> Iterator[RelationRow]:
        return iter(self._scan().relations.get(cls, []))

    def get_objects(self, cls: str, ids: Sequence[str]) -> Dict[str, dict]:
        wanted = set(ids)
        out: Dict[str, dict] = {}
        for page in self.pages(cls, None):
            out.update((o["objectId"], o) for o in page if o.get("objectId") in wanted)
        return out

    # -- writing (a folder or archive of .jsonl files) ---------------------------------
    def prepare(self, classes: Sequence[str], schema: Schema) -> None:
        """schema.json: the field types, so Relation targets survive the round trip."""
        doc = {"results": [{"className": c, "fields": {f: parse_spec(t) for f, t in sorted(schema.get(c, {}).items())}}
                           for c in classes]}
        with open(os.path.join(self._out, "schema.json"), "w", encoding="utf-8") as f:
            f.write(formats.dumps_line(doc))

    def writer(self, cls: str, rules: Any) -> ClassWriter:
        return _ExportWriter(self, cls)

    def finish(self) -> None:
        """Put the written export in place (rename at the end: a failed copy
        leaves the old export whole)."""
        out = self._out

        def write_members(open_member: Callable[[str], IO[str]]) -> None:
            import shutil
            for name in sorted(os.listdir(out)):
                with open(os.path.join(out, name), encoding="utf-8") as src, open_member(name) as dst:
                    shutil.copyfileobj(src, dst)

        write_export(self.path, write_members)

    def close(self) -> None:
        import shutil
        for d in (self._staging, self._out):
            if d:
                shutil.rmtree(d, ignore_errors=True)


class _ExportWriter(ClassWriter):
    chunk = 5000

    def __init__(self, ep: ExportEndpoint, cls: str):
        self.ep, self.cls = ep, cls
        self.stream = open(os.path.join(ep._out, f"{cls}.jsonl"), "w", encoding="utf-8")

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        n = formats.write_jsonl(objects, self.stream)
        if relations:
            self.write_relations([(o, k, tc, ti) for o, rows in relations.items() for k, tc, ti in rows])
        return Written(inserted=n)

    def write_relations(self, rows: List[RelationRow]) -> int:
        by_key: Dict[str, List[dict]] = {}
        for owner, key, _tc, target in rows:
            by_key.setdefault(key, []).append({"owningId": owner, "relatedId": target})
        for key, items in by_key.items():
            with open(os.path.join(self.ep._out, f"_Join:{key}:{self.cls}.jsonl"), "a", encoding="utf-8") as f:
                formats.write_jsonl(items, f)
        return len(rows)

    def close(self) -> None:
        self.stream.close()


def _predicate(where: dict) -> Callable[[dict], bool]:
    """The embedded engine's matcher over export objects (no subqueries: an
    export is not a database)."""
    from ..engine.matcher import compile_where
    return compile_where(where)


def _read(member: Member, name: str) -> Iterator[Tuple[int, dict]]:
    """Objects of a member, read as strict UTF-8 line by line."""
    with member.open_binary() as f:
        yield from formats.read_objects(formats.text_lines(f, name), name)


class _Prescan:
    """What one read of an export learned."""

    def __init__(self) -> None:
        self.files: Dict[str, List[Member]] = {}
        self.ids: Dict[str, set] = {}
        self.types: Dict[str, Dict[str, str]] = {}
        self.type_where: Dict[Tuple[str, str], str] = {}
        self.schema_file: Dict[str, dict] = {}
        self.relations: Dict[str, List[RelationRow]] = {}
        self.ignored: List[str] = []
        self.found: Dict[str, Findings] = {}   # per class
        self.good_names: set = set()           # field names already checked

    def check(self, cls: str, obj: dict, name: str, line: int) -> None:
        """Everything a target would refuse, found before anything is written."""
        from ..errors import CQLError
        from ..types import check_value, parse_date, schema_type
        oid = obj.get("objectId")
        if not isinstance(oid, str) or not oid:
            raise formats.FormatError(name, line, "the object has no objectId: a copy keeps objectIds (use the "
                                                  "shell's .import to insert objects as new ones)")
        types = self.types.setdefault(cls, {})
        declared = self.schema_file.get(cls, {})
        for key, value in obj.items():
            if key in DATE_FIELDS:
                iso = value.get("iso") if isinstance(value, dict) else value
                try:
                    parse_date(iso)
                except CQLError as exc:
                    raise formats.FormatError(name, line, f"{key}: {exc.message}") from None
                continue
            if key == "objectId":
                continue
            if key not in self.good_names and not is_field_name(key):
                raise formats.FormatError(name, line, f"invalid field name {key!r}: field names start with an "
                                                      "ASCII letter and use only ASCII letters, digits and _")
            if value.__class__ is dict or value.__class__ is list:
                try:
                    check_value(value, f"{cls}.{key}")
                except CQLError as exc:
                    raise formats.FormatError(name, line, exc.message) from None
            self.good_names.add(key)
            if value is None or key == "ACL":
                continue
            kind = schema_type(value)
            if kind == "Object" and isinstance(value, dict) and value.get("__type") == "Object":
                kind = f"Pointer<{value.get('className')}>"
            known = types.get(key)
            if known is None:
                spec = declared.get(key)
                known = parse_type(spec) if spec is not None else None
                if known is not None and known != kind and not _fits(known, kind):
                    raise formats.FormatError(name, line, f"field {key} holds a {kind}, but the schema says "
                                                          f"{known}")
                types[key] = known or kind
                self.type_where[(cls, key)] = f"{name}:{line}"
            elif known != kind and not _fits(known, kind):
                raise formats.FormatError(name, line, f"field {key} holds a {kind}, but {known} at "
                                                      f"{self.type_where.get((cls, key), 'the schema')}")

    def count(self, cls: str, obj: dict) -> None:
        ids = self.ids.setdefault(cls, set())
        oid = obj["objectId"]
        if oid not in ids:
            ids.add(oid)
            self.found.setdefault(cls, Findings()).observe(cls, obj)

    def relation_target(self, cls: str, key: str) -> Optional[str]:
        spec = self.schema_file.get(cls, {}).get(key)
        if isinstance(spec, dict) and spec.get("targetClass"):
            return spec["targetClass"]
        kind = self.types.get(cls, {}).get(key, "")
        if kind.startswith("Relation<"):
            return kind[len("Relation<"):-1]
        return None


def _fits(declared: str, found: str) -> bool:
    """A value type that the declared schema type accepts (an ACL-typed or
    Object field holding any object; a Pointer field holding an included object)."""
    return declared in ("Object", "ACL") and found == "Object"

"""``.import`` and ``.export``: move objects between files and a class.

Import reads a JSON array (or {"results": [...]}), JSON lines, or CSV (a
header line of names, or LeanCloud's typed CSV) through cql.transfer.formats,
the one home of data file formats, and inserts in batches through Create
plans (one multi-row insert each: one SQLite transaction of the backend's
``bulk_rows`` on the engine, one /batch request per ``BATCH`` on a server).
``createdAt``/``updatedAt``/``objectId`` in the file are dropped: the backend
assigns them. Export pages with keyset paging on objectId (``objectId > last
order by objectId``), so it is not held to the default limit of 100 and does
not pay for ever-growing skips.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..connection import Connection
from ..names import SYSTEM_FIELDS, is_class_name, is_field_name
from ..types import check_value, schema_type
from .errors import CommandError, decode_text, did_you_mean

BATCH = 50
PAGE = 1000
SYSTEM = (*SYSTEM_FIELDS, "ACL")  # assigned by the target, never copied from a file
_SYSTEM_KEYS = frozenset(SYSTEM)


def read_objects(path: str, known: Optional[Dict[str, str]] = None) -> List[Tuple[str, dict]]:
    """(where, object) for each object of a JSON array (or {"results": [...]}),
    JSON lines, or CSV file (LeanCloud's typed CSV, or a header line of names
    typed by ``known``, the class's schema), by content; ``where`` is
    ``file:line`` (``file: object N`` in a JSON document)."""
    from ..transfer.formats import FormatError, read_text
    with open(path, "rb") as f:
        data = f.read()
    text = decode_text(data, path)
    document = text.lstrip("\ufeff \t\r\n")[:1] == "[" or re.match(r'\s*\{\s*"results"\s*:', text)
    try:
        return [(f"{path}: object {line}" if document else f"{path}:{line}", obj)
                for line, obj in read_text(text, path, known)]
    except FormatError as exc:
        raise CommandError(exc.message) from None


def check_objects(objects: Sequence[Tuple[str, dict]], class_name: str,
                  known: Optional[Dict[str, str]] = None) -> None:
    """Field names, values and types as INSERT would accept them (codes 105,
    107, 111 against the class's ``known`` field types), each error at its
    file line, so nothing is imported that cannot be queried or read back.
    One tight loop: it runs over every value of files of millions of rows."""
    from ..errors import CQLError
    from ..types import schema_type
    names: set = set()  # checked already (files repeat the same few)
    for n, (where, obj) in enumerate(objects, 1):
        for key, value in obj.items():
            if key not in names:
                if not is_field_name(key):
                    raise CommandError(f"{where}: object {n}: invalid field name {key!r}: field names start with "
                                       "an ASCII letter and use only ASCII letters, digits and '_'; nothing "
                                       "imported")
                names.add(key)
            c = value.__class__
            if c is list or c is dict:  # (scalars need no check)
                try:
                    check_value(value, f"{class_name}.{key}")
                except CQLError as exc:
                    raise CommandError(f"{where}: object {n}: {exc.message}; nothing imported") from None
            if known:
                kind = _PLAIN_KINDS.get(c) or schema_type(value)
                if kind is not None and known.get(key, kind) != kind:
                    raise CommandError(f"{where}: field {key}: {kind} {compact(value)}, but {class_name}.{key} "
                                       f"holds {known[key]} (error 111); nothing imported")


_PLAIN_KINDS = {str: "String", bool: "Boolean", int: "Number", float: "Number"}


def type_clash(obj: dict, types: Dict[str, str]) -> Optional[Tuple[str, str]]:
    """(field, "its type and value") of the first field of ``obj`` whose type
    differs from ``types`` (a class's schema), else None."""
    from ..types import schema_type
    for key, value in obj.items():
        kind = schema_type(value)
        if kind is not None and types.get(key, kind) != kind:
            return key, f"{kind} {compact(value)}"
    return None


def located(exc: Exception, batch: Sequence[Tuple[str, dict]], types: Dict[str, str]) -> Exception:
    """A type error (111) of a batch said at the file line of the object that
    caused it: the first whose types clash with the class's or an earlier
    object's of the batch."""
    from .. import errors
    if not isinstance(exc, errors.CQLError) or exc.code != 111:
        return exc
    seen = dict(types)
    for where, obj in batch:
        if type_clash(obj, seen) is not None:
            return errors.CQLError(f"{where}: {exc.message}", exc.code)
        for key, value in obj.items():
            seen.setdefault(key, schema_type(value))
    return exc


def import_file(conn: Connection, path: str, class_name: str, *,
                warn: Optional[Callable[[str], None]] = None, progress: Optional[TextIO] = None) -> int:
    """Insert every object of ``path`` into ``class_name``; the number inserted.
    ``warn`` is told how far an import got that failed half-way; ``progress``
    (a terminal's stream) shows the rows done, their rate and the time left."""
    from ..plan import Create
    from .progress import Progress
    if not is_class_name(class_name):
        raise CommandError(f"invalid class name {class_name!r}: class names start with an ASCII letter "
                           "or '_' and use only ASCII letters, digits and '_'")
    known = _schema(conn).get(class_name)
    rows = [(where, o if _SYSTEM_KEYS.isdisjoint(o) else {k: v for k, v in o.items() if k not in SYSTEM})
            for where, o in read_objects(path, known)]
    strict = getattr(conn.backend, "strict_types", True)  # servers keep one type per field
    check_objects(rows, class_name, known if strict else None)
    backend = conn.backend
    size = getattr(backend, "bulk_rows", BATCH)  # the engine writes big statements best
    batches = [rows[i:i + size] for i in range(0, len(rows), size)]
    bar = Progress(len(rows), progress, "rows", label=f"importing into {class_name} ") \
        if progress is not None else None
    done = 0
    try:
        for batch in batches:
            objects = tuple(obj for _where, obj in batch)
            columns = tuple(dict.fromkeys(k for o in objects for k in o))
            try:
                done += backend.run(Create(class_name, rows=objects, columns=columns)).rowcount
            except Exception as exc:
                raise located(exc, batch, _schema(conn).get(class_name) or {}) from None
            if bar is not None:
                bar.update(done)
    except BaseException as exc:
        # Batches already inserted stay (each committed): say how far it got.
        if warn is not None:
            if bar is not None:
                bar.clear()
            warn(f"{done} of {len(rows)} objects were imported into {class_name} before "
                 f"{'the interrupt' if isinstance(exc, KeyboardInterrupt) else 'this error'}" if done
                 else f"nothing was imported into {class_name}")
        raise
    finally:
        if bar is not None:
            bar.close()
    return done


def _schema(conn: Connection) -> Dict[str, Dict[str, str]]:
    """The schema, or {} where it cannot be read (a server without the master key)."""
    from .. import errors
    try:
        return conn.schema()
    except errors.Error:
        return {}


def compact(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def iter_class(conn: Connection, class_name: str, where: Optional[dict] = None) -> Iterator[dict]:
    """Every object of a class (that ``where`` matches), in objectId order,
    a page at a time."""
    from ..plan import Find
    backend = conn.backend
    last = None
    while True:
        page = dict(where or {})
        if last is not None:
            page["objectId"] = {"$gt": last}
        result = backend.run(Find(class_name, where=page, order=("objectId",), limit=PAGE))
        yield from result.objects
        if len(result.objects) < PAGE:
            return
        last = result.objects[-1]["objectId"]


def _check_class(conn: Connection, class_name: str) -> None:
    """An export of a class that does not exist is a typo: say so (with a
    suggestion) instead of writing an empty file over the last export."""
    target = conn.target
    if target and str(target).startswith(("http://", "https://")):
        return  # a server's schema may be partial (REST key): let the query answer
    schema = conn.schema()
    if class_name in schema or not schema:
        return
    raise CommandError(f"no class {class_name}{did_you_mean(class_name, schema)} (.classes lists them)")


_SQLITE_HEADER = b"SQLite format 3\x00"


def _identity(path: str) -> Optional[tuple]:
    """(device, inode) of the file at ``path`` (symlinks followed), None if absent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _is_database(path: str) -> bool:
    """An SQLite database file (every cql database is one), or the -wal/-shm
    file beside one."""
    import stat
    for name in (path, path[:-4] if path.endswith(("-wal", "-shm")) else None):
        try:
            if name is None or not stat.S_ISREG(os.stat(name).st_mode):
                continue  # never open a FIFO or a device to look: it could block
            with open(name, "rb") as f:
                if f.read(16) == _SQLITE_HEADER:
                    return True
        except (OSError, ValueError):
            pass
    return False


def refuse_database_file(path: str, target: Optional[str]) -> None:
    """Refuse to write over a database: the open one (``target``) or its -wal/-shm
    file under any name, hard links included (compared by device and inode,
    not by path), and any other SQLite/cql database file."""
    here = _identity(path)
    if target and target != ":memory:" and not str(target).startswith(("http://", "https://")):
        names = [target + suffix for suffix in ("", "-wal", "-shm")]
        if os.path.realpath(path) in map(os.path.realpath, names) or \
                (here is not None and here in map(_identity, names)):
            raise CommandError(f"{path} is the open database file: writing there would destroy it; "
                               "choose another file")
    if here is not None and _is_database(path):
        raise CommandError(f"{path} is a database file: writing there would destroy it; choose another file")


def export_class(conn: Connection, class_name: str, path: str) -> int:
    """Write every object of ``class_name`` to ``path``; the number written.
    A regular file is written beside it and renamed into place at the end, so
    a failed export (server error, Ctrl-C, full disk) leaves the old file whole."""
    # Only a plain file (or a new one) is replaced by rename; a symlink
    # (/dev/stdout), a FIFO or a device is written in place.
    refuse_database_file(path, conn.target)
    _check_class(conn, class_name)
    special = os.path.islink(path) or (os.path.exists(path) and not os.path.isfile(path))
    if special:
        return _export_to(conn, class_name, path, _open_for_export(path))
    # The temporary file is made exclusively (O_EXCL, a random name): a name
    # planted beforehand (a symlink to another file) is never written through.
    directory = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    except OSError as exc:  # name the file the user gave, not the temporary one
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        n = _export_to(conn, class_name, path, os.fdopen(fd, "w", encoding="utf-8", newline=""))
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return n


def _mode_for(path: str) -> int:
    """The permissions the export gets: the replaced file's, else what creating
    it would give (0666 less the umask), not mkstemp's 0600."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _open_for_export(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None


def _export_to(conn: Connection, class_name: str, path: str, f: TextIO) -> int:
    ext = os.path.splitext(path)[1].lower()
    n = 0
    with f:
        if ext == ".csv":  # LeanCloud's typed CSV: row 1 the types, so an import gets them back
            from ..transfer.formats import schema_fields, write_typed_csv
            objects = list(iter_class(conn, class_name))
            fields = [field for field in schema_fields(objects, _schema(conn).get(class_name)) if field[0] != "ACL"]
            return write_typed_csv(objects, fields, f)
        if ext == ".json":
            f.write("[")
            for o in iter_class(conn, class_name):
                f.write(("," if n else "") + "\n  " + json.dumps(o, ensure_ascii=False))
                n += 1
            f.write("\n]\n" if n else "]\n")
            return n
        for o in iter_class(conn, class_name):
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
            n += 1
    return n

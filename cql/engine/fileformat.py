"""The file format (``cql-embedded-2``): the tables, how objects are stored,
opening a file (WAL, checks), and the upgrade of ``cql-embedded-1`` files.

Tables: ``objects(class, id, json)`` (primary key (class, id), WITHOUT ROWID:
an object is one B-tree entry, a class's objects lie together in objectId
order); ``classes(name, count, version)``; ``indexes(id, class, field, kind,
keys)`` and the ``ix_<id>``/``geo_<id>`` tables (indexes.py); ``relations``;
``schema`` (field types, first-written order); ``meta`` (the format).
Objects are stored as compact JSON text (``dumps``), so the file stays
readable by any SQLite tool and SQLite's JSON functions can read fields.

The upgrade from ``cql-embedded-1`` (whole database read on open, a change
log for other processes) happens in place, once, inside the opening
transaction, and reads the old data as is: its ``objects`` table (a rowid
table with the same columns and primary key) answers every query unchanged,
so only what is new is added (class counts and versions, the index
registry) and the change log is dropped. Dropping it also makes a process of
the old version that still has the file open fail on its next statement,
instead of writing around the new indexes. Nothing stored is touched.
"""
from __future__ import annotations

import json
import os
import sqlite3
from typing import Callable, Optional

from ..errors import StorageError
from .filecheck import check_file, new_database_id
from .storage_errors import is_busy, storage_error

FORMAT = "cql-embedded-2"
FORMAT_1 = "cql-embedded-1"
# Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a statement of many
# rows dirties index pages all over the file, and a page rewritten by ten
# statements is then copied into the file once.
WAL_CHECKPOINT_PAGES = 10_000

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS objects (class TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL,
                                    PRIMARY KEY (class, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS relations (class TEXT NOT NULL, id TEXT NOT NULL, key TEXT NOT NULL,
                                      target_class TEXT NOT NULL, target_id TEXT NOT NULL,
                                      PRIMARY KEY (class, id, key, target_class, target_id));
CREATE TABLE IF NOT EXISTS schema (class TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL,
                                   PRIMARY KEY (class, field));
CREATE TABLE IF NOT EXISTS classes (name TEXT PRIMARY KEY, count INTEGER NOT NULL,
                                    version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS indexes (id INTEGER PRIMARY KEY, class TEXT NOT NULL, field TEXT NOT NULL,
                                    kind TEXT NOT NULL, keys TEXT, UNIQUE (class, field, kind));
"""
_OWN_TABLES = {"objects", "relations", "schema", "log", "meta", "sqlite_sequence", "classes", "indexes"}


def create_private(path: str) -> None:
    """Create a new database file readable by its owner only (0600, or stricter
    by the umask): it holds the app's data. SQLite gives its -wal and -shm
    files the database file's permissions. An existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot create database file {path!r}: {exc.strerror}") from None


def open_database(path: Optional[str], synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """An SQLite connection on a cql database file (created or upgraded as
    needed, checked first: filecheck.py), or on a new database in memory (path None)."""
    sync = str(synchronous).upper()
    if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise StorageError(f"synchronous must be NORMAL, FULL, EXTRA or OFF, not {synchronous!r}")
    new = True
    if path is not None:
        create_private(path)
        new = os.path.getsize(path) == 0
        check_file(path)  # cut short? a foreign -wal? (before SQLite reads or writes it)
    try:
        db = sqlite3.connect(path if path is not None else ":memory:", timeout=busy_timeout,
                             isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database file {path!r}: {exc}") from None
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        db.execute("PRAGMA cache_size = -16384")  # 16 MiB of pages (SQLite's default is 2)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        foreign = sorted(t for t in tables - _OWN_TABLES if not t.startswith(("ix_", "geo_")))
        if foreign and "meta" not in tables:
            raise StorageError(f"{path!r} is an SQLite database of another application (tables: "
                               f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                               "cql keeps its data in a file of its own: open a new file")
        if path is not None:
            if new:
                new_database_id(db)  # before WAL mode: the main file's header holds it
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"cannot use WAL mode on {path!r} (got {mode})")
            db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            db.execute(f"PRAGMA journal_size_limit = {WAL_CHECKPOINT_PAGES * 4096 * 2}")
        db.execute(f"PRAGMA synchronous = {sync}")
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() \
                if "meta" in tables else None
            if row is not None and row[0] == FORMAT_1:
                _upgrade_format_1(db)
            elif row is not None and row[0] != FORMAT:
                raise StorageError(f"{path!r} is a database of format {row[0]!r}, not {FORMAT!r}")
            for stmt in SCHEMA_SQL.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            if row is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        db.close()
        if is_busy(exc):
            raise storage_error(path, "open", exc, busy_timeout) from None
        text = str(exc)
        hint = ("; it is not an SQLite file: give a cql database file, or a new file name"
                if "not a database" in text else
                "; the file is damaged: restore it from a copy (sqlite3 FILE .recover may save the rest)"
                if "malformed" in text else "")
        raise StorageError(f"{path!r} is not a usable cql database ({text}){hint}") from None
    except BaseException:
        db.close()
        raise
    return db


def _upgrade_format_1(db: sqlite3.Connection) -> None:
    """cql-embedded-1 -> 2, inside the opening transaction (see the module doc)."""
    db.execute("CREATE TABLE IF NOT EXISTS classes (name TEXT PRIMARY KEY, count INTEGER NOT NULL, "
               "version INTEGER NOT NULL)")
    db.execute("INSERT OR IGNORE INTO classes (name, count, version) "
               "SELECT class, count(*), 1 FROM objects GROUP BY class")
    db.execute("INSERT OR IGNORE INTO classes (name, count, version) SELECT DISTINCT class, 0, 1 FROM schema")
    db.execute("DROP TABLE IF EXISTS log")
    db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_dumps() -> Callable[[object], str]:
    """Compact JSON text, no NaN/Infinity (ValueError), unknown types TypeError:
    ``JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)``.
    The C encoder is made once (``JSONEncoder.encode`` makes one per call, a
    third of the cost of a small object); without cycle markers: a cycle is a
    RecursionError, caught where objects are written."""
    slow = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    c_make = getattr(json.encoder, "c_make_encoder", None)
    try:
        encoder = c_make(None, _not_json, json.encoder.encode_basestring,  # type: ignore[misc]
                         None, ":", ",", False, False, False)
        if "".join(encoder({"a": [1.5, "é"]}, 0)) != slow({"a": [1.5, "é"]}):
            return slow
    except Exception:  # no C accelerator, or another signature
        return slow
    join = "".join
    return lambda obj: join(encoder(obj, 0))


dumps = _make_dumps()
_json_loads = json.loads


def loads(text: str) -> dict:
    """A stored object: JSON text of an object. Anything else (a hand-edited row
    holding an array, a number) is damage, like text that is not JSON."""
    obj = _json_loads(text)
    if obj.__class__ is not dict:
        raise ValueError(f"a row holds a JSON {type(obj).__name__}, not an object")
    return obj

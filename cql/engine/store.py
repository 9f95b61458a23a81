"""Objects in memory per class, mirrored to an SQLite file when there is one.

Why this shape: queries run on Python dicts (fast, no decoding), while the file
gives durability and sharing between processes:

- one SQLite transaction per statement, in WAL mode; a write statement holds
  ``BEGIN IMMEDIATE`` from before it reads until it commits, so two writer
  processes serialize and each sees the other's committed rows;
- memory changes only after the COMMIT succeeded, so a failed statement leaves
  both memory and file as they were;
- ``PRAGMA data_version`` tells, before each statement, whether another
  connection committed; the ``log`` table says which objects it touched, so only
  those are reloaded (the whole cache when the log was trimmed past our point).

Durability: ``synchronous=NORMAL`` (the default here) survives a killed process
(a committed WAL frame is in the OS's hands); ``synchronous="FULL"`` also
survives power loss at the price of an fsync per statement.

Tables: objects(class, id, json), relations(class, id, key, target_class,
target_id), schema(class, field, type), log(seq, class, id), meta(key, value).
"""
from __future__ import annotations

import gc
import json
import os
import sqlite3
from itertools import repeat
from typing import Callable, Dict, List, Optional, Set, Tuple

from ..errors import InvalidJSON, StorageError
from .filecheck import check_file, integrity_problems, new_database_id
from .storage_errors import is_busy, storage_error

FORMAT = "cql-embedded-1"
LOG_KEEP = 50_000  # log rows kept; a reader further behind reloads everything

# A change: (class, id, new object or None for a delete)
Change = Tuple[str, str, Optional[dict]]
# A relation change: (owner class, owner id, key, target class, target id, add?)
RelChange = Tuple[str, str, str, str, str, bool]
# Listeners get every applied change of a statement at once:
# [(class, id, old object or None, new object or None), ...]
Listener = Callable[[List[Tuple[str, str, Optional[dict], Optional[dict]]]], None]

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS objects (class TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL,
                                    PRIMARY KEY (class, id));
CREATE TABLE IF NOT EXISTS relations (class TEXT NOT NULL, id TEXT NOT NULL, key TEXT NOT NULL,
                                      target_class TEXT NOT NULL, target_id TEXT NOT NULL,
                                      PRIMARY KEY (class, id, key, target_class, target_id));
CREATE TABLE IF NOT EXISTS schema (class TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL,
                                   PRIMARY KEY (class, field));
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, class TEXT NOT NULL,
                                id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

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


_dumps = _make_dumps()
_json_loads = json.loads


def _loads(text: str) -> dict:
    """A stored object: JSON text of an object. Anything else (a hand-edited row
    holding an array, a number) is damage, like text that is not JSON."""
    obj = _json_loads(text)
    if obj.__class__ is not dict:
        raise ValueError(f"a row holds a JSON {type(obj).__name__}, not an object")
    return obj


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


class Store:
    """The data of one embedded database: objects, relations and field types."""

    def __init__(self, path: Optional[str] = None, *, synchronous: str = "NORMAL",
                 busy_timeout: float = 30.0):
        self.path = path
        self.classes: Dict[str, Dict[str, dict]] = {}
        # (owner class, owner id) -> {key: {(target class, target id)}}
        self.relations: Dict[Tuple[str, str], Dict[str, Set[Tuple[str, str]]]] = {}
        self.schema: Dict[str, Dict[str, str]] = {}
        self.listeners: List[Listener] = []
        self.reset_listeners: List[Callable[[], None]] = []
        self._db: Optional[sqlite3.Connection] = None
        self._file_id: Optional[Tuple[int, int]] = None  # (st_dev, st_ino) of the file opened
        self._abs_path = ""
        self._data_version: Optional[int] = None
        self._seq = 0
        self._in_write = False
        self.busy_timeout = busy_timeout
        if path is not None:
            self._open(path, synchronous, busy_timeout)

    # -- opening ----------------------------------------------------------------
    def _open(self, path: str, synchronous: str, busy_timeout: float) -> None:
        sync = str(synchronous).upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise StorageError(f"synchronous must be NORMAL, FULL, EXTRA or OFF, not {synchronous!r}")
        create_private(path)
        new = os.path.getsize(path) == 0
        check_file(path)  # cut short? a foreign -wal? (before SQLite reads or writes it)
        try:
            db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database file {path!r}: {exc}") from None
        self._db = db
        self._abs_path = os.path.abspath(path)  # a later chdir must not look like a deletion
        st = os.stat(path)
        self._file_id = (st.st_dev, st.st_ino)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # Another application's SQLite file: refuse before changing anything
            # in it (its journal mode, cql's tables beside its own).
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            foreign = sorted(tables - {"objects", "relations", "schema", "log", "meta", "sqlite_sequence"})
            if foreign and "meta" not in tables:
                raise StorageError(f"{path!r} is an SQLite database of another application (tables: "
                                   f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); "
                                   "cql keeps its data in a file of its own: open a new file")
            if new:
                new_database_id(db)  # before WAL mode: the main file's header holds it
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"cannot use WAL mode on {path!r} (got {mode})")
            db.execute(f"PRAGMA synchronous = {sync}")
            db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in _SCHEMA_SQL.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
                elif row[0] != FORMAT:
                    raise StorageError(f"{path!r} is a database of format {row[0]!r}, not {FORMAT!r}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            db.close()
            self._db = None
            if is_busy(exc):
                raise storage_error(path, "open", exc, busy_timeout) from None
            text = str(exc)
            hint = ("; it is not an SQLite file: give a cql database file, or a new file name"
                    if "not a database" in text else
                    "; the file is damaged: restore it from a copy (sqlite3 FILE .recover may save the rest)"
                    if "malformed" in text else "")
            raise StorageError(f"{path!r} is not a usable cql database ({text}){hint}") from None
        except StorageError:
            db.close()
            self._db = None
            raise
        self.sync()

    def _check_file(self) -> None:
        """Refuse to write once the file was deleted or replaced under us: SQLite
        would go on writing to the unlinked file, and every write would be lost."""
        try:
            st = os.stat(self._abs_path)
            same = (st.st_dev, st.st_ino) == self._file_id
        except OSError:
            same = False
        if not same:
            raise StorageError(f"the database file {self.path!r} was deleted or replaced while open; nothing "
                               "was written: open it again (.open or cql.connect) to go on")

    def check(self) -> list:
        """SQLite's integrity check of the file: the problems found ([]: sound)."""
        if self._db is None:
            return []
        try:
            return integrity_problems(self._db)
        except sqlite3.Error as exc:
            return [str(exc)]

    @property
    def persistent(self) -> bool:
        return self.path is not None

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    # -- reading other connections' commits ------------------------------------
    def sync(self) -> None:
        """Bring memory up to date with the file (cheap when nothing changed)."""
        db = self._db
        if db is None:
            return
        try:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
            own = not self._in_write
            try:
                if own:
                    db.execute("BEGIN")
                self._catch_up(db)
            finally:
                if own and db.in_transaction:
                    db.execute("COMMIT")
            self._data_version = version  # only once caught up: a failure retries
        except sqlite3.Error as exc:
            raise storage_error(self.path, "read", exc, self.busy_timeout) from None
        except ValueError as exc:  # a row that is not JSON: not written by cql
            raise StorageError(f"{self.path!r} holds a damaged object: {exc}") from None

    def _catch_up(self, db: sqlite3.Connection) -> None:
        lo, hi = db.execute("SELECT min(seq), max(seq) FROM log").fetchone()
        if hi is None or hi == self._seq:
            if hi is None and self._seq == 0 and not self.classes:
                self._load_all(db)
            return
        if self._seq == 0 or hi < self._seq or lo > self._seq + 1:
            self._load_all(db)
            self._seq = hi
            return
        touched = dict.fromkeys(
            (c, i) for c, i in db.execute("SELECT class, id FROM log WHERE seq > ? ORDER BY seq",
                                          (self._seq,)))
        self._load_schema(db)
        applied = []
        for cls, oid in touched:
            row = db.execute("SELECT json FROM objects WHERE class = ? AND id = ?", (cls, oid)).fetchone()
            new = None if row is None else _loads(row[0])
            self._set(cls, oid, new, applied)
            self.relations.pop((cls, oid), None)
            for key, tc, ti in db.execute(
                    "SELECT key, target_class, target_id FROM relations WHERE class = ? AND id = ?",
                    (cls, oid)):
                self.relations.setdefault((cls, oid), {}).setdefault(key, set()).add((tc, ti))
        self._seq = hi  # only now: an interrupted catch-up is redone, not skipped
        self._notify(applied)

    def _load_schema(self, db: sqlite3.Connection) -> None:
        schema: Dict[str, Dict[str, str]] = {}
        for cls, fld, typ in db.execute("SELECT class, field, type FROM schema ORDER BY rowid"):
            schema.setdefault(cls, {})[fld] = typ
        self.schema = schema

    def _load_all(self, db: sqlite3.Connection) -> None:
        # Millions of new dicts would trigger the cyclic GC over and over (it
        # finds nothing here: JSON has no cycles), so pause it while loading.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._load_all_now(db)
        finally:
            if paused:
                gc.enable()

    def _load_all_now(self, db: sqlite3.Connection) -> None:
        classes: Dict[str, Dict[str, dict]] = {}
        for cls, oid, text in db.execute("SELECT class, id, json FROM objects ORDER BY rowid"):
            bucket = classes.get(cls)
            if bucket is None:
                bucket = classes[cls] = {}
            bucket[oid] = _loads(text)
        relations: Dict[Tuple[str, str], Dict[str, Set[Tuple[str, str]]]] = {}
        for cls, oid, key, tc, ti in db.execute(
                "SELECT class, id, key, target_class, target_id FROM relations"):
            relations.setdefault((cls, oid), {}).setdefault(key, set()).add((tc, ti))
        self.classes = classes
        self.relations = relations
        self._load_schema(db)
        row = db.execute("SELECT max(seq) FROM log").fetchone()
        self._seq = row[0] or 0
        for reset in self.reset_listeners:
            reset()

    # -- writing ----------------------------------------------------------------
    def write(self) -> "_Write":
        """One write statement: lock the file, catch up, collect changes, commit.

        ``with store.write() as batch``: the caller reads memory (up to date
        under the lock), puts every change into the Batch, and returns; an
        exception discards the batch."""
        return _Write(self)

    def _persist(self, db: sqlite3.Connection, batch: "Batch") -> None:
        try:
            if batch.schema:
                db.executemany("INSERT OR REPLACE INTO schema (class, field, type) VALUES (?, ?, ?)",
                               batch.schema)
            inserts, updates, deletes = [], [], []
            for cls, oid, new in batch.changes:
                if new is None:
                    deletes.append((cls, oid))
                elif oid in self.classes.get(cls, ()) and (cls, oid) not in batch.created:
                    updates.append((_dumps(new), cls, oid))
                else:
                    inserts.append((cls, oid, _dumps(new)))
            if inserts:
                db.executemany("INSERT INTO objects (class, id, json) VALUES (?, ?, ?)", inserts)
            if updates:
                db.executemany("UPDATE objects SET json = ? WHERE class = ? AND id = ?", updates)
            if deletes:
                db.executemany("DELETE FROM objects WHERE class = ? AND id = ?", deletes)
                db.executemany("DELETE FROM relations WHERE class = ? AND id = ?", deletes)
            adds = [r[:5] for r in batch.relations if r[5]]
            removes = [r[:5] for r in batch.relations if not r[5]]
            if adds:
                db.executemany("INSERT OR IGNORE INTO relations VALUES (?, ?, ?, ?, ?)", adds)
            if removes:
                db.executemany("DELETE FROM relations WHERE class = ? AND id = ? AND key = ? "
                               "AND target_class = ? AND target_id = ?", removes)
            touched = dict.fromkeys([(c, i) for c, i, _ in batch.changes]
                                    + [(r[0], r[1]) for r in batch.relations])
            if batch.schema and not touched:
                touched[("", "")] = None
            db.executemany("INSERT INTO log (class, id) VALUES (?, ?)", list(touched))
            hi = db.execute("SELECT max(seq) FROM log").fetchone()[0] or 0
            if hi % 1000 < len(touched) and hi > LOG_KEEP:
                db.execute("DELETE FROM log WHERE seq <= ?", (hi - LOG_KEEP,))
            self._seq = hi
        except (ValueError, TypeError, RecursionError) as exc:  # e.g. NaN nested in a value: not JSON
            raise InvalidJSON(f"cannot store this value: {exc}") from None
        except sqlite3.Error as exc:
            raise storage_error(self.path, "write to", exc) from None

    def _apply(self, batch: "Batch") -> None:
        for cls, fld, typ in batch.schema:
            self.schema.setdefault(cls, {})[fld] = typ
        applied: list = []
        append = applied.append
        classes = self.classes
        bucket: Optional[Dict[str, dict]] = None
        bucket_cls = None
        for cls, oid, new in batch.changes:
            if new is None:
                self._set(cls, oid, new, applied)
                self.relations.pop((cls, oid), None)
                continue
            if cls != bucket_cls:  # (_set inlined: a bulk insert applies many)
                bucket = classes.get(cls)
                if bucket is None:
                    bucket = classes[cls] = {}
                bucket_cls = cls
            old = bucket.get(oid)  # type: ignore[union-attr]
            bucket[oid] = new  # type: ignore[index]
            append((cls, oid, old, new))
        self._notify(applied)
        for cls, oid, key, tc, ti, add in batch.relations:
            keys = self.relations.get((cls, oid))
            if add:
                if keys is None:
                    keys = self.relations[(cls, oid)] = {}
                keys.setdefault(key, set()).add((tc, ti))
            elif keys is not None and key in keys:
                keys[key].discard((tc, ti))
                if not keys[key]:
                    del keys[key]

    def _set(self, cls: str, oid: str, new: Optional[dict], applied: list) -> None:
        bucket = self.classes.get(cls)
        if bucket is None:
            if new is None:
                return
            bucket = self.classes[cls] = {}
        old = bucket.get(oid)
        if new is None:
            if old is None:
                return
            del bucket[oid]
        else:
            bucket[oid] = new
        applied.append((cls, oid, old, new))

    def _notify(self, applied: list) -> None:
        if applied:
            for listener in self.listeners:
                listener(applied)

    # -- reading ----------------------------------------------------------------
    def related(self, cls: str, oid: str, key: str) -> Set[Tuple[str, str]]:
        return self.relations.get((cls, oid), {}).get(key, set())


class _Write:
    """The context manager of ``Store.write`` (a class, not a generator: one
    per statement, so its cost is per-statement overhead)."""

    __slots__ = ("store", "db", "batch")

    def __init__(self, store: Store):
        self.store = store
        self.db = store._db
        self.batch = Batch()

    def __enter__(self) -> "Batch":
        db = self.db
        if db is not None:
            store = self.store
            store._check_file()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise storage_error(store.path, "lock for writing", exc, store.busy_timeout) from None
            except BaseException:  # Ctrl-C just after BEGIN: never leave the file locked
                self._rollback()
                raise
            store._in_write = True
            try:
                store.sync()
            except BaseException:
                self._rollback()
                raise
        return self.batch

    def _rollback(self) -> None:
        db = self.db
        try:
            if db is not None and db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self.store._in_write = False

    def __exit__(self, exc_type, exc, tb) -> bool:
        db = self.db
        store = self.store
        if db is None:
            if exc_type is None:
                store._apply(self.batch)
            return False
        if exc_type is not None:
            self._rollback()
            return False
        interrupted: Optional[BaseException] = None
        try:
            store._persist(db, self.batch)
            db.execute("COMMIT")
        except (sqlite3.Error, StorageError, InvalidJSON) as exc:
            # SQLite said no: nothing was committed, though after a full disk or
            # an I/O error it may have ended the transaction itself (so
            # in_transaction is no sign of a commit). Memory stays as the file is.
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(store.path, "commit to", exc, store.busy_timeout) from None
            raise
        except BaseException as exc:
            if db.in_transaction:  # not committed: nothing happened
                self._rollback()
                raise
            interrupted = exc  # Ctrl-C just after COMMIT: memory must still follow the file
        store._in_write = False
        # Our own commit does not change data_version for this connection.
        try:
            store._apply(self.batch)
        except BaseException:
            store._data_version = None  # memory half-applied: reload from the file next time
            store._seq = 0
            raise
        if interrupted is not None:
            raise interrupted
        return False


class Batch:
    """The changes of one write statement, applied all together or not at all."""

    __slots__ = ("changes", "relations", "schema", "created")

    def __init__(self) -> None:
        self.changes: List[Change] = []
        self.relations: List[RelChange] = []
        self.schema: List[Tuple[str, str, str]] = []
        self.created: Set[Tuple[str, str]] = set()

    def insert(self, cls: str, oid: str, obj: dict) -> None:
        self.created.add((cls, oid))
        self.changes.append((cls, oid, obj))

    def insert_many(self, cls: str, oids: List[str], objs: List[dict]) -> None:
        """New objects of one class (``oids[i]`` is the id of ``objs[i]``)."""
        names = repeat(cls)
        self.created.update(zip(names, oids))
        self.changes.extend(zip(repeat(cls), oids, objs))

    def update(self, cls: str, oid: str, obj: dict) -> None:
        self.changes.append((cls, oid, obj))

    def delete(self, cls: str, oid: str) -> None:
        self.changes.append((cls, oid, None))

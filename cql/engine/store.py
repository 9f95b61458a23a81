"""The embedded database: an SQLite file (or SQLite in memory) is the database,
memory only a cache.

Why this shape: opening costs the same whatever the size (nothing is loaded);
a statement reads what it needs (objects by id, index ranges, or a streamed
scan, see query.py), and decoded objects are kept in a bounded cache
(cache.py). A transient database is SQLite ``:memory:`` on the same code path
(bench/scale.py measures it against the old all-in-dicts engine).

Tables: see fileformat.py. ``classes(name, count, version)`` holds each
class's object count (``count(*)`` without a where is one row) and a version
bumped by every write statement to the class and by its index changes.

Transactions: one per statement (a multi-statement one for DB-API
``executemany``); WAL; a write holds ``BEGIN IMMEDIATE`` from before it reads
until it commits, so writers serialize and each sees the others' rows; a read
runs in one read transaction (one snapshot even when it runs several queries).

Sharing: at the start of each transaction ``PRAGMA data_version`` says whether
another connection committed; if so the class versions are read and the
cached objects of every class whose version moved are dropped, and the schema
and index registry are read again. No change log: nothing is cached in full
that could not simply be dropped.

Failure: memory follows each statement as it is written into the open
transaction (so later statements of a transaction see it); if the transaction
does not commit (an error, a failed COMMIT such as a full disk, Ctrl-C), every
class it touched is dropped from the cache and the counts, versions, schema
and index registry are read again from the file. So a cache never shows a row
that is not in the file.

Durability: ``synchronous=NORMAL`` (default) survives a killed process;
``synchronous="FULL"`` also survives power loss at the price of an fsync per
statement.
"""
from __future__ import annotations

import os
import sqlite3
from itertools import repeat
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from ..errors import InvalidJSON, StorageError
from .cache import ObjectCache, cost_of
from .filecheck import integrity_problems
from .fileformat import dumps, loads, open_database
from .indexes import IndexSet
from .storage_errors import storage_error
from .views import ClassesView

DEFAULT_CACHE_MB = 64
_IN_CHUNK = 500  # ids per "id IN (...)" query
TINY_CLASS = 256  # objects: a class this small is read whole at its first scan

# A change: (class, id, old object or None (a new object), new object or None (a delete))
Change = Tuple[str, str, Optional[dict], Optional[dict]]
# A relation change: (owner class, owner id, key, target class, target id, add?)
RelChange = Tuple[str, str, str, str, str, bool]

class DuplicateId(StorageError):
    """An insert met an objectId already stored (ids made here can meet imported ones)."""


class Store:
    """One embedded database: its SQLite connection, what is known of its
    classes (counts, versions, schema, indexes) and the object cache."""

    def __init__(self, path: Optional[str] = None, *, synchronous: str = "NORMAL",
                 busy_timeout: float = 30.0, cache_mb: float = DEFAULT_CACHE_MB):
        self.path = path
        self.cache = ObjectCache(int(float(cache_mb) * 2 ** 20))
        self.schema: Dict[str, Dict[str, str]] = {}
        self.counts: Dict[str, int] = {}
        self.versions: Dict[str, int] = {}
        self.indexes = IndexSet()
        self._db: Optional[sqlite3.Connection] = None
        self._file_id: Optional[Tuple[int, int]] = None  # (st_dev, st_ino) of the file opened
        self._abs_path = ""
        self._data_version: Optional[int] = None
        self._depth = 0  # open write statements (nested: a multi-statement transaction)
        self._reading = False
        self._touched: Set[str] = set()  # classes written by the open transaction
        self._savepoints = 0
        self._scans: Dict[str, int] = {}  # scans per class, to tell a hot class
        self.busy_timeout = busy_timeout
        self._open(path, synchronous, busy_timeout)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError("the database is closed")
        return self._db

    # -- opening ----------------------------------------------------------------
    def _open(self, path: Optional[str], synchronous: str, busy_timeout: float) -> None:
        self._db = open_database(path, synchronous, busy_timeout)
        if path is not None:
            self._abs_path = os.path.abspath(path)  # a later chdir must not look like a deletion
            st = os.stat(path)
            self._file_id = (st.st_dev, st.st_ino)

    def _check_file(self) -> None:
        """Refuse to write once the file was deleted or replaced under us: SQLite
        would go on writing to the unlinked file, and every write would be lost."""
        if self.path is None:
            return
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

    # -- other connections' commits ----------------------------------------------
    def sync(self) -> None:
        """Inside a transaction: bring what memory knows up to the snapshot
        (cheap when no other connection committed)."""
        db = self.db
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        self._reload(db)
        self._data_version = version  # only once caught up: a failure retries

    def sync_or_undo(self, undo: Callable[[], None]) -> None:
        """``sync`` at the start of a transaction; if it fails, ``undo`` ends the
        transaction and the error is a StorageError."""
        try:
            self.sync()
        except BaseException as exc:
            undo()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(self.path, "read", exc, self.busy_timeout) from None
            raise

    def _reload(self, db: sqlite3.Connection) -> None:
        versions: Dict[str, int] = {}
        counts: Dict[str, int] = {}
        for name, count, version in db.execute("SELECT name, count, version FROM classes"):
            versions[name] = version
            counts[name] = count
        for name in list(self.cache.classes):
            if versions.get(name) != self.versions.get(name):
                self.cache.drop(name)
        schema: Dict[str, Dict[str, str]] = {}
        for cls, fld, typ in db.execute("SELECT class, field, type FROM schema ORDER BY rowid"):
            schema.setdefault(cls, {})[fld] = typ
        self.versions, self.counts, self.schema = versions, counts, schema
        self.indexes.load(db)

    def _forget(self) -> None:
        """A transaction did not commit: memory may hold what it wrote."""
        for cls in self._touched:
            self.cache.drop(cls)
            self.versions.pop(cls, None)  # unknown until read again: its cache cannot survive
        self._touched = set()
        self._data_version = None

    # -- transactions ------------------------------------------------------------
    def reading(self) -> "_Read":
        """One read statement: ``with store.reading(): ...`` (one snapshot)."""
        return _Read(self)

    def write(self) -> "_Write":
        """One write statement: ``with store.write() as batch``: lock the file,
        catch up, let the caller read (current under the lock) and fill the
        Batch; on a clean exit the batch is written (and committed unless a
        transaction is open around it); an exception discards it."""
        return _Write(self)

    def transaction(self) -> "_Write":
        """Several statements in one transaction, all or nothing."""
        return _Write(self)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0 or self._reading

    @property
    def in_read(self) -> bool:
        """Inside a read snapshot (a subquery's): nothing can be written now."""
        return self._reading

    def catch_up(self) -> None:
        """Outside any transaction, bring counts and the index registry up to
        the file when nothing has been read yet."""
        if not self.in_transaction and self._data_version is None:
            with self.reading():
                pass

    # -- reading objects ----------------------------------------------------------
    def decode(self, cls: str, oid: str, text: str, keep: bool = True) -> dict:
        """A stored object's JSON, decoded (and kept in the cache unless ``keep``
        is false: a scan's candidates would only push hot objects out)."""
        try:
            obj = loads(text)
        except ValueError as exc:
            raise StorageError(f"{self.path!r} holds a damaged object {cls}/{oid}: {exc}") from None
        if keep:
            self.cache.put(self.cache.of(cls), oid, obj, cost_of(len(text)))
        return obj

    def get(self, cls: str, oid: str) -> Optional[dict]:
        cc = self.cache.peek(cls)
        if cc is not None:
            obj = cc.objects.get(oid)
            if obj is not None or cc.complete:
                return obj
        row = self.db.execute("SELECT json FROM objects WHERE class = ? AND id = ?", (cls, oid)).fetchone()
        return None if row is None else self.decode(cls, oid, row[0])

    def get_many(self, cls: str, ids: Iterable[str]) -> Dict[str, dict]:
        """The objects of ``ids`` that exist, by id."""
        out: Dict[str, dict] = {}
        missing: List[str] = []
        cc = self.cache.peek(cls)
        cached = cc.objects if cc is not None else {}
        complete = cc is not None and cc.complete
        for oid in ids:
            obj = cached.get(oid)
            if obj is not None:
                out[oid] = obj
            elif not complete:
                missing.append(oid)
        db = self.db
        for i in range(0, len(missing), _IN_CHUNK):
            part = missing[i:i + _IN_CHUNK]
            sql = f"SELECT id, json FROM objects WHERE class = ? AND id IN ({','.join('?' * len(part))})"
            for oid, text in db.execute(sql, (cls, *part)):
                out[oid] = self.decode(cls, oid, text)
        return out

    def class_objects(self, cls: str) -> Iterator[Tuple[str, str]]:
        """(id, json) of every object of a class, in objectId order (streamed)."""
        return self.db.execute("SELECT id, json FROM objects WHERE class = ? ORDER BY id", (cls,))

    def load_class(self, cls: str) -> Optional[Dict[str, dict]]:
        """The whole class in the cache (id -> object, objectId order), for a
        scan from memory: a tiny class at once, a small one when it is scanned
        again (hot; a one-off scan streams rather than decode it all), never one
        that does not fit the cache."""
        objs = self.cache.complete(cls)
        if objs is not None:
            return objs
        n = self.counts.get(cls, 0)
        if n * cost_of(200) > self.cache.limit // 2:
            return None
        if n > TINY_CLASS and self.first_scan(cls):
            return None
        cc = self.cache.peek(cls)
        cached = cc.objects if cc is not None else {}
        items = []
        for oid, text in self.class_objects(cls):
            obj = cached.get(oid)
            if obj is None:
                try:
                    obj = loads(text)
                except ValueError as exc:
                    raise StorageError(f"{self.path!r} holds a damaged object {cls}/{oid}: {exc}") from None
            items.append((oid, obj, cost_of(len(text))))
        if self.cache.fill(cls, items):
            return self.cache.complete(cls)
        return None

    def count(self, cls: str) -> int:
        return self.counts.get(cls, 0)

    def first_scan(self, cls: str) -> bool:
        """Count a scan of a class: True the first time (a class scanned again
        is hot, and read whole into the cache when it fits)."""
        scans = self._scans.get(cls, 0)
        self._scans[cls] = scans + 1
        return not scans

    @property
    def classes(self) -> "ClassesView":
        """Every stored object, class by class, read from the file on demand
        (a read-only mapping for inspection; queries go through query.py)."""
        return ClassesView(self)

    def related(self, cls: str, oid: str, key: str) -> Set[Tuple[str, str]]:
        return set(self.db.execute(
            "SELECT target_class, target_id FROM relations WHERE class = ? AND id = ? AND key = ?",
            (cls, oid, key)))

    def relation_owners(self, cls: str, key: str, target_class: str, target_id: str) -> List[str]:
        """objectIds of the objects of ``cls`` whose relation ``key`` holds the target."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM relations WHERE class = ? AND key = ? AND target_class = ? AND target_id = ?",
            (cls, key, target_class, target_id))]

    def class_names(self) -> List[str]:
        names = list(self.schema)
        names += [c for c in self.versions if c not in self.schema]
        return names

    # -- indexes (inside a write) -------------------------------------------------
    def create_index(self, cls: str, field: str, kind: str) -> None:
        if self.indexes.get(cls, field, kind) is None:
            try:
                self.indexes.create(self.db, cls, field, kind)
            except sqlite3.Error as exc:
                raise storage_error(self.path, f"build the index of {cls}.{field} in", exc, self.busy_timeout) \
                    from None
            self._bump(cls)

    def drop_index(self, cls: str, field: str, kind: str) -> bool:
        if self.indexes.drop(self.db, cls, field, kind):
            self._bump(cls)
            return True
        return False

    def _bump(self, cls: str) -> None:
        """A class changed (its objects or its indexes): other connections drop
        what they cached of it and read its registry again."""
        db = self.db
        self._touched.add(cls)
        if cls not in self.versions:
            db.execute("INSERT OR IGNORE INTO classes (name, count, version) VALUES (?, 0, 0)", (cls,))
            self.counts[cls], self.versions[cls] = db.execute(
                "SELECT count, version FROM classes WHERE name = ?", (cls,)).fetchone()
        db.execute("UPDATE classes SET version = version + 1 WHERE name = ?", (cls,))
        self.versions[cls] += 1

    def index_info(self, idx: Any) -> dict:
        """class, field, kind, entries and bytes (None when SQLite cannot say) of an index."""
        db = self.db
        entries = db.execute(f"SELECT count(*) FROM {idx.table}").fetchone()[0]
        try:
            size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (idx.table,)).fetchone()[0]
        except sqlite3.Error:  # SQLite built without the dbstat table
            size = None
        return {"class": idx.cls, "field": idx.field, "kind": idx.kind, "entries": entries, "bytes": size}

    # -- writing ----------------------------------------------------------------
    def _persist(self, batch: "Batch") -> None:
        """Write a statement's changes into the open transaction, and make memory
        (counts, versions, schema, indexes, cache) follow."""
        db = self.db
        try:
            touched = dict.fromkeys([c[0] for c in batch.changes] + [r[0] for r in batch.relations]
                                    + [s[0] for s in batch.schema])
            self._touched.update(touched)
            for cls in touched:
                if cls not in self.versions:
                    db.execute("INSERT OR IGNORE INTO classes (name, count, version) VALUES (?, 0, 0)", (cls,))
                    row = db.execute("SELECT count, version FROM classes WHERE name = ?", (cls,)).fetchone()
                    self.counts[cls], self.versions[cls] = row
            if batch.schema:
                db.executemany("INSERT OR REPLACE INTO schema (class, field, type) VALUES (?, ?, ?)",
                               batch.schema)
                for cls, fld, typ in batch.schema:
                    self.schema.setdefault(cls, {})[fld] = typ
            by_class: Dict[str, List[Change]] = {}
            for change in batch.changes:
                by_class.setdefault(change[0], []).append(change)
            cached: List[Tuple[str, str, Optional[dict], int]] = []
            deltas: Dict[str, int] = {}
            for cls, changes in by_class.items():
                deltas[cls] = self._persist_objects(db, cls, changes, cached)
                self.indexes.maintain(db, cls, [(oid, old, new) for _c, oid, old, new in changes])
            adds = [r[:5] for r in batch.relations if r[5]]
            removes = [r[:5] for r in batch.relations if not r[5]]
            if adds:
                db.executemany("INSERT OR IGNORE INTO relations VALUES (?, ?, ?, ?, ?)", adds)
            if removes:
                db.executemany("DELETE FROM relations WHERE class = ? AND id = ? AND key = ? "
                               "AND target_class = ? AND target_id = ?", removes)
            for cls in touched:
                delta = deltas.get(cls, 0)
                db.execute("UPDATE classes SET count = count + ?, version = version + 1 WHERE name = ?",
                           (delta, cls))
                self.counts[cls] = self.counts.get(cls, 0) + delta
                self.versions[cls] = self.versions.get(cls, 0) + 1
            self.cache.apply(cached)
        except (ValueError, TypeError, RecursionError) as exc:  # e.g. NaN nested in a value: not JSON
            raise InvalidJSON(f"cannot store this value: {exc}") from None
        except StorageError:
            raise
        except sqlite3.Error as exc:
            raise storage_error(self.path, "write to", exc) from None

    def _persist_objects(self, db: sqlite3.Connection, cls: str, changes: List[Change],
                         cached: List[Tuple[str, str, Optional[dict], int]]) -> int:
        inserts: List[Tuple[str, str, str]] = []
        updates: List[Tuple[str, str, str]] = []
        deletes: List[Tuple[str, str]] = []
        append = cached.append
        for _cls, oid, old, new in changes:
            if new is None:
                if old is not None:
                    deletes.append((cls, oid))
                    append((cls, oid, None, 0))
                continue
            text = dumps(new)
            if old is None:
                inserts.append((cls, oid, text))
            else:
                updates.append((text, cls, oid))
            append((cls, oid, new, cost_of(len(text))))
        if inserts:
            try:
                db.executemany("INSERT INTO objects (class, id, json) VALUES (?, ?, ?)", inserts)
            except sqlite3.IntegrityError:
                raise DuplicateId(f"an objectId of this insert is already stored in {cls}") from None
        if updates:
            db.executemany("UPDATE objects SET json = ? WHERE class = ? AND id = ?", updates)
        if deletes:
            db.executemany("DELETE FROM objects WHERE class = ? AND id = ?", deletes)
            db.executemany("DELETE FROM relations WHERE class = ? AND id = ?", deletes)
        return len(inserts) - len(deletes)


class _Read:
    """The context manager of ``Store.reading``."""

    __slots__ = ("store", "own")

    def __init__(self, store: Store):
        self.store = store
        self.own = False

    def __enter__(self) -> Store:
        store = self.store
        if store._depth or store._reading:
            return store
        try:
            store.db.execute("BEGIN")
            store._reading = self.own = True
        except BaseException:
            self._end()
            raise
        store.sync_or_undo(self._end)
        return store

    def _end(self) -> None:
        store = self.store
        store._reading = False
        db = store._db
        if db is not None and db.in_transaction:
            try:
                db.execute("COMMIT")  # a read transaction: nothing to keep or lose
            except sqlite3.Error:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.own:
            self._end()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(self.store.path, "read", exc, self.store.busy_timeout) from None
        return False


class _Write:
    """The context manager of ``Store.write`` and ``Store.transaction``: the
    outermost one owns the SQLite transaction; inner ones are savepoints, so a
    failed statement inside a transaction undoes only itself."""

    __slots__ = ("store", "batch", "outer", "savepoint")

    def __init__(self, store: Store):
        self.store = store
        self.batch = Batch()
        self.outer = False
        self.savepoint: Optional[str] = None

    def __enter__(self) -> "Batch":
        store = self.store
        db = store.db
        if store._reading:
            raise StorageError("cannot write inside a read")  # a bug, never a user's doing
        if store._depth:
            store._savepoints += 1
            self.savepoint = f"s{store._savepoints}"
            db.execute(f"SAVEPOINT {self.savepoint}")
            store._depth += 1
            return self.batch
        store._check_file()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(store.path, "lock for writing", exc, store.busy_timeout) from None
        except BaseException:  # Ctrl-C just after BEGIN: never leave the file locked
            self._rollback()
            raise
        self.outer = True
        store._depth = 1
        store._touched = set()
        store.sync_or_undo(self._rollback)
        return self.batch

    def _rollback(self) -> None:
        store = self.store
        try:
            if store.db.in_transaction:
                store.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        store._depth = 0
        store._forget()

    def __exit__(self, exc_type, exc, tb) -> bool:
        store = self.store
        db = store.db
        if exc_type is None:
            try:
                store._persist(self.batch)
            except BaseException:
                self._undo()
                raise
        else:
            self._undo()
            if isinstance(exc, sqlite3.Error):  # a read of the statement failed
                raise storage_error(store.path, "read", exc, store.busy_timeout) from None
            return False
        if not self.outer:
            store._depth -= 1
            try:
                db.execute(f"RELEASE {self.savepoint}")
            except sqlite3.Error as err:
                raise storage_error(store.path, "write to", err) from None
            return False
        try:
            db.execute("COMMIT")
        except sqlite3.Error as err:
            # SQLite said no: nothing was committed, though after a full disk or an
            # I/O error it may have ended the transaction itself (so in_transaction
            # is no sign of a commit). Memory is read again from the file.
            self._rollback()
            raise storage_error(store.path, "commit to", err, store.busy_timeout) from None
        except BaseException:
            if db.in_transaction:  # not committed: nothing happened
                self._rollback()
                raise
            # Ctrl-C just after COMMIT: it is in the file, and memory follows it
            store._depth = 0
            store._touched = set()
            raise
        store._depth = 0
        store._touched = set()
        return False

    def _undo(self) -> None:
        """This statement failed: undo it (and, outermost, the transaction)."""
        store = self.store
        if self.outer:
            self._rollback()
            return
        store._depth -= 1
        try:
            store.db.execute(f"ROLLBACK TO {self.savepoint}")
            store.db.execute(f"RELEASE {self.savepoint}")
        except sqlite3.Error:
            pass
        # memory may hold part of this statement: make the rest of the
        # transaction read the file again
        for cls in store._touched:
            store.cache.drop(cls)
        store._data_version = None
        try:
            store._reload(store.db)
            store._data_version = store.db.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            pass


class Batch:
    """The changes of one write statement, written all together or not at all."""

    __slots__ = ("changes", "relations", "schema")

    def __init__(self) -> None:
        self.changes: List[Change] = []
        self.relations: List[RelChange] = []
        self.schema: List[Tuple[str, str, str]] = []

    def insert(self, cls: str, oid: str, obj: dict) -> None:
        self.changes.append((cls, oid, None, obj))

    def insert_many(self, cls: str, oids: List[str], objs: List[dict]) -> None:
        """New objects of one class (``oids[i]`` is the id of ``objs[i]``)."""
        self.changes.extend(zip(repeat(cls), oids, repeat(None), objs))

    def update(self, cls: str, oid: str, old: dict, obj: dict) -> None:
        """``old`` (the object as stored) becomes ``obj``."""
        self.changes.append((cls, oid, old, obj))

    def delete(self, cls: str, oid: str, old: dict) -> None:
        self.changes.append((cls, oid, old, None))

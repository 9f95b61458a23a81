"""Persistent per-field indexes: SQLite tables in the database file, kept in
the same transaction as every write, built once and used by every process.

Why tables of byte keys: a key is ``keys.encode(value_key(value))``, whose
byte order is MongoDB's order (value_key's), so SQLite's own B-tree gives
equality (one key), ranges and anchored like-prefixes (a key range), and
ORDER BY walks (key order, then objectId) without Python sorting anything.

- ``ix_<id>(key BLOB, id TEXT)``, primary key (key, id), WITHOUT ROWID: every
  object has an entry; missing and null are keyed like null; an array is
  multikey: each element (``=`` on an array means contains), the whole
  array, and one ``ARRAY_MARK`` entry (the empty key, sorting first), so
  "does this field hold arrays" is one probe. Range candidates come from the
  element entries; an ORDER BY walk is refused while the field holds arrays
  (MongoDB sorts an array by its smallest/largest element: the matcher's
  sort does that).
- ``geo_<id>(lat REAL, id TEXT, lng REAL)``, primary key (lat, id): the
  latitude of every GeoPoint (the latitude difference bounds the distance,
  so the k nearest are found by widening a band, query.py); an array value
  gets an entry at latitude ``ARRAY_LAT``, which makes the index refuse.

An index only narrows the candidates: the compiled where decides, so an index
can change a query's cost, never its answer.

The registry ``indexes(id, class, field, kind, keys)`` names them; ``keys`` is
``keys.fingerprint()`` when built: when value_key's order changes, an index
keyed the old way is rebuilt on its next use instead of being trusted.
"""
from __future__ import annotations

import sqlite3
from json import loads
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..names import DATE_FIELDS
from .keys import ARRAY_MARK, fingerprint, keys_of, value_bytes
from .project import Projection, value_of
from .values import MISSING

KEY = "key"
GEO = "geo"
ARRAY_LAT = -1000.0  # below every latitude: the geo entry of an array value
_BULK = 64  # changes at least this many: index entries are sorted before writing
_NOTHING = object()


def field_value(obj: dict, field: str) -> Any:
    """The value an index sees: createdAt/updatedAt (plain ISO strings) as Dates."""
    value = obj.get(field, MISSING)
    if value.__class__ is str and field in DATE_FIELDS:
        return {"__type": "Date", "iso": value}
    return value


def query_value(field: str, value: Any) -> Any:
    """A where value as the index sees it (same rule as ``field_value``)."""
    if value.__class__ is str and field in DATE_FIELDS:
        return {"__type": "Date", "iso": value}
    return value


def value_keys(obj: Optional[dict], field: str) -> Iterable[bytes]:
    if obj is None:
        return ()
    value = field_value(obj, field)
    return keys_of(value, value is not MISSING)


def geo_entry(obj: Optional[dict], field: str) -> Optional[Tuple[float, float]]:
    """(lat, lng) of an object's GeoPoint; (ARRAY_LAT, 0) for an array; else None."""
    if obj is None:
        return None
    value = obj.get(field)
    if value.__class__ is list:
        return (ARRAY_LAT, 0.0)
    if value.__class__ is dict and value.get("__type") == "GeoPoint":
        lat, lng = value.get("latitude"), value.get("longitude")
        if lat.__class__ in (int, float) and lng.__class__ in (int, float):
            return (float(lat), float(lng))
    return None


class Index:
    """One index of a class: its registry row."""

    __slots__ = ("id", "cls", "field", "kind", "table", "current", "arrays")

    def __init__(self, id: int, cls: str, field: str, kind: str, keyed: Optional[str]):
        self.id = id
        self.cls = cls
        self.field = field
        self.kind = kind
        self.table = f"{'ix' if kind == KEY else 'geo'}_{id}"
        self.current = kind != KEY or keyed == fingerprint()
        # does the field hold arrays: None until asked; set by this connection's
        # writes; a write elsewhere reloads the registry (new Index objects)
        self.arrays: Optional[bool] = None

    @property
    def note(self) -> str:
        return f"{self.field} ({self.kind})"


class _IndexTable:
    """One index's table, queried inside the caller's transaction."""

    def __init__(self, db: sqlite3.Connection, index: Index):
        self.db = db
        self.index = index
        self.table = index.table
        self.field = index.field

    def size(self) -> int:
        return self.db.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]


class KeyIndex(_IndexTable):
    """Queries on one ``ix_`` table (inside the caller's transaction)."""

    def has_arrays(self) -> bool:
        index = self.index
        if index.arrays is None:
            index.arrays = self.db.execute(f"SELECT 1 FROM {self.table} WHERE key = ? LIMIT 1",
                                           (ARRAY_MARK,)).fetchone() is not None
        return index.arrays

    def ids(self, key: bytes) -> List[str]:
        """Ids whose value equals or contains the key's value, in objectId order."""
        return [r[0] for r in self.db.execute(f"SELECT id FROM {self.table} WHERE key = ?", (key,))]

    def count_key(self, key: bytes, cap: int) -> int:
        """Entries of one key, counting at most ``cap``."""
        return self.db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.table} WHERE key = ? LIMIT ?)",
                               (key, cap)).fetchone()[0]

    @staticmethod
    def range_sql(lo: Optional[bytes], lo_incl: bool, hi: Optional[bytes], hi_incl: bool) -> Tuple[str, list]:
        terms = ["key > ?"]
        params: List[Any] = [ARRAY_MARK]  # never the array marks
        if lo is not None:
            terms = ["key >= ?" if lo_incl else "key > ?"]
            params = [lo]
        if hi is not None:
            terms.append("key <= ?" if hi_incl else "key < ?")
            params.append(hi)
        return " AND ".join(terms), params

    def count_range(self, lo: Optional[bytes], lo_incl: bool, hi: Optional[bytes], hi_incl: bool,
                    cap: Optional[int] = None, distinct: bool = False) -> int:
        cond, params = self.range_sql(lo, lo_incl, hi, hi_incl)
        if distinct:
            sql = f"SELECT count(DISTINCT id) FROM {self.table} WHERE {cond}"
        elif cap is not None:
            sql = f"SELECT count(*) FROM (SELECT 1 FROM {self.table} WHERE {cond} LIMIT {int(cap)})"
        else:
            sql = f"SELECT count(*) FROM {self.table} WHERE {cond}"
        return self.db.execute(sql, params).fetchone()[0]

    def count_keys(self, keys: Sequence[bytes], distinct: bool) -> int:
        marks = ",".join("?" * len(keys))
        what = "count(DISTINCT id)" if distinct else "count(*)"
        return self.db.execute(f"SELECT {what} FROM {self.table} WHERE key IN ({marks})",
                               list(keys)).fetchone()[0]

    def range(self, lo: Optional[bytes], lo_incl: bool, hi: Optional[bytes], hi_incl: bool,
              reverse: bool = False) -> Iterator[Tuple[bytes, str]]:
        """(key, id) entries between two keys, in (key, id) order (or reversed), streamed."""
        cond, params = self.range_sql(lo, lo_incl, hi, hi_incl)
        order = "DESC" if reverse else "ASC"
        return self.db.execute(f"SELECT key, id FROM {self.table} WHERE {cond} ORDER BY key {order}, id {order}",
                               params)


class GeoIndex(_IndexTable):
    """Queries on one ``geo_`` table."""

    def usable(self) -> bool:
        return self.db.execute(f"SELECT 1 FROM {self.table} WHERE lat = ? LIMIT 1",
                               (ARRAY_LAT,)).fetchone() is None

    def band(self, lo: float, lo_incl: bool, hi: float, hi_incl: bool) -> Iterator[Tuple[float, str]]:
        """(lat, id) of the points in a latitude band (bounds as given), streamed."""
        a = ">=" if lo_incl else ">"
        b = "<=" if hi_incl else "<"
        return self.db.execute(f"SELECT lat, id FROM {self.table} WHERE lat {a} ? AND lat {b} ?", (lo, hi))

    def count_band(self, lo: float, hi: float, cap: int) -> int:
        return self.db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.table} "
                               f"WHERE lat >= ? AND lat <= ? LIMIT ?)", (lo, hi, cap)).fetchone()[0]


class IndexSet:
    """The registry of a database's indexes, as of the last read."""

    def __init__(self) -> None:
        self.by_class: Dict[str, Dict[Tuple[str, str], Index]] = {}

    def load(self, db: sqlite3.Connection) -> None:
        by_class: Dict[str, Dict[Tuple[str, str], Index]] = {}
        for id_, cls, field, kind, keyed in db.execute("SELECT id, class, field, kind, keys FROM indexes"):
            by_class.setdefault(cls, {})[(field, kind)] = Index(id_, cls, field, kind, keyed)
        self.by_class = by_class

    def get(self, cls: str, field: str, kind: str) -> Optional[Index]:
        idx = self.by_class.get(cls, {}).get((field, kind))
        return idx if idx is not None and idx.current else None

    def known(self, cls: str, field: str, kind: str) -> Optional[Index]:
        """The registered index, current or not."""
        return self.by_class.get(cls, {}).get((field, kind))

    def of_class(self, cls: str) -> List[Index]:
        return list(self.by_class.get(cls, {}).values())

    def all(self) -> List[Index]:
        return [i for d in self.by_class.values() for i in d.values()]

    # -- building and dropping (inside a write transaction) -------------------------
    def create(self, db: sqlite3.Connection, cls: str, field: str, kind: str) -> Index:
        """Register and build an index (an index keyed the old way is rebuilt)."""
        old = self.known(cls, field, kind)
        if old is not None:
            if old.current:
                return old
            self.drop(db, cls, field, kind)
        cur = db.execute("INSERT INTO indexes (class, field, kind, keys) VALUES (?, ?, ?, ?)",
                         (cls, field, kind, fingerprint() if kind == KEY else None))
        idx = Index(cur.lastrowid, cls, field, kind, fingerprint())
        if kind == KEY:
            db.execute(f"CREATE TABLE {idx.table} (key BLOB NOT NULL, id TEXT NOT NULL, "
                       "PRIMARY KEY (key, id)) WITHOUT ROWID")
            entries: List[Tuple[bytes, str]] = []
            for oid, value in _field_values(db, cls, field):
                for k in keys_of(value, value is not MISSING):
                    entries.append((k, oid))
            entries.sort()
            db.executemany(f"INSERT INTO {idx.table} (key, id) VALUES (?, ?)", entries)
        else:
            db.execute(f"CREATE TABLE {idx.table} (lat REAL NOT NULL, id TEXT NOT NULL, lng REAL NOT NULL, "
                       "PRIMARY KEY (lat, id)) WITHOUT ROWID")
            points = []
            for oid, value in _field_values(db, cls, field):
                entry = geo_entry({field: value}, field) if value is not MISSING else None
                if entry is not None:
                    points.append((entry[0], oid, entry[1]))
            points.sort()
            db.executemany(f"INSERT INTO {idx.table} (lat, id, lng) VALUES (?, ?, ?)", points)
        self.by_class.setdefault(cls, {})[(field, kind)] = idx
        return idx

    def drop(self, db: sqlite3.Connection, cls: str, field: str, kind: str) -> bool:
        idx = self.known(cls, field, kind)
        if idx is None:
            return False
        db.execute(f"DROP TABLE IF EXISTS {idx.table}")
        db.execute("DELETE FROM indexes WHERE id = ?", (idx.id,))
        del self.by_class[cls][(field, kind)]
        return True

    # -- upkeep -------------------------------------------------------------------
    def maintain(self, db: sqlite3.Connection, cls: str,
                 changes: List[Tuple[str, Optional[dict], Optional[dict]]]) -> None:
        """Index a statement's changes of one class: (id, old or None, new or None)."""
        indexes = self.by_class.get(cls)
        if not indexes:
            return
        for idx in list(indexes.values()):
            if not idx.current:
                self.drop(db, cls, idx.field, idx.kind)  # rebuilt on its next use
                continue
            if idx.kind == KEY:
                _maintain_keys(db, idx, changes)
            else:
                _maintain_geo(db, idx, changes)


def _maintain_keys(db: sqlite3.Connection, idx: Index,
                   changes: List[Tuple[str, Optional[dict], Optional[dict]]]) -> None:
    field = idx.field
    removed: List[Tuple[bytes, str]] = []
    added: List[Tuple[bytes, str]] = []
    append = added.append
    plain = field not in DATE_FIELDS
    arrays_added = False
    for oid, old, new in changes:
        if old is None and new is not None and plain:  # a new object (a bulk insert): inlined
            v = new.get(field, MISSING)
            c = v.__class__
            if c is str or c is int:
                append((value_bytes(v), oid))
            else:
                arrays_added = arrays_added or c is list
                added.extend([(k, oid) for k in keys_of(v, v is not MISSING)])
        elif old is not None and new is not None:
            a, b = old.get(field, _NOTHING), new.get(field, _NOTHING)
            if a is b:
                continue  # ops copy only what they change: the same value keeps its entries
            ko, kn = set(value_keys(old, field)), set(value_keys(new, field))
            if ko == kn:
                continue
            removed.extend((k, oid) for k in ko - kn)
            added.extend((k, oid) for k in kn - ko)
            arrays_added = arrays_added or ARRAY_MARK in kn
        elif new is not None:
            kn = set(value_keys(new, field))
            added.extend((k, oid) for k in kn)
            arrays_added = arrays_added or ARRAY_MARK in kn
        elif old is not None:
            removed.extend((k, oid) for k in value_keys(old, field))
    if removed:
        db.executemany(f"DELETE FROM {idx.table} WHERE key = ? AND id = ?", removed)
        if idx.arrays and any(k == ARRAY_MARK for k, _oid in removed):
            idx.arrays = None  # maybe the last one: ask again
    if added:
        if len(added) >= _BULK:
            added.sort()
        db.executemany(f"INSERT INTO {idx.table} (key, id) VALUES (?, ?)", added)
        if arrays_added:
            idx.arrays = True


def _maintain_geo(db: sqlite3.Connection, idx: Index,
                  changes: List[Tuple[str, Optional[dict], Optional[dict]]]) -> None:
    field = idx.field
    removed: List[Tuple[float, str]] = []
    added: List[Tuple[float, str, float]] = []
    for oid, old, new in changes:
        if old is not None and new is not None and old.get(field, _NOTHING) is new.get(field, _NOTHING):
            continue
        eo, en = geo_entry(old, field), geo_entry(new, field)
        if eo == en:
            continue
        if eo is not None:
            removed.append((eo[0], oid))
        if en is not None:
            added.append((en[0], oid, en[1]))
    if removed:
        db.executemany(f"DELETE FROM {idx.table} WHERE lat = ? AND id = ?", removed)
    if added:
        if len(added) >= _BULK:
            added.sort()
        db.executemany(f"INSERT INTO {idx.table} (lat, id, lng) VALUES (?, ?, ?)", added)


def _field_values(db: sqlite3.Connection, cls: str, field: str) -> Iterator[Tuple[str, Any]]:
    """(id, value) of one field of every object of a class (MISSING when absent),
    read in SQL without decoding whole objects (project.py)."""
    proj = Projection.of([field])
    dates = field in DATE_FIELDS
    if proj is None:
        for oid, text in db.execute("SELECT id, json FROM objects WHERE class = ?", (cls,)):
            yield oid, field_value(loads(text), field)
        return
    for oid, text in db.execute(f"SELECT id, {proj.columns('json')} FROM objects WHERE class = ?", (cls,)):
        value = value_of(text)
        if dates and value.__class__ is str:
            value = {"__type": "Date", "iso": value}
        yield oid, value

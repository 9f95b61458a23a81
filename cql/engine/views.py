"""Read-only mappings over the stored objects (``Store.classes``): for looking
at a database from Python (tests, debugging), not for queries, which go
through query.py. Every access reads the file."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Iterator

from .fileformat import loads

if TYPE_CHECKING:
    from .store import Store


class ClassesView(Mapping):
    """class name -> ObjectsView (see ``Store.classes``)."""

    def __init__(self, store: "Store"):
        self.store = store

    def __getitem__(self, cls: str) -> "ObjectsView":
        with self.store.reading():
            if cls not in self.store.versions:
                raise KeyError(cls)
        return ObjectsView(self.store, cls)

    def __iter__(self) -> Iterator[str]:
        with self.store.reading():
            return iter(list(self.store.versions))

    def __len__(self) -> int:
        with self.store.reading():
            return len(self.store.versions)


class ObjectsView(Mapping):
    """objectId -> object of one class, decoded from the file on each access."""

    def __init__(self, store: "Store", cls: str):
        self.store = store
        self.cls = cls

    def __getitem__(self, oid: str) -> dict:
        with self.store.reading():
            row = self.store.db.execute("SELECT json FROM objects WHERE class = ? AND id = ?",
                                        (self.cls, oid)).fetchone()
        if row is None:
            raise KeyError(oid)
        return loads(row[0])

    def __iter__(self) -> Iterator[str]:
        with self.store.reading():
            ids = [r[0] for r in self.store.db.execute(
                "SELECT id FROM objects WHERE class = ? ORDER BY id", (self.cls,))]
        return iter(ids)

    def __len__(self) -> int:
        with self.store.reading():
            return self.store.count(self.cls)

    def values(self):  # type: ignore[override]
        with self.store.reading():
            rows = self.store.db.execute("SELECT json FROM objects WHERE class = ? ORDER BY id",
                                         (self.cls,)).fetchall()
        return [loads(r[0]) for r in rows]

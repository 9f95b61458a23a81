"""Cheap checks of a database file at open, and its identity.

SQLite opens a file cut short by less than a page (a copy that stopped early)
and writes to it, and it replays a ``-wal`` file lying beside the database even
when that WAL was restored from another database. What can be checked without
reading the whole file is checked here:

- the size the header records (as of the last checkpoint) against the file's
  size, when no WAL is waiting to be replayed: shorter is damage;
- a random database id, kept in the header's ``user_version`` of every new
  file (written before WAL mode, so the main file holds it at once): when a
  waiting WAL holds a page 1 with another id, it came from another database.
  Both are read from the files directly, before SQLite opens them: SQLite
  would replay the WAL, and checkpoint it into the file when closing.

What cannot (a foreign WAL that never touched page 1) is said next to backups
in the README: copy the -wal with its database, or neither.
``integrity_check`` is the full check (``.check`` in the shell).
"""
from __future__ import annotations

import os
import random
import sqlite3
import struct
from typing import Optional

from ..errors import StorageError

__all__ = ["check_file", "new_database_id", "integrity_problems"]

_MAGIC = b"SQLite format 3\x00"


def check_file(path: str) -> None:
    """Check an existing database file before SQLite touches it: its size
    against its header, and the id in a waiting WAL's page 1 against its own."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            header = f.read(100)
    except OSError:
        return
    if size == 0 or len(header) < 100 or not header.startswith(_MAGIC):
        return  # new, or not SQLite: SQLite says so when it opens it
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages, changes, valid_for = (struct.unpack(">I", header[i:i + 4])[0] for i in (28, 24, 92))
    try:
        wal = os.path.getsize(path + "-wal")
    except OSError:
        wal = 0
    if pages and changes == valid_for and wal == 0 and size < pages * page_size:
        raise StorageError(
            f"{path!r} is damaged: it is {size:,} bytes long but holds {pages:,} pages of {page_size:,} bytes "
            f"({pages * page_size:,} bytes): it was cut short (a copy that stopped early?). Restore it from a "
            "backup (sqlite3 FILE .recover may save the rest); nothing was written to it")
    database_id = struct.unpack(">i", header[60:64])[0]
    if wal and database_id:
        in_wal = _wal_database_id(path + "-wal")
        if in_wal is not None and in_wal != database_id:
            raise StorageError(
                f"{path!r}: its -wal file belongs to another database (restored or copied from elsewhere?): "
                f"the database's id is {database_id}, the WAL's {in_wal}. Nothing was changed. Move "
                f"{os.path.basename(path)}-wal (and -shm) away to open the database as of its last "
                "checkpoint, or put back the -wal that belongs to it")


def _wal_database_id(wal_path: str) -> Optional[int]:
    """The database id (user_version) in the newest valid copy of page 1 in a
    WAL file, None when the WAL holds no page 1 (or is not a WAL)."""
    try:
        with open(wal_path, "rb") as f:
            head = f.read(32)
            if len(head) < 32 or struct.unpack(">I", head[:4])[0] not in (0x377F0682, 0x377F0683):
                return None
            page_size = struct.unpack(">I", head[8:12])[0]
            salts = head[16:24]
            found = None
            offset = 32
            while True:
                f.seek(offset)
                frame = f.read(24)
                if len(frame) < 24 or frame[8:16] != salts:
                    return found  # the end, or frames of an older generation
                if struct.unpack(">I", frame[:4])[0] == 1:
                    page = f.read(100)
                    if len(page) == 100 and page.startswith(_MAGIC):
                        found = struct.unpack(">i", page[60:64])[0]
                offset += 24 + page_size
    except OSError:
        return None


def new_database_id(db: sqlite3.Connection) -> None:
    """Give a new, empty database its id, before WAL mode (so the main file's
    header holds it, not only the WAL)."""
    db.execute(f"PRAGMA user_version = {random.SystemRandom().randrange(1, 2 ** 31)}")


def integrity_problems(db: sqlite3.Connection, limit: int = 100) -> list:
    """What SQLite's integrity_check finds ([] when the file is sound)."""
    rows = [r[0] for r in db.execute(f"PRAGMA integrity_check({int(limit)})")]
    return [] if rows == ["ok"] else rows

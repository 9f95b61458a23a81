"""Opening a file of an earlier format: ``cql-embedded-1`` (the whole database
read into memory on open; a change log for other processes) becomes
``cql-embedded-2`` in place, once, inside the opening transaction.

Read as is, not copied: the old ``objects`` table (a rowid table with the same
columns and primary key) answers every query of the new store unchanged, so
the upgrade only adds what is new (class counts and versions, the index
registry) and drops the change log. Dropping it also makes a process of the
old version that still has the file open fail on its next statement with an
error, instead of writing around the new indexes. Nothing stored is touched.
"""
from __future__ import annotations

import sqlite3
from typing import Optional

FROM = "cql-embedded-1"
TO = "cql-embedded-2"


def upgrade_format_1(db: sqlite3.Connection, path: Optional[str]) -> None:
    """Inside the caller's write transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS classes (name TEXT PRIMARY KEY, count INTEGER NOT NULL, "
               "version INTEGER NOT NULL)")
    db.execute("INSERT OR IGNORE INTO classes (name, count, version) "
               "SELECT class, count(*), 1 FROM objects GROUP BY class")
    db.execute("INSERT OR IGNORE INTO classes (name, count, version) SELECT DISTINCT class, 0, 1 FROM schema")
    db.execute("DROP TABLE IF EXISTS log")
    db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (TO,))

"""What an SQLite failure on the database file means to the person using it.

SQLite says "database or disk is full", "disk I/O error", "database is
locked"; the store raises a StorageError that names the file, says what
happened in words (the disk is full; another process holds the lock, and
which), what was kept (nothing of the failed statement), and what to do.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from typing import List, Optional, Tuple

from ..errors import StorageError

__all__ = ["storage_error", "is_disk_full", "is_busy", "lock_holders"]


def _name(exc: BaseException) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def is_disk_full(exc: BaseException) -> bool:
    """SQLITE_FULL, or a write/truncate that failed as the file could not grow
    (EFBIG under a file size limit surfaces as SQLITE_IOERR_WRITE)."""
    name = _name(exc)
    text = str(exc).lower()
    return (name.startswith("SQLITE_FULL") or name in ("SQLITE_IOERR_WRITE", "SQLITE_IOERR_TRUNCATE",
                                                       "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_FSYNC")
            or "disk is full" in text or (not name and text == "disk i/o error"))


def is_busy(exc: BaseException) -> bool:
    name = _name(exc)
    text = str(exc).lower()
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text \
        or "database is busy" in text


def _free_bytes(path: str) -> Optional[int]:
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path)) or ".").free
    except OSError:
        return None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def lock_holders(path: str) -> List[Tuple[int, str]]:
    """(pid, command line) of the other processes that have the database file
    (or its -wal/-shm) open, as far as /proc shows them (Linux; else [])."""
    wanted = set()
    for suffix in ("", "-wal", "-shm"):
        try:
            st = os.stat(path + suffix)
            wanted.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    found: List[Tuple[int, str]] = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    me = os.getpid()
    for pid in pids:
        if pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
                except OSError:
                    cmd = "?"
                found.append((pid, cmd[:80] or "?"))
                break
    return found


def storage_error(path: Optional[str], doing: str, exc: BaseException,
                  busy_timeout: Optional[float] = None) -> StorageError:
    """The StorageError for an SQLite failure while ``doing`` ("write to",
    "commit to", "open", ...) the database file ``path``."""
    shown = repr(path)
    if is_disk_full(exc):
        free = _free_bytes(path or ".")
        room = f" ({_size(free)} free on its disk)" if free is not None else ""
        return StorageError(
            f"cannot {doing} {shown}: the disk is full, or the file may not grow larger{room} "
            f"[{exc}]. Nothing of this statement was saved, and what this connection shows is what the file "
            "holds; free some space (or raise the file size limit) and go on: the connection works again")
    if is_busy(exc):
        holders = lock_holders(path) if path else []
        who = ("; it is open in " + ", ".join(f"process {pid} ({cmd})" for pid, cmd in holders[:3])
               if holders else "")
        waited = f" for longer than busy_timeout ({busy_timeout:g} s)" if busy_timeout is not None else ""
        return StorageError(
            f"cannot {doing} {shown}: the database is busy: another connection (another cql process, or "
            f"a program using this file) has held its write lock{waited}{who}. Nothing was changed; try "
            "again when it is done, or give a longer busy_timeout")
    return StorageError(f"cannot {doing} {shown}: {exc}")


def sqlite_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite (or the store, for SQLite) saying an operation failed."""
    return isinstance(exc, (sqlite3.Error, StorageError))

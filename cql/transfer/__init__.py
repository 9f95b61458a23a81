"""Moving data: ``cql copy`` and ``cql verify`` between LeanCloud exports,
embedded database files, Parse Servers and LeanCloud apps, and the data file
formats the shell's ``.import``/``.export`` share (cql.transfer.formats).

    cql.copy("export.tar.gz", "app.db")                      # -> CopyReport
    cql.verify("app.db", "http://127.0.0.1:1337/parse",
               target_options={"app_id": ..., "master_key": ...})

Nothing here is imported by ``import cql`` until it is used.
"""
from __future__ import annotations

from .canonical import LOSSES
from .copier import ClassCopy, CopyRefused, CopyReport, copy, verify
from .verify import ClassCheck, VerifyReport

__all__ = ["copy", "verify", "CopyReport", "ClassCopy", "CopyRefused", "VerifyReport", "ClassCheck", "LOSSES"]

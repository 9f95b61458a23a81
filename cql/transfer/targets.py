"""Which endpoint a copy's SOURCE or TARGET is: a server URL (flavor guessed
from LeanCloud's API domains), a LeanCloud export (archive, folder or data
file), an embedded database file, or an open ``cql.Connection``; and the
credentials of each side (given, else CQL_SOURCE_*/CQL_TARGET_*, else CQL_*).
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, Optional

from .. import errors
from .endpoints import EngineEndpoint, Endpoint
from .exports import ExportEndpoint, is_export_path
from .server import RestEndpoint

# LeanCloud's API domains (a custom API domain needs --source-flavor leancloud)
LEANCLOUD_HOST = re.compile(r"(\.lncld\.net|\.lncldapi\.com|\.lncldglobal\.com|\.leancloud\.cn|"
                            r"\.lc-cn-[a-z0-9]+-shared\.com)$")


def guess_flavor(url: str) -> str:
    """"leancloud" for a LeanCloud API host (or a URL ending in /1.1), else "parse"."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return "leancloud" if LEANCLOUD_HOST.search(host) or parts.path.rstrip("/").endswith("/1.1") else "parse"


def side_options(side: str, given: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Credentials for one side of a copy: those given, else the environment
    (CQL_SOURCE_* / CQL_TARGET_*, then the plain CQL_* ones)."""
    opts = {k: v for k, v in (given or {}).items() if v is not None}
    prefix = f"CQL_{side.upper()}_"
    for key, env in (("app_id", "APP_ID"), ("master_key", "MASTER_KEY"), ("rest_key", "REST_KEY"),
                     ("maintenance_key", "MAINTENANCE_KEY"), ("flavor", "FLAVOR")):
        if key not in opts:
            value = os.environ.get(prefix + env) or os.environ.get("CQL_" + env)
            if value:
                opts[key] = value
    if "rest_key" in opts and "master_key" in opts:
        del opts["rest_key"]
    return opts


def open_endpoint(spec: Any, options: Optional[Dict[str, Any]] = None, *, role: str = "source",
                  workers: int = 4) -> Endpoint:
    """The endpoint for a target string (URL, export archive/folder/file,
    embedded database file) or an open ``cql.Connection``."""
    from ..connection import Connection
    if isinstance(spec, Endpoint):
        return spec
    if isinstance(spec, Connection):
        if hasattr(spec.backend, "write_objects"):
            return EngineEndpoint(spec)
        key = (options or {}).get("maintenance_key") or side_options(role).get("maintenance_key")
        return RestEndpoint(spec.backend, key, workers, owned=False)
    if spec is None:
        raise errors.InterfaceError(f"no {role} given")
    text = os.fspath(spec)
    if text.startswith(("http://", "https://")):
        opts = dict(options or {})
        opts.setdefault("flavor", guess_flavor(text))
        return RestEndpoint.connect(text, opts, workers)
    if options:
        raise errors.InterfaceError(f"credentials only apply to a server; {text} is a file")
    if role == "target" and (text.endswith(("/", os.sep)) or is_export_path(text)):
        return ExportEndpoint(text.rstrip("/" + os.sep) or text, for_writing=True)
    if is_export_path(text):
        return ExportEndpoint(text)
    if role == "source" and not os.path.exists(text):
        raise errors.StorageError(f"{text}: no such file (a source is an export archive, folder or "
                                  ".jsonl/.json/.csv file, a database file, or an http(s):// URL)")
    return EngineEndpoint(text)

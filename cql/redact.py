"""What messages, reprs and banners may show of a target: never a password."""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit, urlunsplit


def redact_url(target: Optional[str]) -> Optional[str]:
    """The target with a password in an http(s) URL replaced by ``***``."""
    if not target or "@" not in target or not target.startswith(("http://", "https://")):
        return target
    try:
        parts = urlsplit(target)
        if parts.password is None:
            return target
    except ValueError:
        return target
    netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

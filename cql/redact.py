"""What messages, reprs and banners may show of a target: never a password."""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

# user:password@ in an http(s) URL anywhere in a text
_URL_PASSWORD = re.compile(r"(?i)\b(https?://[^\s/@:]*):[^\s/]*@")


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


def redact_text(text: str) -> str:
    """``text`` with the password of every http(s) URL in it replaced by ``***``
    (for what is kept on disk, such as the shell's history)."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(r"\1:***@", text)

"""What "the same object" means when copying and verifying, and what each
kind of target cannot keep.

``canonical(obj, class_name, rules)`` is the form two sides are compared in:
representation differences that mean nothing are removed (a Date's ISO text
to milliseconds, 1.0 and 1, an ACL entry ``"write": false``, Relation field
markers, which are compared as relation rows instead); differences a target
imposes are removed only when the user accepted that loss (``--accept``).
Everything else must be equal, byte for byte, after ``json.dumps(sort_keys)``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional

from ..names import DATE_FIELDS

# On each object a copy creates with a new objectId (``--accept new-ids``):
# the object's objectId in the source (newids.py)
MARKER = "cqlSourceId"

# The losses a user can accept (``--accept NAME``), and what each one means.
LOSSES: Dict[str, str] = {
    "timestamps": "createdAt/updatedAt are set by the target at copy time (Parse Server keeps them only "
                  "with its maintenance key; LeanCloud never)",
    "passwords": "_User password hashes, salts and LeanCloud session tokens are not copied to a server "
                 "(Parse Server stores bcrypt and accepts no hash over REST): each user is created with a "
                 "random password and must reset it",
    "auth-data": "_User authData (third-party logins) is left out: Parse Server re-validates authData with "
                 "each provider's adapter when a user is created",
    "user-acl": "Parse Server adds read/write for each user on their own _User ACL",
    "files": "a File value keeps only its name on Parse Server (its url becomes the target's files URL); "
             "file contents are never copied",
    "nulls": "fields holding null are left out (Parse Server on PostgreSQL does not keep them)",
    "new-ids": "the target assigns new objectIds (Parse Server without allowCustomObjectId): every Pointer, "
               "relation row and ACL user entry is rewritten to the new ids, each object keeps its source "
               f"objectId in the field {MARKER} (re-runs and verify pair objects by it), and ids your code "
               "stored elsewhere (in strings, in other systems) must be mapped through it",
}

# LeanCloud's _User password hash, its salt and the user's LeanCloud session
# token: never copied to a server (they would become fields clients can read)
USER_SECRETS = ("password", "salt", "sessionToken")
SAFE_INT = 2 ** 53


@dataclass(frozen=True)
class Rules:
    """How two sides are compared: the losses accepted, and what the target
    is known to change."""
    accepted: FrozenSet[str] = frozenset()
    #: servers never receive _User password/salt (copy drops them; compare without them)
    drop_user_secrets: bool = False
    #: class renames of the copy (source name -> target name), applied to the source side
    rename: Mapping[str, str] = field(default_factory=dict)

    def has(self, loss: str) -> bool:
        return loss in self.accepted


def map_references(value: Any, change: Callable[[dict], Any]) -> Any:
    """``value`` with each Pointer, Relation or included Object (inside arrays
    and plain objects too) replaced by ``change(it)``; other values as they are."""
    c = value.__class__
    if c is list:
        return [map_references(v, change) for v in value]
    if c is not dict:
        return value
    kind = value.get("__type")
    if kind in ("Pointer", "Relation", "Object"):
        return change(value)
    if kind is not None:
        return value
    return {k: map_references(v, change) for k, v in value.items()}


def rename_value(value: Any, rename: Mapping[str, str]) -> Any:
    """Pointer/Relation class names renamed, inside arrays and objects too."""
    if not rename:
        return value

    def renamed(ref: dict) -> dict:
        if ref.get("className") not in rename:
            return ref
        out = dict(ref)
        out["className"] = rename[ref["className"]]
        return out
    return map_references(value, renamed)


def _value(value: Any, files_by_name: bool) -> Any:
    c = value.__class__
    if c is float:
        if value.is_integer() and abs(value) < SAFE_INT:
            return int(value)
        return value
    if c is list:
        return [_value(v, files_by_name) for v in value]
    if c is not dict:
        return value
    kind = value.get("__type")
    if kind == "Date":
        return {"__type": "Date", "iso": _iso(value.get("iso"))}
    if kind == "File":
        if files_by_name:
            return {"__type": "File", "name": value.get("name")}
        return {k: v for k, v in value.items()}
    if kind == "GeoPoint":
        return {"__type": "GeoPoint", "latitude": _value(value.get("latitude"), False),
                "longitude": _value(value.get("longitude"), False)}
    if kind == "Object":  # an included object compares as its pointer
        return {"__type": "Pointer", "className": value.get("className"), "objectId": value.get("objectId")}
    return {k: _value(v, files_by_name) for k, v in value.items()}


def _iso(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if len(text) == 24 and text[10] == "T" and text.endswith("Z"):
        return text
    from ..errors import CQLError
    from ..types import format_date, parse_date
    try:
        return format_date(parse_date(text))
    except CQLError:
        return text


def canonical_acl(acl: Any, own_id: Optional[str] = None) -> Any:
    """Only granted permissions; entries granting nothing left out; ``own_id``'s entry left out."""
    if not isinstance(acl, dict):
        return acl
    out = {}
    for who, perms in acl.items():
        if who == own_id:
            continue
        if isinstance(perms, dict):
            granted = {p: True for p in ("read", "write") if perms.get(p) is True}
            if granted:
                out[who] = granted
        else:
            out[who] = perms
    return out


def untimed(obj: dict) -> FrozenSet[str]:
    """The time fields a (source) object does not have: whatever a target set
    there is not a difference."""
    return frozenset(k for k in DATE_FIELDS if k not in obj)


def canonical(obj: dict, class_name: str, rules: Rules, source: bool = False,
              without: FrozenSet[str] = frozenset()) -> dict:
    """The comparable form of ``obj`` (an object of ``class_name``). ``source``:
    the object is on the source side (class renames apply to it); ``without``:
    fields left out (see ``untimed``)."""
    if source and rules.rename:
        obj = {k: rename_value(v, rules.rename) for k, v in obj.items()}
    files_by_name = rules.has("files")
    out: Dict[str, Any] = {}
    user = class_name == "_User"
    for key, value in obj.items():
        if value.__class__ is dict and value.get("__type") == "Relation":
            continue  # compared as relation rows
        if key in without:
            continue
        if key in DATE_FIELDS:
            if rules.has("timestamps"):
                continue
            out[key] = _iso(value.get("iso") if isinstance(value, dict) else value)
            continue
        if value is None and rules.has("nulls"):
            continue
        if user and ((rules.drop_user_secrets and key in USER_SECRETS)
                     or (key == "authData" and rules.has("auth-data"))):
            continue
        if key == "ACL":
            own = obj.get("objectId") if user and rules.has("user-acl") else None
            out[key] = canonical_acl(value, own)
            continue
        out[key] = _value(value, files_by_name)
    return out


def same(target_obj: dict, source_obj: dict, class_name: str, rules: Rules) -> bool:
    """Whether the target holds the source object (as ``rules`` compare)."""
    without = untimed(source_obj)
    return dumps(canonical(target_obj, class_name, rules, without=without)) == \
        dumps(canonical(source_obj, class_name, rules, source=True))


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(obj: dict) -> bytes:
    """A 16-byte fingerprint of a canonical object."""
    return hashlib.blake2b(dumps(obj).encode(), digest_size=16).digest()


def differences(a: dict, b: dict) -> Dict[str, tuple]:
    """{field: (value in a, value in b)} of the fields that differ (missing: None... marked '<missing>')."""
    out = {}
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, MISSING_TEXT), b.get(key, MISSING_TEXT)
        if dumps(va) != dumps(vb):
            out[key] = (va, vb)
    return out


MISSING_TEXT = "<missing>"

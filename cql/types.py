"""CQL's value types and their REST JSON encoding, both directions.

``encode`` turns a Python value (or a REST JSON dict, passed through) into the
JSON the REST API speaks; ``decode`` turns REST JSON back into Python values.
"""
from __future__ import annotations

import base64
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, timedelta
from typing import Any, Optional

from .errors import CQLError, InvalidGeoPoint, InvalidJSON, InvalidKey, describe

__all__ = ["Pointer", "GeoPoint", "File", "Relation", "encode", "bind", "decode", "check_value",
           "format_date", "parse_date", "is_typed", "schema_type", "MAX_DEPTH", "surrogate_at"]

#: How deep arrays and objects may nest in a value (MongoDB's limit for a document).
MAX_DEPTH = 100
#: The largest magnitude a JSON number may have and still be a number everywhere
#: (a double: Parse Server and LeanCloud read every number as one).
MAX_NUMBER = int(sys.float_info.max)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Pointer:
    class_name: str
    object_id: str

    def to_json(self) -> dict:
        return {"__type": "Pointer", "className": self.class_name,
                "objectId": self.object_id}

    def __str__(self) -> str:
        return f"{self.class_name}:{self.object_id}"


@dataclass(frozen=True)
class GeoPoint:
    """A point on the sphere; construct with keywords (latitude=, longitude=)."""
    latitude: float
    longitude: float

    def __init__(self, *, latitude: float, longitude: float):
        try:
            lat, lng = float(latitude), float(longitude)
        except Exception:  # noqa: BLE001 - TypeError, ValueError, OverflowError, a hostile __float__
            raise InvalidGeoPoint(
                f"GeoPoint needs numbers, got latitude={describe(latitude)}, longitude={describe(longitude)}"
            ) from None
        if not -90.0 <= lat <= 90.0:
            raise InvalidGeoPoint(f"latitude {lat} is out of range: it must be between -90 and 90")
        if not -180.0 <= lng <= 180.0:
            raise InvalidGeoPoint(f"longitude {lng} is out of range: it must be between -180 and 180")
        object.__setattr__(self, "latitude", lat)
        object.__setattr__(self, "longitude", lng)

    def to_json(self) -> dict:
        return {"__type": "GeoPoint", "latitude": self.latitude,
                "longitude": self.longitude}

    def __str__(self) -> str:
        return f"({self.longitude}, {self.latitude})"


@dataclass(frozen=True)
class File:
    id: str
    name: Optional[str] = None
    url: Optional[str] = None

    def to_json(self) -> dict:
        out = {"__type": "File", "id": self.id}
        if self.name is not None:
            out["name"] = self.name
        if self.url is not None:
            out["url"] = self.url
        return out


@dataclass(frozen=True)
class Relation:
    class_name: str

    def to_json(self) -> dict:
        return {"__type": "Relation", "className": self.class_name}


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_date(text: str) -> datetime:
    """Parse an ISO-8601 time into an aware UTC datetime (no offset = UTC)."""
    if text.__class__ is str and len(text) == 24 and text[23] == "Z" and text[10] == "T" and text[19] == ".":
        try:  # the canonical form (2015-06-21T18:02:52.249Z, every export's): parsed in C
            return datetime.fromisoformat(text[:23] + "+00:00")
        except ValueError:
            pass  # the general path says what is wrong
    m = _ISO.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise InvalidJSON(f"not an ISO-8601 date: {describe(text)} (expected e.g. '2011-08-20T02:06:57.931Z')")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro)
    except ValueError as exc:
        raise InvalidJSON(f"not a valid date: {text!r} ({exc})") from None
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise InvalidJSON(f"not a valid date: {text!r} (the UTC offset {tz} is out of range)")
        try:
            dt = dt - sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise InvalidJSON(f"not a valid date: {text!r} (out of range once converted to UTC)") from None
    return dt.replace(tzinfo=timezone.utc)


def format_date(value: datetime) -> str:
    """UTC ISO time with milliseconds: 2015-06-21T18:02:52.249Z."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(timezone.utc)
        except OverflowError:
            raise InvalidJSON(f"the date {value.isoformat()} is out of range once converted to UTC") from None
    # by hand: strftime("%Y") does not pad years before 1000 ("1-01-01"), which
    # would be stored and then fail to parse on every read
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
            f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}Z")


def is_typed(value: Any, type_name: str) -> bool:
    return isinstance(value, dict) and value.get("__type") == type_name


def encode(value: Any) -> Any:
    """Python value → REST JSON. REST JSON dicts (``__type``/``__op``) pass through."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {"__type": "Date", "iso": format_date(value)}
    if isinstance(value, date):
        return {"__type": "Date", "iso": format_date(datetime(value.year, value.month, value.day))}
    if isinstance(value, (Pointer, GeoPoint, File, Relation)):
        return value.to_json()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__type": "Bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise InvalidJSON(f"cannot use a value of type {type(value).__name__} in CQL: {describe(value)}")


def surrogate_at(text: str) -> int:
    """The index of the first lone surrogate in ``text`` (-1: none). A lone
    surrogate ('\\ud800') is not a character: UTF-8 cannot encode it, so no
    file or server could hold it."""
    if text.isascii():
        return -1
    m = _SURROGATE.search(text)
    return -1 if m is None else m.start()


def bind(value: Any) -> Any:
    """A caller's value (a ``?`` parameter, a field of a cql.Object) as REST JSON
    that every backend can hold: ``encode`` (and a cql.Object or cql.Model as
    its pointer) plus one rule for all of them. Refused with code 107:
    NaN/Infinity, an int beyond a double's range, a lone surrogate in a string
    or key, nesting deeper than MAX_DEPTH (and so any cycle), a value of a type
    CQL does not know, and anything whose own methods raise."""
    try:
        return _bind(value, 0)
    except CQLError:
        raise
    except RecursionError:
        raise InvalidJSON(f"this value nests too deeply (at most {MAX_DEPTH} levels)") from None
    except Exception as exc:  # noqa: BLE001 - a hostile __str__, __iter__, items(), ...
        raise InvalidJSON(f"cannot use the value {describe(value)}: reading it raised "
                          f"{type(exc).__name__}") from None


def _bind(value: Any, depth: int) -> Any:
    t = type(value)  # not value.__class__, which an object may fake
    if t is str:
        if surrogate_at(value) < 0:
            return value
        raise InvalidJSON(f"the string {describe(value, 60)} holds a lone surrogate "
                          f"(U+{ord(value[surrogate_at(value)]):04X}), which is not a character: "
                          "no file or server can store it (decode text with errors='replace')")
    if t is int:
        if -MAX_NUMBER <= value <= MAX_NUMBER:
            return value
        raise InvalidJSON(f"{describe(value, 60)} is too large for a JSON number (at most about 1.8e308)")
    if t is float:
        if value - value == 0.0:
            return value
        raise InvalidJSON(f"{value} is not a number JSON can hold (NaN and Infinity are refused)")
    if value is None or t is bool:
        return value
    if depth >= MAX_DEPTH:
        raise InvalidJSON(f"this value nests arrays/objects more than {MAX_DEPTH} levels deep "
                          "(MongoDB's limit), or holds itself")
    if t is list or t is tuple:
        return [_bind(v, depth + 1) for v in value]
    if t is dict:
        return {_key(k): _bind(v, depth + 1) for k, v in value.items()}
    if issubclass(t, bool):
        return bool(value)
    if issubclass(t, str):
        return _bind(str.__str__(value), depth)
    if issubclass(t, int):
        return _bind(int.__int__(value), depth)
    if issubclass(t, float):
        return _bind(float.__float__(value), depth)
    if issubclass(t, (list, tuple)):
        return [_bind(v, depth + 1) for v in list.__iter__(value)] if issubclass(t, list) \
            else [_bind(v, depth + 1) for v in tuple.__iter__(value)]
    if issubclass(t, dict):
        return {_key(k): _bind(v, depth + 1) for k, v in dict.items(value)}
    if issubclass(t, _TYPED):
        return _bind(encode(value), depth)
    if getattr(t, "to_pointer", None) is not None and not isinstance(value, type):
        return _bind(value.to_pointer().to_json(), depth)  # a cql.Object or cql.Model: its pointer
    raise InvalidJSON(f"cannot use a value of type {t.__name__} in CQL: {describe(value)}")


# The Python types ``encode`` turns into typed REST JSON.
_TYPED = (datetime, date, Pointer, GeoPoint, File, Relation, bytes, bytearray, memoryview)


def _key(key: Any) -> str:
    if type(key) is str:
        text = key
    elif isinstance(key, (int, float, bool)) or key is None:
        text = str(key)
    else:
        raise InvalidJSON(f"an object key must be a string, got {describe(key, 60)}")
    if surrogate_at(text) >= 0:
        raise InvalidJSON(f"the key {describe(text, 60)} holds a lone surrogate, which is not a character")
    return text


_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WRITABLE_TYPES = ("Date", "Pointer", "GeoPoint", "File", "Bytes", "Relation", "Object", "Polygon")


def check_value(value: Any, where: str = "value", depth: int = 0) -> None:
    """Raise a CQLError when a value about to be written holds a typed REST JSON
    dict that is malformed (a Date that does not parse, a GeoPoint out of range,
    a Pointer without an objectId, bad base64, an unknown ``__type``) or an
    object key with '.' or a leading '$'. Why: such a value would be stored and
    then make every read of its class fail (or be unreachable by queries)."""
    c = value.__class__
    if c is not list and c is not dict:
        return
    if depth >= MAX_DEPTH:
        raise InvalidJSON(f"the value of {where} nests arrays/objects more than {MAX_DEPTH} levels deep "
                          "(MongoDB's limit)")
    if c is list:
        for item in value:
            if item.__class__ is dict or item.__class__ is list:  # (scalars need no call)
                check_value(item, where, depth + 1)
        return
    kind = value.get("__type")
    if kind is None:
        for key, item in value.items():
            if key == "__op":
                continue
            if key.__class__ is not str or "." in key or key[:1] == "$":
                raise InvalidKey(f"invalid key {describe(key, 60)} in the object of {where}: keys of nested "
                                 "objects must not contain '.' or start with '$'")
            if item.__class__ is dict or item.__class__ is list:
                check_value(item, where, depth + 1)
        return
    bad = f"invalid {kind} in {where}: {describe(value)}"
    if kind == "Date":
        iso = value.get("iso")
        if not isinstance(iso, str):
            raise InvalidJSON(f"{bad}: a Date needs an 'iso' string such as '2011-08-20T02:06:57.931Z'")
        try:
            parse_date(iso)
        except InvalidJSON as exc:
            raise InvalidJSON(f"invalid Date in {where}: {exc.message}") from None
    elif kind in ("Pointer", "Relation"):
        cls = value.get("className")
        if not isinstance(cls, str) or not _CLASS_NAME.match(cls):
            raise InvalidJSON(f"{bad}: className must be a class name")
        oid = value.get("objectId")
        if kind == "Pointer" and (not isinstance(oid, str) or not oid):
            raise InvalidJSON(f"{bad}: a Pointer needs a non-empty objectId string")
    elif kind == "GeoPoint":
        lat, lng = value.get("latitude"), value.get("longitude")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lng)):
            raise InvalidGeoPoint(f"{bad}: latitude and longitude must be numbers")
        GeoPoint(latitude=lat, longitude=lng)  # range check
    elif kind == "Bytes":
        try:
            base64.b64decode(value.get("base64"), validate=True)
        except (TypeError, ValueError):
            raise InvalidJSON(f"{bad}: 'base64' must be base64 text") from None
    elif kind == "File":
        if not any(isinstance(value.get(k), str) and value.get(k) for k in ("id", "objectId", "name", "url")):
            raise InvalidJSON(f"{bad}: a File needs an id (or name or url)")
    elif kind not in _WRITABLE_TYPES:
        raise InvalidJSON(f"unknown __type {describe(kind, 40)} in {where}: use one of {', '.join(_WRITABLE_TYPES[:6])}")


def decode(value: Any) -> Any:
    """REST JSON → Python value (dates, pointers, GeoPoints, files, bytes, relations)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__type")
    if kind == "Date" and "iso" in value:
        try:
            return parse_date(value["iso"])
        except InvalidJSON:  # stored by an older version or another client: show it as is
            return dict(value)
    if kind == "Pointer":
        return Pointer(value.get("className", ""), value.get("objectId", ""))
    if kind == "GeoPoint":
        try:
            return GeoPoint(latitude=value.get("latitude", 0), longitude=value.get("longitude", 0))
        except InvalidGeoPoint:  # out of range: show it as is rather than fail the read
            return dict(value)
    if kind == "File":
        return File(value.get("id") or value.get("objectId") or value.get("name", ""),
                    value.get("name"), value.get("url"))
    if kind == "Bytes":
        try:
            return base64.b64decode(value.get("base64", ""))
        except (TypeError, ValueError):  # not base64: show it as is rather than fail the read
            return dict(value)
    if kind == "Relation":
        return Relation(value.get("className", ""))
    # Included objects ("__type": "Object") and plain objects: decode the fields.
    return {k: decode(v) for k, v in value.items()}


def schema_type(value: Any) -> Optional[str]:
    """The schema type name of a REST JSON value (None for null): String, Number,
    Boolean, Array, Object, Date, Pointer<C>, Relation<C>, GeoPoint, File, Bytes."""
    c = value.__class__
    if value is None:
        return None
    if c is str:
        return "String"
    if c is bool:
        return "Boolean"
    if c is int or c is float:
        return "Number"
    if c is list:
        return "Array"
    if c is dict:
        t = value.get("__type")
        if t == "Pointer":
            return f"Pointer<{value.get('className')}>"
        if t == "Relation":
            return f"Relation<{value.get('className')}>"
        if t in ("Date", "GeoPoint", "File", "Bytes", "Polygon"):
            return t
        return "Object"
    return type(value).__name__

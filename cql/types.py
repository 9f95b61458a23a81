"""CQL's value types and their REST JSON encoding, both directions.

``encode`` turns a Python value (or a REST JSON dict, passed through) into the
JSON the REST API speaks; ``decode`` turns REST JSON back into Python values.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, timedelta
from typing import Any, Optional

from .errors import InvalidGeoPoint, InvalidJSON, InvalidKey

__all__ = ["Pointer", "GeoPoint", "File", "Relation", "encode", "decode", "check_value",
           "format_date", "parse_date", "is_typed", "schema_type"]


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
        except (TypeError, ValueError):
            raise InvalidGeoPoint(
                f"GeoPoint needs numbers, got latitude={latitude!r}, longitude={longitude!r}"
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
        raise InvalidJSON(f"not an ISO-8601 date: {text!r} (expected e.g. '2011-08-20T02:06:57.931Z')")
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
    raise InvalidJSON(f"cannot use a value of type {type(value).__name__} in CQL: {value!r}")


_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WRITABLE_TYPES = ("Date", "Pointer", "GeoPoint", "File", "Bytes", "Relation", "Object", "Polygon")


def check_value(value: Any, where: str = "value") -> None:
    """Raise a CQLError when a value about to be written holds a typed REST JSON
    dict that is malformed (a Date that does not parse, a GeoPoint out of range,
    a Pointer without an objectId, bad base64, an unknown ``__type``) or an
    object key with '.' or a leading '$'. Why: such a value would be stored and
    then make every read of its class fail (or be unreachable by queries)."""
    c = value.__class__
    if c is list:
        for item in value:
            if item.__class__ is dict or item.__class__ is list:  # (scalars need no call)
                check_value(item, where)
        return
    if c is not dict:
        return
    kind = value.get("__type")
    if kind is None:
        for key, item in value.items():
            if key == "__op":
                continue
            if key.__class__ is not str or "." in key or key[:1] == "$":
                raise InvalidKey(f"invalid key {key!r} in the object of {where}: keys of nested objects "
                                 "must not contain '.' or start with '$'")
            if item.__class__ is dict or item.__class__ is list:
                check_value(item, where)
        return
    bad = f"invalid {kind} in {where}: {value!r}"
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
        raise InvalidJSON(f"unknown __type {kind!r} in {where}: use one of {', '.join(_WRITABLE_TYPES[:6])}")


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

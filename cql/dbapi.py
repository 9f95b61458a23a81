"""PEP 249 type objects and constructors.

A cursor's ``description`` gives each column a type code: the schema type name
of the column's values ("String", "Number", "Boolean", "Date", "Bytes",
"Array", "Object", "Pointer<C>", "GeoPoint", "File", ...) and "ObjectId" for
objectId. The type objects below compare equal to the codes they cover, as
PEP 249 asks (``description[i][1] == cql.NUMBER``).

CQL has no time-of-day type: ``Time``/``TimeFromTicks`` exist for the PEP, but
a ``datetime.time`` parameter is refused with a clear error; use a Timestamp.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Optional

from .names import DATE_FIELDS
from .types import schema_type

__all__ = ["STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date", "Time", "Timestamp",
           "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary", "type_code", "schema_type"]


class DBAPITypeObject:
    """Equal to each type code in its group."""

    def __init__(self, name: str, *codes: str):
        self.name = name
        self.codes = frozenset(codes)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self.codes == other.codes
        return other in self.codes

    def __ne__(self, other: Any) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.codes)

    def __repr__(self) -> str:
        return f"<cql.{self.name}>"


STRING = DBAPITypeObject("STRING", "String")
BINARY = DBAPITypeObject("BINARY", "Bytes")
NUMBER = DBAPITypeObject("NUMBER", "Number")
DATETIME = DBAPITypeObject("DATETIME", "Date")
ROWID = DBAPITypeObject("ROWID", "ObjectId")


def Date(year: int, month: int, day: int) -> _dt.date:  # noqa: N802 - PEP 249 names
    return _dt.date(year, month, day)


def Time(hour: int, minute: int, second: int) -> _dt.time:  # noqa: N802
    return _dt.time(hour, minute, second)


def Timestamp(year: int, month: int, day: int, hour: int = 0, minute: int = 0,  # noqa: N802
              second: int = 0) -> _dt.datetime:
    """An aware UTC datetime (CQL dates are UTC)."""
    return _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802
    return _dt.datetime.fromtimestamp(ticks, _dt.timezone.utc).date()


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802
    return _dt.datetime.fromtimestamp(ticks, _dt.timezone.utc).time()


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802
    return _dt.datetime.fromtimestamp(ticks, _dt.timezone.utc)


def Binary(data: Any) -> bytes:  # noqa: N802
    return bytes(data)


def type_code(column: str, value: Any) -> Optional[str]:
    """The description type code of a column, from its name and a REST JSON value."""
    if column == "objectId":
        return "ObjectId"
    if column in DATE_FIELDS:
        return "Date"
    return schema_type(value)



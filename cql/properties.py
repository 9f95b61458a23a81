"""Typed properties of cql.Model (App Engine ndb style).

A property checks a value when it is assigned (wrong type: BadValueError, code
111; not among ``choices`` or refused by ``validator``: code 142), converts it
to and from REST JSON, and builds query conditions: ``Todo.score > 80`` is a
``Condition``, ``-Todo.score`` a descending sort key.
"""
from __future__ import annotations

import copy
import json
import math
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, List, Optional

from .errors import BadValueError, describe
from .query import Condition, check_key, encode_value
from .types import GeoPoint, Pointer, decode

__all__ = ["Property", "StringProperty", "IntegerProperty", "FloatProperty", "BooleanProperty",
           "DateTimeProperty", "GeoPtProperty", "PointerProperty", "JsonProperty"]


class Property:
    """A field of a model. ``name`` is the stored field name (default: the
    attribute's); ``repeated`` makes it a list of such values."""

    kind = "value"

    def __init__(self, name: Optional[str] = None, *, required: bool = False, default: Any = None,
                 choices: Optional[Iterable[Any]] = None,
                 validator: Optional[Callable[["Property", Any], Any]] = None, repeated: bool = False):
        self.name = check_key(name) if name is not None else None
        self.attr: Optional[str] = None
        self.required = required
        self.choices = list(choices) if choices is not None else None
        self.validator = validator
        self.repeated = repeated
        self.owner = "Model"
        self.default = None
        if default is not None:
            self.default = self.validate(default)

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.name = self.name or check_key(attr)
        self.owner = owner.__name__

    # -- instances ------------------------------------------------------------------
    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return instance.property_value(self)

    def __set__(self, instance: Any, value: Any) -> None:
        instance.set_property(self, self.validate(value))

    def empty(self) -> Any:
        """The value of an unset property: its default (a copy), [] when repeated."""
        if self.default is not None:
            return copy.deepcopy(self.default)
        return [] if self.repeated else None

    def validate(self, value: Any) -> Any:
        """The value to store, or BadValueError (nothing is sent before this passes)."""
        if value is None:
            return None
        if self.repeated:
            if not isinstance(value, (list, tuple)):
                raise self.error(f"takes a list (repeated=True), got {describe(value)}", 111)
            return [self.validate_one(v) for v in value]
        return self.validate_one(value)

    def validate_one(self, value: Any) -> Any:
        if value is None:
            raise self.error("cannot hold None inside a list", 111)
        value = self.coerce(value)
        if self.choices is not None and value not in self.choices:
            raise self.error(f"takes one of {describe(self.choices)}, got {describe(value)}")
        if self.validator is not None:
            checked = self.validator(self, value)
            if checked is not None:
                value = checked
        return value

    def coerce(self, value: Any) -> Any:
        return value

    def error(self, message: str, code: int = 142) -> BadValueError:
        return BadValueError(f"{self.owner}.{self.attr or self.name} {message}", code)

    def to_rest(self, value: Any) -> Any:
        return encode_value(value)

    def from_rest(self, value: Any) -> Any:
        return decode(value)

    # -- queries --------------------------------------------------------------------
    @property
    def order_key(self) -> str:
        return self.name or ""

    def __neg__(self) -> str:
        return "-" + self.order_key

    def _compare(self, op: Optional[str], value: Any) -> Condition:
        encoded = self.to_rest(self.validate_one(value))
        return Condition({self.name: encoded if op is None else {op: encoded}})

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._compare(None, value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._compare("$ne", value)

    def __lt__(self, value: Any) -> Condition:
        return self._compare("$lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._compare("$lte", value)

    def __gt__(self, value: Any) -> Condition:
        return self._compare("$gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._compare("$gte", value)

    def IN(self, values: Iterable[Any]) -> Condition:  # noqa: N802 - ndb's name
        return Condition({self.name: {"$in": [self.to_rest(self.validate_one(v)) for v in values]}})

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class StringProperty(Property):
    kind = "string"

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self.error(f"takes a string, got {type(value).__name__} {describe(value)}", 111)
        return value


class IntegerProperty(Property):
    kind = "integer"

    def coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"takes an integer, got {type(value).__name__} {describe(value)}", 111)
        return value

    def from_rest(self, value: Any) -> Any:
        return int(value) if isinstance(value, float) and value.is_integer() else value


class FloatProperty(Property):
    kind = "float"

    def coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"takes a number, got {type(value).__name__} {describe(value)}", 111)
        if not math.isfinite(value):
            raise self.error(f"takes a finite number, got {describe(value)}", 107)
        return float(value)

    def from_rest(self, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class BooleanProperty(Property):
    kind = "boolean"

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise self.error(f"takes True or False, got {type(value).__name__} {describe(value)}", 111)
        return value


class DateTimeProperty(Property):
    """An aware UTC datetime (a naive one is taken as UTC). ``auto_now`` sets it
    on every put, ``auto_now_add`` on the first."""

    kind = "datetime"

    def __init__(self, name: Optional[str] = None, *, auto_now: bool = False, auto_now_add: bool = False,
                 **options: Any):
        super().__init__(name, **options)
        self.auto_now, self.auto_now_add = auto_now, auto_now_add

    def coerce(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        raise self.error(f"takes a datetime, got {type(value).__name__} {describe(value)}", 111)


class GeoPtProperty(Property):
    """A cql.GeoPoint; a (latitude, longitude) pair is accepted too (ndb's GeoPt order)."""

    kind = "geopoint"

    def coerce(self, value: Any) -> Any:
        if isinstance(value, GeoPoint):
            return value
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return GeoPoint(latitude=value[0], longitude=value[1])
        raise self.error(f"takes a cql.GeoPoint or (latitude, longitude), got {describe(value)}", 111)


class PointerProperty(Property):
    """A pointer to an object of ``target`` (a cql.Model class or a class name):
    takes a saved instance, a cql.Pointer or an objectId; reads back a
    cql.Pointer, or the target's instance when the query included it."""

    kind = "pointer"

    def __init__(self, target: Any, name: Optional[str] = None, **options: Any):
        self.target = target
        super().__init__(name, **options)

    @property
    def target_name(self) -> str:
        target = self.target
        return target if isinstance(target, str) else target.rest_class_name()

    def coerce(self, value: Any) -> Any:
        if isinstance(value, str) and value:
            return Pointer(self.target_name, value)
        to_pointer = getattr(value, "to_pointer", None)
        if to_pointer is not None and not isinstance(value, type):
            value = to_pointer()
        if not isinstance(value, Pointer):
            raise self.error(f"takes a {self.target_name}, a cql.Pointer or an objectId, got {describe(value)}", 111)
        if value.class_name != self.target_name:
            raise self.error(f"points to {self.target_name}, not {value.class_name}", 111)
        return value

    def from_rest(self, value: Any) -> Any:
        if isinstance(value, dict) and value.get("__type") == "Object" and not isinstance(self.target, str):
            return self.target.from_rest(value)
        if isinstance(value, dict) and value.get("__type") == "Object":
            return Pointer(value.get("className", ""), value.get("objectId", ""))
        return decode(value)


class JsonProperty(Property):
    """Any JSON value: dicts, lists, strings, numbers, booleans."""

    kind = "json"

    def coerce(self, value: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise self.error(f"takes a JSON value, got {describe(value)} ({exc})", 107) from None
        return value

    def to_rest(self, value: Any) -> Any:
        return value

    def from_rest(self, value: Any) -> Any:
        return value


def property_list(cls: type) -> List[Property]:
    """The properties of a model class, base classes first."""
    seen = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Property):
                seen[attr] = value
    return list(seen.values())

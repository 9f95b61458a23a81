"""The CQL syntax tree: frozen dataclasses, each with its source position.

Nodes are immutable so parsed statements can be cached and shared; ``pos`` is
left out of equality so two parses of equivalent text compare equal.
Values stay unbound here: a ``?`` is a ``Param`` until the planner binds it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple, Union


@dataclass(frozen=True)
class Pos:
    """1-based line and column, 0-based offset into the parsed text."""
    line: int = 1
    column: int = 1
    offset: int = 0


NOPOS = Pos()


class Node:
    """Base of every node: exposes ``line``/``column``/``offset`` from ``pos``."""
    pos: Pos

    @property
    def line(self) -> int:
        return self.pos.line

    @property
    def column(self) -> int:
        return self.pos.column

    @property
    def offset(self) -> int:
        return self.pos.offset


def _pos() -> Any:
    return field(default=NOPOS, compare=False, repr=False)


# ---- values ---------------------------------------------------------------------
@dataclass(frozen=True)
class Literal(Node):
    """A string, number, true/false or null."""
    value: Any
    pos: Pos = _pos()


@dataclass(frozen=True)
class Param(Node):
    """A ``?`` placeholder; ``index`` counts from 0, left to right in its statement."""
    index: int
    pos: Pos = _pos()


@dataclass(frozen=True)
class Array(Node):
    items: Tuple["Value", ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Object(Node):
    items: Tuple[Tuple[str, "Value"], ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Func(Node):
    """date(), pointer(), geopoint(), file(), base64(), current_timestamp(), op()."""
    name: str
    args: Tuple["Value", ...]
    pos: Pos = _pos()


Value = Union[Literal, Param, Array, Object, Func]


# ---- conditions -------------------------------------------------------------------
@dataclass(frozen=True)
class Compare(Node):
    """``field op value`` with op one of = != < <= > >= (``<>`` is read as ``!=``)."""
    field: str
    op: str
    value: Value
    pos: Pos = _pos()


@dataclass(frozen=True)
class In(Node):
    """``field [not] in (v, ...)``; ``values`` is a tuple or a Param bound to a list."""
    field: str
    values: Union[Tuple[Value, ...], Param]
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class InQuery(Node):
    """``field [not] in (select ...)`` or ``field = / != (select k ...)``."""
    field: str
    query: "Select"
    negated: bool = False
    op: str = "in"          # "in" or "=" (both lower the same way)
    pos: Pos = _pos()


@dataclass(frozen=True)
class Exists(Node):
    field: str
    exists: bool = True
    pos: Pos = _pos()


@dataclass(frozen=True)
class Match(Node):
    """``field [not] like 'p'`` (kind "like") or ``field [not] regexp 'r'``."""
    field: str
    kind: str
    pattern: Value
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True)
class All(Node):
    field: str
    values: Union[Tuple[Value, ...], Param]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Size(Node):
    """``size(field) = n`` (the only comparison allowed on size)."""
    field: str
    value: Value
    pos: Pos = _pos()


@dataclass(frozen=True)
class Distance(Node):
    """A near-distance bound; ``unit`` is kilometers, miles or radians."""
    value: Value
    unit: str = "radians"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Near(Node):
    field: str
    point: Value
    min: Optional[Distance] = None
    max: Optional[Distance] = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Within(Node):
    field: str
    southwest: Value
    northeast: Value
    pos: Pos = _pos()


@dataclass(frozen=True)
class Related(Node):
    """``related key to pointer('C', 'id')``: objects in that object's relation ``key``."""
    key: str
    object: Value
    pos: Pos = _pos()


@dataclass(frozen=True)
class And(Node):
    items: Tuple["Condition", ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Or(Node):
    items: Tuple["Condition", ...]
    pos: Pos = _pos()


Condition = Union[Compare, In, InQuery, Exists, Match, All, Size, Near, Within, Related, And, Or]


# ---- select list, order ---------------------------------------------------------------
@dataclass(frozen=True)
class Star(Node):
    pos: Pos = _pos()


@dataclass(frozen=True)
class Column(Node):
    path: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Count(Node):
    """``count(*)`` or ``count(objectId)``."""
    pos: Pos = _pos()


@dataclass(frozen=True)
class Include(Node):
    path: str
    pos: Pos = _pos()


SelectItem = Union[Star, Column, Count, Include]


@dataclass(frozen=True)
class OrderItem(Node):
    field: str
    descending: bool = False
    pos: Pos = _pos()


# ---- statements -----------------------------------------------------------------------
class Statement(Node):
    """Base of the four statements. ``param_count`` is the number of ``?`` in it;
    ``source`` the whole parsed text and ``end`` the offset after the statement,
    so ``text`` is the statement as written (for messages and the shell)."""
    param_count: int
    source: str
    end: int

    @property
    def text(self) -> str:
        return self.source[self.pos.offset:self.end]


def _meta(default: Any) -> Any:
    return field(default=default, compare=False, repr=False)


@dataclass(frozen=True)
class Select(Statement):
    class_name: str
    items: Tuple[SelectItem, ...]
    where: Optional[Condition] = None
    limit: Optional[Value] = None
    skip: Optional[Value] = None
    order: Tuple[OrderItem, ...] = ()
    param_count: int = 0
    pos: Pos = _pos()
    source: str = _meta("")
    end: int = _meta(0)


@dataclass(frozen=True)
class Insert(Statement):
    class_name: str
    columns: Tuple[str, ...]
    rows: Tuple[Tuple[Value, ...], ...]
    param_count: int = 0
    pos: Pos = _pos()
    source: str = _meta("")
    end: int = _meta(0)


@dataclass(frozen=True)
class Update(Statement):
    class_name: str
    assignments: Tuple[Tuple[str, Value], ...]
    where: Optional[Condition] = None
    param_count: int = 0
    pos: Pos = _pos()
    source: str = _meta("")
    end: int = _meta(0)


@dataclass(frozen=True)
class Delete(Statement):
    class_name: str
    where: Optional[Condition] = None
    param_count: int = 0
    pos: Pos = _pos()
    source: str = _meta("")
    end: int = _meta(0)

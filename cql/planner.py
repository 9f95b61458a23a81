"""AST + parameters -> Plan (SPEC §1-2).

The planner binds ``?`` parameters into the tree as REST JSON (never into
text), lowers conditions to where JSON and statements to Find/Create/Update/
Delete. (The REST requests a Plan means are cql.plan.requests_of.)
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import ast
from .errors import (CQLError, CQLSyntaxError, InvalidGeoPoint, InvalidJSON, MissingObjectId,
                     ParameterError, UnsupportedError, describe, error_at)
from .names import UPDATE_OPS
from .plan import UNNAMED_IDS, Create, Delete, Find, Plan, Update, is_operator_object
from .types import MAX_NUMBER, GeoPoint, bind, check_value, format_date, parse_date, surrogate_at

__all__ = ["plan", "plan_many", "like_to_regex", "merge_and", "OPS"]

_COMPARE = {"!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_UNIT_SUFFIX = {"kilometers": "Kilometers", "miles": "Miles", "radians": "Radians"}

#: op() names, canonical spelling (matched case-insensitively).
OPS = tuple(UPDATE_OPS)
_OPS_LOWER = {name.lower(): name for name in OPS}
_REGEX_META = set("\\.^$*+?()[]{}|")
#: The largest LIMIT or skip (MongoDB's, a 64-bit integer).
MAX_LIMIT = 2 ** 63 - 1


def regex_escape(text: str) -> str:
    """``text`` as a regex matching it literally (in MongoDB, PCRE, Python and
    PostgreSQL alike: only the metacharacters get a backslash)."""
    return "".join("\\" + ch if ch in _REGEX_META else ch for ch in text)


def like_to_regex(pattern: str) -> str:
    """SQL LIKE -> regex (SPEC, decided): % -> .*, _ -> ., [...] copied, the rest
    escaped, anchored ^...$ except where the pattern starts/ends with %."""
    body = pattern
    anchor_start = not body.startswith("%")
    anchor_end = not body.endswith("%") or body.endswith("[%]")
    body = body.lstrip("%") if not anchor_start else body
    if not anchor_end:
        body = body.rstrip("%")
    out: List[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            close = body.find("]", i + 2 if body[i + 1:i + 2] == "]" else i + 1)
            if close == -1:
                out.append("\\[")
            else:
                out.append(body[i:close + 1])
                i = close
        elif ch in _REGEX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return ("^" if anchor_start else "") + "".join(out) + ("$" if anchor_end else "")


def merge_and(parts: List[dict]) -> dict:
    """One where object for a conjunction; ``{"$and": parts}`` if any operand clashes."""
    out: Dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = value
                continue
            old = out[key]
            if (key.startswith("$") or not (is_operator_object(old) and is_operator_object(value))
                    or old.keys() & value.keys()):
                return {"$and": parts}
            out[key] = {**old, **value}
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Binder:
    """Lowers one statement with its bound parameters."""

    def __init__(self, stmt: ast.Statement, params: Sequence[Any]):
        self.stmt = stmt
        self.params = params

    # -- errors -------------------------------------------------------------------
    def fail(self, cls: type, message: str, node: Any) -> CQLError:
        pos = getattr(node, "pos", None)
        return error_at(cls, message, None if pos is ast.NOPOS else pos, self.stmt.source or None)

    # -- values ---------------------------------------------------------------------
    def param(self, node: ast.Param) -> Any:
        return self.params[node.index]

    def value(self, node: Any, allow_op: bool = False) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Param):
            # one rule for every backend (types.bind): what a file or a server
            # could not hold (NaN, a lone surrogate, ...) is refused here, 107
            try:
                return bind(self.param(node))
            except CQLError as exc:
                raise self.fail(type(exc), f"parameter {node.index + 1}: {exc.message}", node) from None
        if isinstance(node, ast.Array):
            return [self.value(v) for v in node.items]
        if isinstance(node, ast.Object):
            return {k: self.value(v) for k, v in node.items}
        if isinstance(node, ast.Func):
            return self.func(node, allow_op)
        raise self.fail(CQLSyntaxError, f"not a value: {node!r}", node)  # pragma: no cover

    def written(self, node: Any, field: str, class_name: str, allow_op: bool = False) -> Any:
        """A value an insert or update writes, checked so it can be read back."""
        value = self.value(node, allow_op)
        if value.__class__ in (dict, list):
            try:
                check_value(value, f"{class_name}.{field}")
            except CQLError as exc:
                raise exc.with_position(getattr(node, "line", None), getattr(node, "column", None),
                                        self.stmt.source)
        return value

    def string_arg(self, node: Any, what: str) -> str:
        value = self.value(node)
        if not isinstance(value, str):
            raise self.fail(ParameterError, f"{what} needs a string, got {describe(value)}", node)
        return value

    def func(self, node: ast.Func, allow_op: bool) -> Any:
        name, args = node.name, node.args
        if name == "date":
            value = self.value(args[0])
            if isinstance(value, dict) and value.get("__type") == "Date":
                value = value.get("iso")
            if not isinstance(value, str):
                raise self.fail(ParameterError, f"date() needs an ISO-8601 string, got {describe(value)}",
                                args[0])
            try:
                return {"__type": "Date", "iso": format_date(parse_date(value))}
            except CQLError as exc:
                raise exc.with_position(node.line, node.column, self.stmt.source)
        if name == "pointer":
            return {"__type": "Pointer", "className": self.string_arg(args[0], "pointer()"),
                    "objectId": self.string_arg(args[1], "pointer()")}
        if name == "geopoint":
            return self.geopoint(self.value(args[0]), self.value(args[1]), node)
        if name == "file":
            return {"__type": "File", "id": self.string_arg(args[0], "file()")}
        if name == "base64":
            text = self.string_arg(args[0], "base64()")
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise self.fail(InvalidJSON, f"base64() got text that is not base64: {describe(text)}",
                                args[0]) from None
            return {"__type": "Bytes", "base64": text}
        if name == "current_timestamp":
            return {"__type": "Date", "iso": format_date(datetime.now(timezone.utc))}
        if name == "op":
            if not allow_op:
                raise self.fail(UnsupportedError, "op() can only stand in UPDATE ... SET field = op(...)", node)
            return self.op(node)
        raise self.fail(UnsupportedError, f"unknown function {name}()", node)  # pragma: no cover

    def op(self, node: ast.Func) -> dict:
        raw = self.string_arg(node.args[0], "op()")
        name = _OPS_LOWER.get(raw.lower())
        if name is None:
            raise self.fail(UnsupportedError, f"unknown op '{raw}': use one of {', '.join(OPS)}", node.args[0])
        if name == "Delete":
            return {"__op": "Delete"}
        if len(node.args) < 2:
            raise self.fail(CQLSyntaxError, f"op('{name}', {{...}}) needs its argument object", node)
        args = self.value(node.args[1])
        if not isinstance(args, dict):
            raise self.fail(ParameterError, f"op('{name}', ...) needs an object such as "
                            "{'amount': 1} or {'objects': [...]}", node.args[1])
        return {"__op": name, **args}

    def geopoint(self, lng: Any, lat: Any, node: Any) -> dict:
        if not (_number(lng) and _number(lat)):
            raise self.fail(InvalidGeoPoint, f"a GeoPoint needs two numbers (longitude, latitude), "
                            f"got {describe(lng)}, {describe(lat)}", node)
        try:
            return GeoPoint(latitude=lat, longitude=lng).to_json()
        except CQLError as exc:
            raise exc.with_position(node.line, node.column, self.stmt.source)

    def point(self, node: Any) -> dict:
        """A point after near/within: [lng, lat], geopoint(lng, lat) or ? (GeoPoint or [lng, lat])."""
        if isinstance(node, ast.Array):
            if len(node.items) != 2:
                raise self.fail(InvalidGeoPoint, "a point is [longitude, latitude]: two numbers", node)
            return self.geopoint(self.value(node.items[0]), self.value(node.items[1]), node)
        value = self.value(node)
        if isinstance(value, dict) and value.get("__type") == "GeoPoint":
            return self.geopoint(value.get("longitude"), value.get("latitude"), node)
        if isinstance(value, list) and len(value) == 2:
            return self.geopoint(value[0], value[1], node)
        raise self.fail(InvalidGeoPoint, "expected a point: [longitude, latitude], "
                        f"geopoint(longitude, latitude) or a GeoPoint parameter, got {describe(value)}", node)

    def values(self, node: Union[Tuple[Any, ...], ast.Param], what: str) -> list:
        if isinstance(node, ast.Param):
            value = self.value(node)
            if not isinstance(value, list):
                raise self.fail(ParameterError, f"{what} ? needs a list parameter, got {describe(value)}", node)
            return value
        return [self.value(v) for v in node]

    def int_arg(self, node: Any, what: str) -> int:
        value = self.value(node)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() \
                and len(value.strip()) <= 19:
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT:
            raise self.fail(ParameterError, f"{what} needs a whole number from 0 to {MAX_LIMIT}, "
                            f"got {describe(value)}", node)
        return value

    # -- conditions --------------------------------------------------------------------
    def where(self, cond: Optional[Any]) -> dict:
        return {} if cond is None else self.cond(cond)

    def cond(self, c: Any) -> dict:
        kind = type(c)
        if kind is ast.Compare:
            value = self.value(c.value)
            if c.op == "=":
                return {c.field: value}
            return {c.field: {_COMPARE[c.op]: value}}
        if kind is ast.And:
            return merge_and([self.cond(x) for x in c.items])
        if kind is ast.Or:
            return {"$or": [self.cond(x) for x in c.items]}
        if kind is ast.In:
            return {c.field: {"$nin" if c.negated else "$in": self.values(c.values, "in")}}
        if kind is ast.InQuery:
            return self.in_query(c)
        if kind is ast.Exists:
            return {c.field: {"$exists": c.exists}}
        if kind is ast.Match:
            pattern = self.string_arg(c.pattern, c.kind)
            regex = {"$regex": like_to_regex(pattern) if c.kind == "like" else pattern}
            return {c.field: {"$not": regex} if c.negated else regex}
        if kind is ast.All:
            return {c.field: {"$all": self.values(c.values, "all")}}
        if kind is ast.Size:
            n = self.value(c.value)
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise self.fail(ParameterError, f"size() = needs a whole number, got {describe(n)}", c.value)
            return {c.field: {"$size": n}}
        if kind is ast.Near:
            spec: Dict[str, Any] = {"$nearSphere": self.point(c.point)}
            for bound, dist in (("min", c.min), ("max", c.max)):
                if dist is not None:
                    amount = self.value(dist.value)
                    if not _number(amount) or amount < 0:
                        raise self.fail(ParameterError, f"a {bound} distance needs a number >= 0, "
                                        f"got {describe(amount)}", dist)
                    spec[f"${bound}DistanceIn{_UNIT_SUFFIX[dist.unit]}"] = amount
            return {c.field: spec}
        if kind is ast.Within:
            return {c.field: {"$within": {"$box": [self.point(c.southwest), self.point(c.northeast)]}}}
        if kind is ast.Related:
            obj = self.value(c.object)
            if not (isinstance(obj, dict) and obj.get("__type") == "Pointer"):
                raise self.fail(ParameterError, "related ... to needs a pointer: "
                                f"pointer('Class', 'objectId'), got {describe(obj)}", c.object)
            return {"$relatedTo": {"object": obj, "key": c.key}}
        raise self.fail(CQLSyntaxError, f"not a condition: {c!r}", c)  # pragma: no cover

    def query(self, sel: ast.Select) -> dict:
        """A subquery: className, where, and limit/skip/order when given."""
        q: Dict[str, Any] = {"className": sel.class_name, "where": self.where(sel.where)}
        if sel.limit is not None:
            q["limit"] = self.int_arg(sel.limit, "LIMIT")
        if sel.skip is not None:
            q["skip"] = self.int_arg(sel.skip, "LIMIT skip,")
        if sel.order:
            q["order"] = ",".join(("-" if o.descending else "") + o.field for o in sel.order)
        return q

    def in_query(self, c: ast.InQuery) -> dict:
        q = self.query(c.query)
        column = next((i.path for i in c.query.items if isinstance(i, ast.Column)), None)
        if column is None:
            return {c.field: {"$notInQuery" if c.negated else "$inQuery": q}}
        return {c.field: {"$dontSelect" if c.negated else "$select": {"query": q, "key": column}}}

    # -- statements --------------------------------------------------------------------
    def select(self, s: ast.Select) -> Find:
        star = count = False
        columns: List[str] = []
        includes: List[str] = []
        shown: List[str] = []  # display columns: fields and included pointers, as written
        for item in s.items:
            kind = type(item)
            if kind is ast.Star:
                star = True
            elif kind is ast.Column:
                if item.path not in columns:
                    columns.append(item.path)
                shown.append(item.path)
            elif kind is ast.Count:
                count = True
            elif kind is ast.Include:
                if item.path not in includes:
                    includes.append(item.path)
                shown.append(item.path.split(".")[0])
        where = self.where(s.where)
        count_only = count and not (star or columns or includes)
        if count_only:
            return Find(s.class_name, where=where, count=True, limit=0)
        keys: Optional[Tuple[str, ...]] = None
        if columns and not star:
            extra = [p.split(".")[0] for p in includes]
            keys = tuple(dict.fromkeys(columns + extra))
        return Find(
            s.class_name, where=where, keys=keys, include=tuple(includes),
            order=tuple(("-" if o.descending else "") + o.field for o in s.order),
            limit=self.int_arg(s.limit, "LIMIT") if s.limit is not None else None,
            skip=self.int_arg(s.skip, "LIMIT skip,") if s.skip is not None else None,
            count=count, columns=tuple(dict.fromkeys(shown)) if columns and not star else None)

    def insert(self, s: ast.Insert) -> Create:
        rows = []
        literal = ast.Literal
        for number, row in enumerate(s.rows, 1):
            if len(row) != len(s.columns):
                node = row[0] if row else s
                raise self.fail(ParameterError, f"VALUES row {number} has {len(row)} value"
                                f"{'s' if len(row) != 1 else ''} but {len(s.columns)} column"
                                f"{'s' if len(s.columns) != 1 else ''} were listed", node)
            # a literal's value is a parsed str/number/bool/null: nothing to check
            rows.append({col: v.value if v.__class__ is literal else self.written(v, col, s.class_name)
                         for col, v in zip(s.columns, row)})
        return Create(s.class_name, tuple(rows), tuple(s.columns))

    def pinned(self, cond: Optional[Any]) -> Tuple[Optional[str], dict]:
        """(objectId, remaining where) when the where pins one object, else (None, where)."""
        items = cond.items if type(cond) is ast.And else (cond,) if cond is not None else ()
        for i, c in enumerate(items):
            if type(c) is ast.Compare and c.field == "objectId" and c.op == "=":
                value = self.value(c.value)
                if value in UNNAMED_IDS:
                    raise self.fail(MissingObjectId, f"objectId = {value!r} names no object: give the id "
                                    "of the object to change", c)
                if isinstance(value, str):
                    rest = items[:i] + items[i + 1:]
                    if not rest:
                        return value, {}
                    if len(rest) == 1:
                        return value, self.cond(rest[0])
                    return value, merge_and([self.cond(x) for x in rest])
        return None, self.where(cond)

    def update(self, s: ast.Update) -> Update:
        body = {f: self.written(v, f, s.class_name, allow_op=True) for f, v in s.assignments}
        object_id, where = self.pinned(s.where)
        return Update(s.class_name, body, object_id, where)

    def delete(self, s: ast.Delete) -> Delete:
        object_id, where = self.pinned(s.where)
        return Delete(s.class_name, object_id, where)


def plan(statement: ast.Statement, params: Sequence[Any] = ()) -> Plan:
    """Bind ``params`` to the statement's ``?`` (left to right) and lower it to a Plan."""
    params = tuple(params)
    expected = statement.param_count
    if len(params) != expected:
        err = ParameterError(
            f"wrong number of parameters: the statement has {expected} ? placeholder"
            f"{'s' if expected != 1 else ''}, so expected {expected}, got {len(params)}")
        raise err.with_position(statement.line, statement.column, statement.source or None)
    binder = _Binder(statement, params)
    try:
        if isinstance(statement, ast.Select):
            return binder.select(statement)
        if isinstance(statement, ast.Insert):
            return binder.insert(statement)
        if isinstance(statement, ast.Update):
            return binder.update(statement)
        if isinstance(statement, ast.Delete):
            return binder.delete(statement)
    except RecursionError:
        raise CQLSyntaxError("the statement is nested too deeply") from None
    raise CQLError(f"not a statement: {statement!r}")


def plan_many(statement: ast.Statement, seq_of_params: Iterable[Sequence[Any]],
              chunk: int = 5000) -> Iterator[Plan]:
    """``plan`` for each parameter set in turn (DB-API ``executemany``). The rows
    of a one-row INSERT are gathered into Creates of up to ``chunk`` rows, so a
    backend writes them in bulk; a row of plain ``?`` and literals is bound
    without a Binder per row (values checked as ``plan`` checks them)."""
    if not isinstance(statement, ast.Insert) or len(statement.rows) != 1 \
            or len(statement.rows[0]) != len(statement.columns):
        for params in seq_of_params:
            yield plan(statement, params)
        return
    bind = _row_binder(statement)
    rows: List[dict] = []
    for params in seq_of_params:
        rows.append(bind(params))
        if len(rows) >= chunk:
            yield Create(statement.class_name, tuple(rows), statement.columns)
            rows = []
    if rows:
        yield Create(statement.class_name, tuple(rows), statement.columns)


def _binds_as_is(value: Any) -> bool:
    """A value types.bind would return unchanged (checked without a copy)."""
    c = value.__class__
    if c is str:
        return surrogate_at(value) < 0
    if c is int:
        return -MAX_NUMBER <= value <= MAX_NUMBER
    if c is float:
        return value - value == 0.0  # not NaN or Infinity
    return c is bool or value is None


def _row_binder(statement: ast.Insert) -> Any:
    """params -> the row a one-row INSERT writes with them."""
    items = statement.rows[0]
    if not all(isinstance(v, (ast.Param, ast.Literal)) for v in items):
        return lambda params: plan(statement, params).rows[0]  # type: ignore[union-attr]
    spec = [(col, v.index if isinstance(v, ast.Param) else None, getattr(v, "value", None))
            for col, v in zip(statement.columns, items)]
    expected = statement.param_count

    def binder(params: Sequence[Any]) -> dict:
        if params.__class__ not in (tuple, list) or len(params) != expected:
            return plan(statement, params).rows[0]  # type: ignore[union-attr]  # (its errors)
        row = {}
        for col, index, literal in spec:
            if index is None:
                row[col] = literal
                continue
            value = params[index]
            if _binds_as_is(value):
                row[col] = value
                continue
            if value.__class__ is list and all(_binds_as_is(x) for x in value):  # e.g. tags
                row[col] = list(value)
                continue
            try:  # what Binder.value and Binder.written do, without positions
                value = bind(value)
                if value.__class__ in (dict, list):
                    check_value(value, f"{statement.class_name}.{col}")
            except CQLError:
                return plan(statement, params).rows[0]  # type: ignore[union-attr]  # (its error)
            row[col] = value
        return row
    return binder

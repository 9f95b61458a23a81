"""Server dialects: what each kind of server gets as ``where``/``order``.

The reference semantics are MongoDB's (LeanCloud; cql.engine.matcher). The
``leancloud`` dialect sends the reference lowering as is. The
``parse-postgres`` dialect (Parse Server on PostgreSQL) sends the server only
what it evaluates exactly like MongoDB, rewritten where needed (array
"contains" equality as ``$all``, ``$maxDistanceIn*`` as ``$maxDistance`` in
radians, an always-true where for exact counts), and leaves the rest as a
*residual* that the client evaluates with the embedded engine's matcher. The
server's where is always implied by the original one (a relaxation), so
filtering its answer with the residual gives exactly the reference answer.

Field types (from the server's schema, or inferred) decide what is safe: an
unknown type is treated as unsafe (client-side), never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import errors
from ..engine.geo import DISTANCE_KEYS, to_radians
from ..engine.ordering import parse_order
from ..names import SYSTEM_FIELDS, SYSTEM_TYPES
from ..plan import Create, Find, Plan, Update, create_requests, is_operator_object, object_path, requests_of

TypeOf = Callable[[str, str], Optional[str]]          # (class, field) -> Parse type name
TargetOf = Callable[[str, str], Optional[str]]        # (class, pointer field) -> target class
_DROP = object()  # "send nothing to the server for this constraint"


@dataclass
class Lowered:
    """A where split for one server: ``server`` is sent (implied by the original
    where); ``residual`` (None when the server is exact) is evaluated on the client."""
    server: dict
    residual: Optional[dict]
    original: dict

    @property
    def exact(self) -> bool:
        return self.residual is None


def _typed(value: Any, kind: str) -> bool:
    return isinstance(value, dict) and value.get("__type") == kind


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float))


class Dialect:
    """The reference lowering: the server understands MongoDB semantics."""

    name = "leancloud"
    #: update ops the client computes (reads the object, applies the op like the
    #: engine, writes the resulting value): none for a MongoDB server
    client_array_ops: Tuple[str, ...] = ()

    def lower(self, class_name: str, where: dict, type_of: Optional[TypeOf] = None,
              target_of: Optional[TargetOf] = None) -> Lowered:
        return Lowered(dict(where or {}), None, dict(where or {}))

    def order_mode(self, class_name: str, order: Sequence[str], lowered: Lowered,
                   type_of: Optional[TypeOf] = None) -> Tuple[str, List[str]]:
        """("server", []) | ("check", fields that must have no missing values) | ("client", [])."""
        return "server", []

    def count_where(self, where: dict) -> dict:
        return where

    def explain(self, plan: Plan, type_of: Optional[TypeOf] = None,
                target_of: Optional[TargetOf] = None) -> List[dict]:
        """The requests this dialect sends for ``plan`` (read-only: no server call)."""
        return requests_of(plan)


class ParsePostgresDialect(Dialect):
    """Parse Server on PostgreSQL: rewrite what it gets wrong, keep on the client
    what it cannot do (see shared notes, 'Query operator matrix')."""

    name = "parse-postgres"
    # Postgres' Add/AddUnique dedupe and reorder the existing elements
    client_array_ops = ("Add", "AddUnique")

    def lower(self, class_name: str, where: dict, type_of: Optional[TypeOf] = None,
              target_of: Optional[TargetOf] = None) -> Lowered:
        type_of = type_of or (lambda c, f: None)
        target_of = target_of or (lambda c, f: None)
        server, residual = self._lower(class_name, dict(where or {}), type_of, target_of)
        return Lowered(server, residual, dict(where or {}))

    def count_where(self, where: dict) -> dict:
        # An empty where makes Parse/Postgres answer an estimate (pg_class.reltuples).
        return where or {"objectId": {"$exists": True}}

    def order_mode(self, class_name: str, order: Sequence[str], lowered: Lowered,
                   type_of: Optional[TypeOf] = None) -> Tuple[str, List[str]]:
        if not order:
            return "server", []
        if has_near(lowered.server):
            return "client", []  # Postgres replaces ORDER BY with the distance sort
        type_of = type_of or (lambda c, f: None)
        check = []
        for field, _ in parse_order(order):
            if field in SYSTEM_FIELDS:  # never missing
                continue
            if "." in field or type_of(class_name, field) not in ("String", "Number", "Date", "Boolean"):
                return "client", []
            check.append(field)
        # Postgres sorts NULL last ascending (MongoDB: first): fine only when none is missing.
        return ("check", check) if check else ("server", [])

    # -- explain -------------------------------------------------------------------
    def explain(self, plan: Plan, type_of: Optional[TypeOf] = None,
                target_of: Optional[TargetOf] = None) -> List[dict]:
        """Without a schema (``type_of`` None) field types are guessed from the
        values compared, and array fields are not recognised."""
        guess = type_of or _guess_types(plan)
        if target_of is None and type_of is None:
            target_of = _guess_targets(plan)
        if isinstance(plan, Find):
            return [self._explain_find(plan, guess, target_of)]
        if isinstance(plan, Create):
            return create_requests(plan)
        method = "PUT" if isinstance(plan, Update) else "DELETE"
        body = {"body": plan.body} if isinstance(plan, Update) else {}
        emulated = [k for k, v in (plan.body.items() if isinstance(plan, Update) else ())
                    if isinstance(v, dict) and v.get("__op") in self.client_array_ops]
        if emulated:
            body["note"] = (f"{', '.join(emulated)}: the object is read first and the op applied on the "
                            "client (Postgres' Add/AddUnique reorder the array); the array is sent as a value")
        if plan.object_id is not None:
            path = object_path(plan.class_name, plan.object_id)
            req = {"method": method, "path": path, **body}
            if plan.where:
                return [{"method": "GET", "path": path,
                         "client": {"where": plan.where,
                                    "note": "condition tested on the client (code 305 if not met)"}}, req]
            return [req]
        ids = Find(plan.class_name, where=plan.where, keys=("objectId",), order=("objectId",),
                   limit=1000)
        first = self._explain_find(ids, guess, target_of)
        first["note"] = "repeated page by page until every matching objectId is known"
        return [first, {"method": "POST", "path": "/batch",
                        "body": {"requests": [{"method": method,
                                               "path": f"/classes/{plan.class_name}/{{objectId}}", **body}]},
                        "note": "one sub-request per matching object, at most 50 per batch"}]

    def _explain_find(self, find: Find, type_of: TypeOf, target_of: Optional[TargetOf]) -> dict:
        lowered = self.lower(find.class_name, find.where, type_of, target_of)
        params: Dict[str, Any] = {}
        where = lowered.server
        if find.count and not where:
            where = self.count_where(where)
        if where:
            params["where"] = where
        if find.keys is not None and lowered.exact:
            params["keys"] = ",".join(find.keys)
        if find.include:
            params["include"] = ",".join(find.include)
        mode, check = self.order_mode(find.class_name, find.order, lowered, type_of)
        if find.order and mode != "client":
            params["order"] = ",".join(find.order)
        if lowered.exact and mode != "client":
            if find.limit is not None:
                params["limit"] = find.limit
            if find.skip:
                params["skip"] = find.skip
            if find.count:
                params["count"] = 1
        req: Dict[str, Any] = {"method": "GET", "path": f"/classes/{find.class_name}", "params": params}
        client = {}
        if not lowered.exact:
            client["where"] = lowered.residual
            client["note"] = "pages fetched until the limit is met; filtered with the embedded matcher"
        if find.order and mode == "client":
            client["order"] = ",".join(find.order)
        elif mode == "check":
            client["order_check"] = f"ordered on the server unless {', '.join(check)} can be missing"
        if client:
            req["client"] = client
        return req

    # -- where ---------------------------------------------------------------------
    def _lower(self, cls: str, where: dict, type_of: TypeOf, target_of: TargetOf
               ) -> Tuple[dict, Optional[dict]]:
        server: Dict[str, Any] = {}
        residual: Dict[str, Any] = {}
        for key, cond in where.items():
            if key == "$or" and isinstance(cond, list):
                parts = [self._lower(cls, sub, type_of, target_of) if isinstance(sub, dict) else ({}, sub)
                         for sub in cond]
                if all(res is None for _, res in parts):
                    if all(s for s, _ in parts):
                        server["$or"] = [s for s, _ in parts]
                    # a branch that is always true makes the whole $or true
                else:
                    residual["$or"] = cond
                    if parts and all(s for s, _ in parts):
                        server["$or"] = [s for s, _ in parts]
            elif key == "$and" and isinstance(cond, list):
                parts = [self._lower(cls, sub, type_of, target_of) if isinstance(sub, dict) else ({}, sub)
                         for sub in cond]
                kept = [s for s, _ in parts if s]
                rest = [r for _, r in parts if r is not None]
                if kept:
                    server["$and"] = kept
                if rest:
                    residual["$and"] = rest
            elif key == "$relatedTo":
                server[key] = cond
            elif key.startswith("$"):
                residual[key] = cond  # $nor and the like: client-side
            else:
                sent, exact = self._field(cls, key, cond, type_of, target_of)
                if sent is not _DROP:
                    server[key] = sent
                if not exact:
                    residual[key] = cond
        return server, (residual or None)

    def _field(self, cls: str, field: str, cond: Any, type_of: TypeOf, target_of: TargetOf
               ) -> Tuple[Any, bool]:
        if "." in field:
            return _DROP, False  # dot paths: Postgres compares JSON text; keep on the client
        kind = type_of(cls, field)
        if kind is None:
            return _DROP, False
        if is_operator_object(cond):
            return self._ops(cls, field, kind, cond, type_of, target_of)
        return self._equal(cls, field, kind, cond, target_of)

    def _value_fits(self, cls: str, field: str, kind: str, value: Any, target_of: TargetOf) -> bool:
        """True when ``value`` has the column's type, so Postgres compares like MongoDB."""
        if kind == "String":
            return isinstance(value, str)
        if kind == "Number":
            return _num(value)
        if kind == "Boolean":
            return isinstance(value, bool)
        if kind == "Date":
            return _typed(value, "Date") and isinstance(value.get("iso"), str)
        if kind == "Pointer":
            target = target_of(cls, field)
            return (_typed(value, "Pointer") and isinstance(value.get("objectId"), str)
                    and target is not None and value.get("className") == target)
        return False

    def _equal(self, cls: str, field: str, kind: str, value: Any, target_of: TargetOf) -> Tuple[Any, bool]:
        if value is None:
            # Postgres keeps no explicit null: IS NULL is MongoDB's "null or missing"
            # (but an array holding null would also match in MongoDB).
            return (None, True) if kind not in ("Array", "Relation") else (_DROP, False)
        if kind == "Array":
            if _scalar(value):
                return {"$all": [value]}, True  # {"tags": x} gives HTTP 500 on Postgres
            return _DROP, False
        if kind == "GeoPoint" and _typed(value, "GeoPoint"):
            return value, True
        if kind == "Relation" and _typed(value, "Pointer") and isinstance(value.get("objectId"), str):
            return value, True  # the server's shorthand: objects whose relation holds it
        if self._value_fits(cls, field, kind, value, target_of):
            return value, True
        return _DROP, False

    def _ops(self, cls: str, field: str, kind: str, cond: dict, type_of: TypeOf, target_of: TargetOf
             ) -> Tuple[Any, bool]:
        sent: Dict[str, Any] = {}
        exact = True
        for op, value in cond.items():
            if op in DISTANCE_KEYS or op == "$options":
                continue  # handled with $nearSphere / $regex
            part = self._op(cls, field, kind, op, value, cond, type_of, target_of)
            if part is None or isinstance(part, _PartialOps):
                exact = False
            if part:
                sent.update(part)
        return (sent if sent else _DROP), exact

    def _op(self, cls: str, field: str, kind: str, op: str, value: Any, cond: dict,
            type_of: TypeOf, target_of: TargetOf) -> Optional[dict]:
        scalar_kind = kind in ("String", "Number", "Boolean")
        if op == "$ne":
            if value is None:
                return {op: None} if kind not in ("Array", "Relation") else None
            if scalar_kind and self._value_fits(cls, field, kind, value, target_of):
                return {op: value}  # sent as (f <> v OR f IS NULL): MongoDB's meaning
            return None
        if op in ("$lt", "$lte", "$gt", "$gte"):
            if kind in ("String", "Number", "Date") and self._value_fits(cls, field, kind, value, target_of):
                return {op: value}
            return None
        if op == "$in":
            if not isinstance(value, list) or not value or any(v is None for v in value):
                return None  # Postgres: $in [] is "IS NULL"; null elements are dropped
            if kind == "Array":
                return {op: value} if all(_scalar(v) for v in value) else None
            if kind in ("String", "Number", "Pointer") and all(
                    self._value_fits(cls, field, kind, v, target_of) for v in value):
                return {op: value}
            return None
        if op == "$exists":
            # a Relation is no column on Postgres ($exists on it is an SQL error)
            return {op: value} if isinstance(value, bool) and kind != "Relation" else None
        if op == "$regex":
            options = cond.get("$options", "")
            sent = server_regex(value, options) if kind == "String" and isinstance(value, str) else None
            if sent is None:
                return None
            return {op: sent, "$options": options} if options else {op: sent}
        if op == "$all":
            if kind == "Array" and isinstance(value, list) and value and all(_scalar(v) for v in value):
                return {op: value}
            return None
        if op == "$nearSphere":
            if kind != "GeoPoint" or not _typed(value, "GeoPoint"):
                return None
            out: Dict[str, Any] = {op: value}
            radians = _max_radians(cond)
            if radians is not None:
                out["$maxDistance"] = radians  # $maxDistanceIn* is ignored by Postgres
            if any(k.startswith("$minDistance") for k in cond):
                # the server sorts and applies the maximum; the minimum is checked
                # on the client (the residual keeps the whole constraint)
                return _PartialOps(out)
            return out
        if op == "$within":
            box = value.get("$box") if isinstance(value, dict) else None
            if kind == "GeoPoint" and isinstance(box, list) and len(box) == 2 and all(
                    _typed(p, "GeoPoint") for p in box) and box[0]["longitude"] <= box[1]["longitude"] \
                    and box[0]["latitude"] <= box[1]["latitude"]:
                return {op: value}
            return None
        if op == "$inQuery":
            if kind != "Pointer" or not isinstance(value, dict):
                return None
            inner_cls = value.get("className")
            if set(value) - {"className", "where"} or not isinstance(inner_cls, str) \
                    or target_of(cls, field) != inner_cls:
                return None
            inner, rest = self._lower(inner_cls, dict(value.get("where") or {}), type_of, target_of)
            if rest is not None:
                return None
            return {op: {"className": inner_cls, "where": inner}}
        return None  # $nin, $size, $not, $select, $dontSelect, $notInQuery, ...: client


class _PartialOps(dict):
    """Ops sent to the server that do not fully express the constraint."""


_SAFE_ESCAPES = set(r".\^$|?*+()[]{}/-")
_SAFE_CHARS = re.compile(r"[A-Za-z0-9 _.^$|?*+()\[\]{}\\,:;!@#%&='\"<>~`/-]*\Z")


def server_regex(pattern: str, options: str) -> Optional[str]:
    """The pattern to send Postgres so that it matches exactly what PCRE/Python
    match, or None when that cannot be promised. Only ASCII literals,
    ``. * + ? ^ $ | ( ) [...] {m,n}`` and escaped punctuation are accepted;
    ``.`` becomes ``[^\\n]`` (Postgres' dot matches a newline) and ``$``
    becomes ``\\n?$`` (PCRE's ``$`` also matches before a final newline)."""
    if options not in ("", "i"):
        return None  # Postgres ignores m and s
    if not _SAFE_CHARS.match(pattern) or "(?" in pattern or "[[" in pattern:
        return None
    out = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n or pattern[i + 1] not in _SAFE_ESCAPES:
                return None
            out.append(pattern[i:i + 2])
            i += 2
        elif ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                return None  # a leading ] is read differently by the engines
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\":
                    return None
                j += 1
            if j >= n:
                return None
            out.append(pattern[i:j + 1])
            i = j + 1
        elif ch == ".":
            out.append("[^\\n]")
            i += 1
        elif ch == "$":
            out.append("\\n?$")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _max_radians(cond: dict) -> Optional[float]:
    for key, (bound, unit) in DISTANCE_KEYS.items():
        if bound == "max" and key in cond and _num(cond[key]):
            return to_radians(cond[key], unit)
    return None


def has_near(where: Any) -> bool:
    """Whether a where holds a $nearSphere anywhere (the server then sorts by distance)."""
    if isinstance(where, dict):
        return any(k == "$nearSphere" or has_near(v) for k, v in where.items())
    if isinstance(where, list):
        return any(has_near(v) for v in where)
    return False


def _guess_types(plan: Plan) -> TypeOf:
    """For explain without a server: a field's type is the type of the value it
    is compared with (so arrays are never recognised)."""
    from .schema import type_of as kind_of
    seen: Dict[str, str] = dict(SYSTEM_TYPES)

    def walk(where: Any) -> None:
        if isinstance(where, list):
            for w in where:
                walk(w)
        elif isinstance(where, dict):
            for key, cond in where.items():
                if key.startswith("$"):
                    walk(cond)
                    continue
                values = list(cond.values()) if is_operator_object(cond) else [cond]
                for v in values:
                    if isinstance(v, list):
                        v = v[0] if v and not isinstance(v[0], list) else None
                    kind = kind_of(v)
                    if kind and kind not in ("Object", "Array"):
                        seen.setdefault(key, kind)
    walk(getattr(plan, "where", {}))
    return lambda cls, field: seen.get(field)


def _guess_targets(plan: Plan) -> TargetOf:
    """For explain without a server: a pointer field points where its values do."""
    seen: Dict[str, str] = {}

    def walk(where: Any, field: Optional[str] = None) -> None:
        if isinstance(where, list):
            for w in where:
                walk(w, field)
        elif isinstance(where, dict):
            if where.get("__type") == "Pointer" and field and isinstance(where.get("className"), str):
                seen.setdefault(field, where["className"])
                return
            if field and "className" in where and "where" in where:
                seen.setdefault(field, str(where["className"]))
            for key, cond in where.items():
                walk(cond, field if key.startswith("$") else key)
    walk(getattr(plan, "where", {}))
    return lambda cls, field: seen.get(field)


DIALECTS: Dict[str, Dialect] = {"leancloud": Dialect(), "parse-postgres": ParsePostgresDialect()}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` ("leancloud" or "parse-postgres")."""
    chosen = DIALECTS.get(name) if isinstance(name, str) else None
    if chosen is None:
        raise errors.UnsupportedError(f"unknown dialect {name!r}: use one of {', '.join(sorted(DIALECTS))}")
    return chosen

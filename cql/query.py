"""cql.Query: the seeds' query vocabularies, lowered to Find plans.

One object speaks both App Engine's query API (``filter("score >", 80)``,
``order("-score")``, ``fetch``, ``run``, ``get``, ``count``, cursors,
``fetch_page``) and the LeanCloud SDK's (``equal_to``, ``greater_than``, ...,
``find``, ``first``, ``get(id)``, ``or_``/``and_``, ``scan``,
``do_cloud_query``). It is immutable: each call returns a new query. Conditions
are kept in a list and combined with the planner's ``merge_and``, so a second
condition on a field joins the first (``$and`` when they clash), never
replaces it.

Every read is a ``Find`` plan run by the query's connection (``conn=``, else
the row class's bound one, else ``cql.init``'s default), so the same code runs
on the embedded engine, Parse Server and LeanCloud; ``explain()`` shows the
requests. Rows come back as instances of the query's class (``cql.Object`` or
``cql.Model`` subclasses build them with ``from_rest``), or as dicts of
Python values for a query made with a bare class name here (``cql.Query``
makes ``cql.Object`` rows).
"""
from __future__ import annotations

import copy
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from . import paging
from .connection import Connection, default_connection
from .errors import CQLError, InvalidClassName, InvalidGeoPoint, InvalidKey, ObjectNotFound, \
    ParameterError, describe
from .plan import Find
from .names import is_class_name, is_field_name
from .planner import MAX_LIMIT, merge_and, regex_escape
from .types import GeoPoint, bind, decode

__all__ = ["Query", "Condition", "AND", "OR", "CloudQueryResult", "encode_value", "check_class_name",
           "check_key"]

_MISSING = object()
_FILTER_OPS = {"=": None, "==": None, "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte",
               "in": "$in"}
_DISTANCE_UNITS = ("Radians", "Miles", "Kilometers")
DEFAULT_BATCH = 100


# -- names and values ----------------------------------------------------------------
def check_class_name(name: Any) -> str:
    if type(name) is not str or not is_class_name(name):
        raise InvalidClassName(f"invalid class name {describe(name)}: class names start with a letter or '_' "
                               "and use only ASCII letters, digits and '_'")
    return name


def check_key(key: Any) -> str:
    if type(key) is not str or not all(map(is_field_name, key.split("."))):
        raise InvalidKey(f"invalid field name {describe(key)}: field names start with a letter and use only "
                         "ASCII letters, digits and '_' (a.b for a nested field)")
    return key


def encode_value(value: Any) -> Any:
    """A Python value as REST JSON (``types.bind``'s one rule: what no backend
    can hold is refused, 107); cql.Object/cql.Model instances become pointers."""
    return bind(value)


def _values(values: Any) -> list:
    """A list of values (contained_in, contains_all, ...): a list, tuple or set."""
    if type(values) in (set, frozenset):
        values = list(values)
    elif not isinstance(values, (list, tuple)):
        raise ParameterError(f"expected a list of values, got {describe(values)}")
    return encode_value(values)


def _point(value: Any) -> dict:
    if isinstance(value, GeoPoint):
        return value.to_json()
    if isinstance(value, dict) and value.get("__type") == "GeoPoint":
        return GeoPoint(latitude=value.get("latitude"), longitude=value.get("longitude")).to_json()
    raise InvalidGeoPoint(f"expected a cql.GeoPoint(latitude=..., longitude=...), got {describe(value)}")


def _regex_escape(text: Any) -> str:
    if type(text) is not str:
        raise ParameterError(f"expected a string, got {describe(text)}")
    return regex_escape(text)


def _names(keys: Sequence[Any]) -> Tuple[str, ...]:
    if len(keys) == 1 and type(keys[0]) in (list, tuple):
        keys = keys[0]
    return tuple(check_key(getattr(k, "order_key", k)) for k in keys)


def _count(n: Any, what: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_LIMIT:
        raise ParameterError(f"{what} needs a whole number from 0 to {MAX_LIMIT}, got {describe(n)}")
    return int(n)


def _has_near(where: Any) -> bool:
    """Whether a where sorts by distance ($nearSphere on a field, also inside $and/$or)."""
    if isinstance(where, (list, tuple)):
        return any(_has_near(w) for w in where)
    if not isinstance(where, dict):
        return False
    for key, value in where.items():
        if key in ("$and", "$or"):
            if _has_near(value):
                return True
        elif not key.startswith("$") and isinstance(value, dict) and "$nearSphere" in value:
            return True
    return False


class Condition:
    """A where fragment: ``Todo.score > 80`` (cql.Model properties), ``AND(...)``,
    ``OR(...)``; ``Query.filter`` accepts it."""

    __slots__ = ("where",)

    def __init__(self, where: dict):
        self.where = where

    def __repr__(self) -> str:
        return f"Condition({self.where!r})"


def AND(*conditions: Condition) -> Condition:  # noqa: N802 - ndb's name
    return Condition(merge_and([c.where for c in conditions]))


def OR(*conditions: Condition) -> Condition:  # noqa: N802 - ndb's name
    return Condition({"$or": [c.where for c in conditions]})


class CloudQueryResult:
    """``Query.do_cloud_query``'s answer: ``results`` (rows), ``count``, ``class_name``."""

    __slots__ = ("results", "count", "class_name", "result")

    def __init__(self, results: list, count: Optional[int], class_name: str, result: Any):
        self.results, self.count, self.class_name, self.result = results, count, class_name, result

    def __repr__(self) -> str:
        return f"<CloudQueryResult {self.class_name}: {len(self.results)} results, count={self.count}>"


class Query:
    """A query on one class; see the module docstring. ``query_class`` is a
    class name or a cql.Object/cql.Model class."""

    def __init__(self, query_class: Any, *conditions: Condition, keys_only: bool = False,
                 projection: Optional[Sequence[str]] = None, cursor: Optional[str] = None,
                 conn: Optional[Connection] = None):
        if isinstance(query_class, str):
            self._class_name, self._row_class = check_class_name(query_class), None
        elif isinstance(query_class, type) and hasattr(query_class, "rest_class_name"):
            self._class_name, self._row_class = check_class_name(query_class.rest_class_name()), query_class
        else:
            raise InvalidClassName(f"Query() takes a class name or a cql.Object/cql.Model class, got {describe(query_class)}")
        self._conditions: Tuple[dict, ...] = ()
        self._order: Tuple[str, ...] = ()
        self._limit: Optional[int] = None
        self._skip: Optional[int] = None
        self._keys: Tuple[str, ...] = ()
        self._include: Tuple[str, ...] = ()
        self._keys_only = bool(keys_only)
        self._projection = _names(projection) if projection else None
        self._start: Optional[str] = cursor
        self._end: Optional[str] = None
        self._conn = conn
        self._last_cursor: Optional[str] = None  # cursor(): after the last fetch/run of this object
        if conditions:
            self._conditions = tuple(self._condition(c) for c in conditions)

    # -- the one way a query changes: a new query -------------------------------------
    def replace(self, **changes: Any) -> "Query":
        """A copy with some state changed (``conditions``, ``order``, ``limit``,
        ``skip``, ``keys``, ``include``, ``start``, ``end``, ``conn`` ...)."""
        new = copy.copy(self)
        for name, value in changes.items():
            setattr(new, "_" + name, value)
        new._last_cursor = None
        return new

    def _add(self, *fragments: dict) -> "Query":
        return self.replace(conditions=self._conditions + fragments)

    def _op(self, key: str, op: str, value: Any) -> "Query":
        return self._add({check_key(key): {op: value}})

    @staticmethod
    def _condition(c: Any) -> dict:
        if not isinstance(c, Condition):
            raise ParameterError(f"expected a condition such as Todo.score > 80, got {describe(c)}")
        return c.where

    def __call__(self, *conditions: Condition) -> "Query":
        """``Todo.query()`` and ``Todo.query`` read the same (ndb and the SDK)."""
        return self.filter(*conditions) if conditions else self

    # -- App Engine vocabulary -----------------------------------------------------------
    def filter(self, *args: Any) -> "Query":
        """``filter("score >", 80)`` (=, !=, <, <=, >, >=, IN; a bare name is =)
        or ``filter(Todo.score > 80, ...)``."""
        if args and all(isinstance(a, Condition) for a in args):
            return self._add(*(a.where for a in args))
        if len(args) != 2 or not isinstance(args[0], str):
            raise ParameterError("filter() takes 'property operator', value (such as 'score >', 80) "
                                 "or conditions such as Todo.score > 80")
        words = args[0].split()
        if len(words) not in (1, 2) or (len(words) == 2 and words[1].lower() not in _FILTER_OPS):
            raise ParameterError(f"filter({describe(args[0])}, ...): expected 'property operator' with one of "
                                 "=, !=, <, <=, >, >=, IN")
        key = check_key(words[0])
        op = _FILTER_OPS[words[1].lower()] if len(words) == 2 else None
        value = encode_value(args[1])
        if op == "$in" and not isinstance(value, list):
            raise ParameterError(f"filter({describe(args[0])}, ...) needs a list of values, got {describe(args[1])}")
        return self._add({key: value} if op is None else {key: {op: value}})

    def order(self, *keys: Any) -> "Query":
        """Add sort keys: ``order("-score", "title")`` or ``order(-Todo.score)``."""
        added = []
        for key in keys:
            text = getattr(key, "order_key", key)
            name = check_key(text.lstrip("-+") if type(text) is str else text)
            added.append("-" + name if text.startswith("-") else name)
        return self.replace(order=self._order + tuple(added))

    def fetch(self, limit: Optional[int] = None, offset: int = 0, *, keys_only: Optional[bool] = None,
              projection: Optional[Sequence[str]] = None) -> list:
        """Up to ``limit`` rows (default: the query's ``limit()``, else all) after ``offset``."""
        limit = self._limit if limit is None else limit
        if limit is None:
            return list(self.run(offset=offset, keys_only=keys_only, projection=projection))
        objects, position, _ = self._page(_count(limit, "fetch() limit"), None, _count(offset, "offset"),
                                          keys_only, projection)
        self._last_cursor = position.encode()
        return self._rows(objects, keys_only)

    def run(self, limit: Optional[int] = None, offset: int = 0, batch_size: int = DEFAULT_BATCH, *,
            keys_only: Optional[bool] = None, projection: Optional[Sequence[str]] = None) -> Iterator[Any]:
        """Every row (up to ``limit``, default the query's), fetched ``batch_size``
        at a time with keyset cursors."""
        limit = self._limit if limit is None else limit
        remaining = None if limit is None else _count(limit, "run() limit")
        batch = _count(batch_size, "batch_size") or DEFAULT_BATCH
        offset = _count(offset, "offset")
        return self._run(remaining, offset, batch, keys_only, projection)

    def _run(self, remaining: Optional[int], offset: int, batch: int, keys_only: Optional[bool],
             projection: Optional[Sequence[str]]) -> Iterator[Any]:
        start = None
        while remaining is None or remaining > 0:
            size = batch if remaining is None else min(batch, remaining)
            objects, start, _ = self._page(size, start, offset, keys_only, projection)
            offset = 0
            self._last_cursor = start.encode()
            yield from self._rows(objects, keys_only)
            if remaining is not None:
                remaining -= len(objects)
            if len(objects) < size:
                return

    def __iter__(self) -> Iterator[Any]:
        return self.run()

    def fetch_page(self, page_size: int, start_cursor: Optional[str] = None, *,
                   keys_only: Optional[bool] = None, projection: Optional[Sequence[str]] = None
                   ) -> Tuple[list, Optional[str], bool]:
        """(rows, cursor after the last row, whether more rows follow)."""
        size = _count(page_size, "page_size")
        start = None if start_cursor is None else paging.decode(start_cursor, self._paged_order())
        objects, position, more = self._page(size, start, 0, keys_only, projection, probe=True)
        cursor = position.encode()
        self._last_cursor = cursor
        return self._rows(objects, keys_only), cursor, more

    def cursor(self) -> str:
        """The position after the last row of this query's last fetch()/run()."""
        if self._last_cursor is None:
            raise CQLError("cursor() is the position after a fetch() or run() of this query: "
                           "run one first (or use fetch_page)", 102)
        return self._last_cursor

    def with_cursor(self, start_cursor: Optional[str] = None, end_cursor: Optional[str] = None) -> "Query":
        """The rows after ``start_cursor`` and up to ``end_cursor`` (both optional)."""
        order = self._paged_order()
        for c in (start_cursor, end_cursor):
            if c is not None:
                paging.decode(c, order)  # a bad cursor fails here, not at the fetch
        return self.replace(start=start_cursor, end=end_cursor)

    # -- LeanCloud SDK vocabulary: conditions ---------------------------------------------
    def equal_to(self, key: str, value: Any) -> "Query":
        return self._add({check_key(key): encode_value(value)})

    def not_equal_to(self, key: str, value: Any) -> "Query":
        return self._op(key, "$ne", encode_value(value))

    def less_than(self, key: str, value: Any) -> "Query":
        return self._op(key, "$lt", encode_value(value))

    def less_than_or_equal_to(self, key: str, value: Any) -> "Query":
        return self._op(key, "$lte", encode_value(value))

    def greater_than(self, key: str, value: Any) -> "Query":
        return self._op(key, "$gt", encode_value(value))

    def greater_than_or_equal_to(self, key: str, value: Any) -> "Query":
        return self._op(key, "$gte", encode_value(value))

    def contained_in(self, key: str, values: Sequence[Any]) -> "Query":
        return self._op(key, "$in", _values(values))

    def not_contained_in(self, key: str, values: Sequence[Any]) -> "Query":
        return self._op(key, "$nin", _values(values))

    def contains_all(self, key: str, values: Sequence[Any]) -> "Query":
        return self._op(key, "$all", _values(values))

    def exists(self, key: str) -> "Query":
        return self._op(key, "$exists", True)

    def does_not_exist(self, key: str) -> "Query":
        return self._op(key, "$exists", False)

    does_not_exists = does_not_exist  # the guide's spelling

    def startswith(self, key: str, prefix: str) -> "Query":
        return self._op(key, "$regex", "^" + _regex_escape(prefix))

    def endswith(self, key: str, suffix: str) -> "Query":
        return self._op(key, "$regex", _regex_escape(suffix) + "$")

    def contains(self, key: str, text: str) -> "Query":
        """The field holds ``text`` (matched literally, not as a regex)."""
        return self._op(key, "$regex", _regex_escape(text))

    def matched(self, key: str, regex: str, ignore_case: bool = False, multi_line: bool = False) -> "Query":
        if not issubclass(type(regex), str):
            raise ParameterError(f"matched() needs a regular expression string, got {describe(regex)}")
        regex = encode_value(regex)
        options = ("i" if ignore_case else "") + ("m" if multi_line else "")
        return self._add({check_key(key): {"$regex": regex, **({"$options": options} if options else {})}})

    def size_equal_to(self, key: str, size: int) -> "Query":
        return self._op(key, "$size", _count(size, "size_equal_to()"))

    def matches_query(self, key: str, query: "Query") -> "Query":
        return self._op(key, "$inQuery", query.subquery())

    def does_not_match_query(self, key: str, query: "Query") -> "Query":
        return self._op(key, "$notInQuery", query.subquery())

    def matches_key_in_query(self, key: str, query_key: str, query: "Query") -> "Query":
        return self._op(key, "$select", {"query": query.subquery(), "key": check_key(query_key)})

    def does_not_match_key_in_query(self, key: str, query_key: str, query: "Query") -> "Query":
        return self._op(key, "$dontSelect", {"query": query.subquery(), "key": check_key(query_key)})

    def related_to(self, parent: Any, key: str) -> "Query":
        """Objects in ``parent``'s relation ``key`` (``$relatedTo``)."""
        return self._add({"$relatedTo": {"object": encode_value(parent), "key": check_key(key)}})

    def near(self, key: str, point: GeoPoint) -> "Query":
        """Nearest first (the cursor of a near query is an offset: see cql.paging)."""
        return self._op(key, "$nearSphere", _point(point))

    def _within(self, key: str, point: GeoPoint, unit: str, max_distance: float,
                min_distance: Optional[float]) -> "Query":
        spec = {"$nearSphere": _point(point)}
        for bound, distance in (("min", min_distance), ("max", max_distance)):
            if distance is not None:
                if isinstance(distance, bool) or not isinstance(distance, (int, float)) or distance < 0:
                    raise ParameterError(f"a {bound} distance needs a number >= 0, got {describe(distance)}")
                spec[f"${bound}DistanceIn{unit}"] = encode_value(distance)
        return self._add({check_key(key): spec})

    def within_radians(self, key: str, point: GeoPoint, max_distance: float,
                       min_distance: Optional[float] = None) -> "Query":
        return self._within(key, point, "Radians", max_distance, min_distance)

    def within_miles(self, key: str, point: GeoPoint, max_distance: float,
                     min_distance: Optional[float] = None) -> "Query":
        return self._within(key, point, "Miles", max_distance, min_distance)

    def within_kilometers(self, key: str, point: GeoPoint, max_distance: float,
                          min_distance: Optional[float] = None) -> "Query":
        return self._within(key, point, "Kilometers", max_distance, min_distance)

    def within_geo_box(self, key: str, southwest: GeoPoint, northeast: GeoPoint) -> "Query":
        return self._op(key, "$within", {"$box": [_point(southwest), _point(northeast)]})

    @classmethod
    def or_(cls, *queries: "Query") -> "Query":
        return cls._combine("$or", queries)

    @classmethod
    def and_(cls, *queries: "Query") -> "Query":
        return cls._combine("$and", queries)

    @classmethod
    def _combine(cls, op: str, queries: Sequence["Query"]) -> "Query":
        if not queries or not all(isinstance(q, Query) for q in queries):
            raise ParameterError(f"{op[1:]}_() takes one or more queries")
        first = queries[0]
        if any(q.class_name != first.class_name for q in queries):
            raise ParameterError(f"{op[1:]}_() needs queries of one class, got "
                                 f"{', '.join(sorted({q.class_name for q in queries}))}")
        return cls(first._row_class or first.class_name, conn=first._conn)._add({op: [q.where for q in queries]})

    # -- LeanCloud SDK vocabulary: shape of the answer ---------------------------------------
    def ascending(self, key: str) -> "Query":
        return self.replace(order=(check_key(key),))

    def descending(self, key: str) -> "Query":
        return self.replace(order=("-" + check_key(key),))

    def add_ascending(self, key: str) -> "Query":
        return self.replace(order=self._order + (check_key(key),))

    def add_descending(self, key: str) -> "Query":
        return self.replace(order=self._order + ("-" + check_key(key),))

    def limit(self, n: int) -> "Query":
        return self.replace(limit=_count(n, "limit()"))

    def skip(self, n: int) -> "Query":
        return self.replace(skip=_count(n, "skip()"))

    def select(self, *keys: str) -> "Query":
        return self.replace(keys=tuple(dict.fromkeys(self._keys + _names(keys))))

    def include(self, *keys: str) -> "Query":
        return self.replace(include=tuple(dict.fromkeys(self._include + _names(keys))))

    # -- LeanCloud SDK vocabulary: running --------------------------------------------------
    def find(self) -> list:
        """The rows (``limit``, default 100, after ``skip``), as the SDK's find()."""
        return self._rows(self.connection().run(self.plan()).objects, None)

    def first(self) -> Any:
        """The first row; ObjectNotFound (101) when nothing matches (as the SDK)."""
        rows = self._rows(self.connection().run(self.plan(limit=1)).objects, None)
        if not rows:
            raise ObjectNotFound(f"no {self.class_name} object matches the query")
        return rows[0]

    def get(self, object_id: Any = _MISSING) -> Any:
        """``get()``: the first row or None (App Engine); ``get(object_id)``:
        that object, ObjectNotFound (101) when it does not exist (the SDK)."""
        if object_id is _MISSING:
            rows = self.fetch(1)
            return rows[0] if rows else None
        if not isinstance(object_id, str) or not object_id:
            raise ObjectNotFound(f"get() needs an objectId, got {describe(object_id)}")
        find = Find(self.class_name, where={"objectId": object_id}, keys=self._keys or None,
                    include=self._include, limit=1)
        rows = self._rows(self.connection().run(find).objects, False)
        if not rows:
            raise ObjectNotFound(f"object {self.class_name}/{object_id} not found")
        return rows[0]

    def count(self, limit: Optional[int] = None) -> int:
        """How many objects match (at most ``limit`` when given)."""
        where = self._where_between(None)
        n = self.connection().run(Find(self.class_name, where=where, count=True, limit=0)).count or 0
        return n if limit is None else min(n, _count(limit, "count() limit"))

    def scan(self, batch_size: Optional[int] = None, scan_key: Optional[str] = None) -> Iterator[Any]:
        """Every matching object, ``batch_size`` a page, in keyset pages (no skip)."""
        query = self.replace(order=(check_key(scan_key),)) if scan_key else self
        return query.run(limit=self._limit, offset=self._skip or 0, batch_size=batch_size or 1000)

    @classmethod
    def do_cloud_query(cls, cql: str, *pvalues: Any, conn: Optional[Connection] = None) -> CloudQueryResult:
        """Run a CQL statement (the SDK's ``Query.do_cloud_query``): ``.results``
        are rows of the statement's class, ``.count`` its count."""
        from .parser import parse
        conn = conn or default_connection()
        if len(pvalues) == 1 and isinstance(pvalues[0], (list, tuple)):
            statements = parse(cql)  # the SDK also takes the parameters as one list
            if statements and statements[0].param_count == len(pvalues[0]):
                pvalues = tuple(pvalues[0])
        result = conn.execute(cql, *pvalues)
        rows: list = []
        if result.kind != "delete" and result.class_name:
            rows = cls(result.class_name, conn=conn)._rows(result.objects, False)
        return CloudQueryResult(rows, result.count, result.class_name, result)

    # -- plans ----------------------------------------------------------------------
    @property
    def class_name(self) -> str:
        return self._class_name

    @property
    def where(self) -> dict:
        """The where JSON of this query's conditions."""
        if not self._conditions:
            return {}
        return merge_and(list(self._conditions)) if len(self._conditions) > 1 else dict(self._conditions[0])

    def connection(self) -> Connection:
        if self._conn is not None:
            return self._conn
        bound = self._row_class.bound_connection() if self._row_class is not None else None
        return bound if bound is not None else default_connection()

    def subquery(self) -> dict:
        """This query inside another's where (``$inQuery``, ``$select``)."""
        q: dict = {"className": self.class_name, "where": self.where}
        if self._limit is not None:
            q["limit"] = self._limit
        if self._skip is not None:
            q["skip"] = self._skip
        if self._order:
            q["order"] = ",".join(self._order)
        return q

    def plan(self, limit: Any = _MISSING) -> Find:
        """The Find plan ``find()`` runs (with this query's cursors, if any)."""
        cursors = self._start is not None or self._end is not None
        start = paging.decode(self._start, self._paged_order()) if self._start is not None else None
        skip = start.skip if start is not None else self._skip
        return self._find(self._paged_order() if cursors else self._order, self._where_between(start),
                          self._limit if limit is _MISSING else limit, skip or None, None, None)

    def explain(self) -> List[dict]:
        """The requests ``find()`` makes on this query's connection."""
        return self.connection().explain(self.plan())

    def _find(self, order: Tuple[str, ...], where: dict, limit: Optional[int], skip: Optional[int],
              keys_only: Optional[bool], projection: Optional[Sequence[str]]) -> Find:
        keys_only = self._keys_only if keys_only is None else keys_only
        keys = ("objectId",) if keys_only else (_names(projection) if projection else self._projection or self._keys)
        return Find(self.class_name, where=where, keys=tuple(keys) or None,
                    include=() if keys_only else self._include, order=tuple(order), limit=limit, skip=skip)

    def _paged_order(self) -> Tuple[str, ...]:
        return paging.sort_keys(self._order, near=_has_near(self._conditions))

    def _where_between(self, start: Optional[paging.Position]) -> dict:
        """The where with the rows after ``start`` (or this query's start cursor)
        and up to its end cursor."""
        parts = [self.where]
        order = self._paged_order()
        if start is None and self._start is not None:
            start = paging.decode(self._start, order)
        if start is not None:
            parts.append(start.after())
        if self._end is not None:
            parts.append(paging.decode(self._end, order).up_to())
        parts = [p for p in parts if p]
        return merge_and(parts) if len(parts) > 1 else (parts[0] if parts else {})

    def _page(self, size: int, start: Optional[paging.Position], offset: int, keys_only: Optional[bool],
              projection: Optional[Sequence[str]], probe: bool = False
              ) -> Tuple[List[dict], paging.Position, bool]:
        """One page of REST JSON objects after ``start`` (default: this query's
        start cursor, or its skip), the position after it, and whether more follow."""
        order = self._paged_order()
        if start is None:
            start = paging.decode(self._start, order) if self._start is not None \
                else paging.Position(order, None, self._skip or 0)
        start = paging.Position(order, start.values, start.skip + offset)
        find = self._find(order, self._where_between(start), size + (1 if probe else 0), start.skip or None,
                          keys_only, projection)
        objects = self.connection().run(find).objects
        more = len(objects) > size
        objects = objects[:size]
        position = paging.position_after(order, objects[-1], start, len(objects)) if objects else start
        return objects, position, more

    def _rows(self, objects: List[dict], keys_only: Optional[bool]) -> list:
        keys_only = self._keys_only if keys_only is None else keys_only
        conn = self._conn
        if keys_only:
            key_for = getattr(self._row_class, "key_for", None)
            return [o.get("objectId") if key_for is None else key_for(o.get("objectId"), conn) for o in objects]
        if self._row_class is None:
            return [decode(o) for o in objects]
        from_rest = self._row_class.from_rest
        return [from_rest(o, conn) for o in objects]

    def __repr__(self) -> str:
        extra = "".join(f" {name}={value!r}" for name, value in (
            ("order", ",".join(self._order)), ("limit", self._limit), ("skip", self._skip)) if value)
        return f"<cql.Query {self.class_name} where={self.where!r}{extra}>"

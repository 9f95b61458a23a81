"""RestBackend: runs Plans against a Parse Server or a LeanCloud app.

A select is one GET (rows and count together) when the server's dialect can
evaluate it exactly; otherwise the server gets the part it can do and the
client filters/sorts the rest with the embedded engine's matcher, fetching
pages until the limit is met. Writes: one POST, /batch for several rows (at
most 50 per request), PUT/DELETE by objectId, and for any other where the ids
are queried (page by page, ordered by objectId) and written through /batch.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from .. import errors
from ..backend import Backend, option, refuse_unknown_options
from ..plan import Create, Delete, Find, Plan, Update, class_path, in_batches, object_path
from ..result import Result
from . import client as http
from ..engine.ordering import parse_order
from ..names import SYSTEM_FIELDS
from .dialects import Dialect, Lowered, get_dialect, has_near
from .schema import SchemaCache
from .writes import batch_outcomes, lost_write, new_object_ids, objects_to_check, send_with_ids

ALL = 10 ** 12  # "no limit" for internal scans


class RestBackend(Backend):
    """A Parse Server (flavor "parse", URL = API root such as
    http://127.0.0.1:1337/parse) or a LeanCloud app (flavor "leancloud", URL =
    the app's API host; ``/1.1`` is appended). Credentials default to the
    environment: CQL_APP_ID, CQL_REST_KEY, CQL_MASTER_KEY."""

    #: the keyword options this backend takes (cql.connect(url, **options))
    OPTIONS = ("app_id", "rest_key", "master_key", "flavor", "dialect", "cloud_query", "timeout",
               "retries", "page_size", "session_token", "backoff", "regex_timeout", "client_ids")

    def __init__(self, url: str, app_id: Optional[str] = None, rest_key: Optional[str] = None,
                 master_key: Optional[str] = None, flavor: str = "parse", dialect: Optional[str] = None,
                 cloud_query: bool = False, timeout: float = 30.0, retries: int = 3,
                 page_size: Optional[int] = None, session_token: Optional[str] = None,
                 backoff: float = 0.2, regex_timeout: Optional[float] = None, client_ids: bool = False,
                 **options: Any):
        refuse_unknown_options(options, self.OPTIONS, "a REST target")
        for name, value in (("app_id", app_id), ("rest_key", rest_key), ("master_key", master_key),
                            ("dialect", dialect), ("session_token", session_token)):
            option(name, value, "text")
        flavor = option("flavor", flavor, "text", choices=("PARSE", "LEANCLOUD"))
        cloud_query = option("cloud_query", cloud_query, "bool")
        timeout = option("timeout", timeout, "positive")
        retries = option("retries", retries, "whole")
        page_size = option("page_size", page_size, "whole", minimum=1)
        backoff = option("backoff", backoff, "number")
        self.regex_timeout = option("regex_timeout", regex_timeout, "positive")
        #: inserts carry objectIds chosen here (a Parse Server with allowCustomObjectId),
        #: so an insert whose answer was lost can be sent again: what was stored answers 137
        self.client_ids = option("client_ids", client_ids, "bool") is True
        app_id = app_id or os.environ.get("CQL_APP_ID")
        master_key = master_key or (None if rest_key else os.environ.get("CQL_MASTER_KEY"))
        rest_key = rest_key or (None if master_key else os.environ.get("CQL_REST_KEY"))
        flavor = (flavor or "parse").lower()
        self.http = http.RestClient(url, app_id=app_id, rest_key=rest_key, master_key=master_key,
                                    flavor=flavor, timeout=timeout, retries=retries, backoff=backoff,
                                    session_token=session_token)
        self.flavor = flavor
        self.dialect: Dialect = get_dialect(dialect or ("leancloud" if flavor == "leancloud" else "parse-postgres"))
        self.cloud_query = bool(cloud_query)
        self.page_size = int(page_size or 1000)
        if self.page_size < 1:
            raise errors.InterfaceError("page_size must be at least 1")
        fetch = (lambda: self.http.request("GET", "/schemas")) if master_key else None
        self.schema_cache = SchemaCache(fetch)
        what = "LeanCloud app" if flavor == "leancloud" else "Parse Server"
        self.description = f"{what} at {self.http.shown} (dialect {self.dialect.name})"

    def __repr__(self) -> str:
        return f"<RestBackend {self.description}>"

    # -- Backend ----------------------------------------------------------------------
    def run(self, plan: Plan) -> Result:
        """One statement; what the client filters with the matcher shares one
        regex time budget (``regex_timeout``)."""
        from ..engine.regex import statement_budget
        with statement_budget(self.regex_timeout):
            return super().run(plan)

    def explain(self, plan: Plan) -> List[dict]:
        return self.dialect.explain(plan, self.type_of, self.target_of)

    def schema(self) -> Dict[str, Dict[str, str]]:
        return self.schema_cache.all()

    def close(self) -> None:
        self.http.close()

    # -- types ------------------------------------------------------------------------
    def type_of(self, class_name: str, field: str) -> Optional[str]:
        kind = self.schema_cache.field_type(class_name, field)
        if kind is None and not self.schema_cache.from_server and not self.schema_cache.probed(class_name, field):
            # Without the master key: look at one object that has the field.
            answer = self.http.query(class_name, {"where": {field: {"$exists": True}}, "limit": 1})
            self.schema_cache.observe(class_name, answer.get("results", []))
            kind = self.schema_cache.field_type(class_name, field)
        return kind

    def target_of(self, class_name: str, field: str) -> Optional[str]:
        if self.type_of(class_name, field) is None:
            return None
        return self.schema_cache.target_class(class_name, field)

    # -- select -----------------------------------------------------------------------
    def find(self, find: Find) -> Result:
        objects, count, truncated = self.find_objects(find)
        return Result("select", find.class_name, [] if find.count_only else objects, count=count,
                      selected=find.columns, truncated=truncated, count_only=find.count_only)

    def find_objects(self, find: Find, default_limit: bool = True) -> Tuple[List[dict], Optional[int], bool]:
        """(objects, count or None, truncated by the default limit)."""
        lowered = self.dialect.lower(find.class_name, find.where, self.type_of, self.target_of)
        mode, check = self.dialect.order_mode(find.class_name, find.order, lowered, self.type_of)
        if find.count_only:
            mode = "server"  # no rows: their order does not matter
        if mode == "check":
            mode = "server" if self._none_missing(find.class_name, lowered.server, check) else "client"
        implicit = find.limit is None and default_limit
        want = (find.effective_limit + 1) if implicit else (find.limit if find.limit is not None else ALL)
        skip = find.skip or 0
        if find.count_only:
            want = 0
        if lowered.exact and mode == "server":
            objects, count = self._server_find(find, lowered.server, want, skip)
        else:
            objects, count = self._client_find(find, lowered, mode, want, skip)
        truncated = implicit and len(objects) > find.effective_limit
        if truncated:
            objects = objects[:find.effective_limit]
        if find.keys is not None:
            objects = [_trim(o, find.keys) for o in objects]
        return objects, count, truncated

    def _none_missing(self, cls: str, where: dict, fields: Sequence[str]) -> bool:
        """True when no object matching ``where`` lacks one of ``fields`` (so
        Postgres' NULLS LAST cannot reorder anything)."""
        missing = {"$or": [{f: {"$exists": False}} for f in fields]} if len(fields) > 1 \
            else {fields[0]: {"$exists": False}}
        probe = {"$and": [where, missing]} if where else missing
        answer = self.http.query(cls, {"where": probe, "limit": 0, "count": 1})
        return not answer.get("count")

    def _params(self, find: Find, where: dict, keys: bool = True) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        if where:
            params["where"] = where
        if keys and find.keys is not None:
            params["keys"] = ",".join(find.keys)
        if find.include:
            params["include"] = ",".join(find.include)
        return params

    def _server_find(self, find: Find, where: dict, want: int, skip: int) -> Tuple[List[dict], Optional[int]]:
        """The server evaluates everything: one GET, or pages when the limit is
        beyond the page size."""
        params = self._params(find, where)
        count = None
        if find.count:
            params["where"] = self.dialect.count_where(where)
        if want <= self.page_size:
            if find.order:
                params["order"] = ",".join(find.order)
            params["limit"] = want
            if skip:
                params["skip"] = skip
            if find.count:
                params["count"] = 1
            answer = self.http.query(find.class_name, params)
            objects = answer.get("results", [])
            self.schema_cache.observe(find.class_name, objects)
            return objects, (answer.get("count") if find.count else None)
        objects = []
        order = list(find.order)
        near = has_near(where)
        if not near and "objectId" not in [f for f, _ in parse_order(order)]:
            order.append("objectId")  # a total order, so pages neither overlap nor skip
        if order:
            params["order"] = ",".join(order)
        offset = skip
        while len(objects) < want:
            page = dict(params, limit=min(self.page_size, want - len(objects)), skip=offset)
            if find.count and count is None:
                page["count"] = 1
            answer = self.http.query(find.class_name, page)
            if count is None and find.count:
                count = answer.get("count")
            batch = answer.get("results", [])
            self.schema_cache.observe(find.class_name, batch)
            objects.extend(batch)
            offset += len(batch)
            if len(batch) < page["limit"]:
                break
        return objects, count

    def _client_find(self, find: Find, lowered: Lowered, mode: str, want: int, skip: int
                     ) -> Tuple[List[dict], Optional[int]]:
        """The server narrows, the client decides: filter with the matcher, sort
        when the server cannot, count what matched."""
        from ..engine.matcher import compile_where, order_objects
        predicate = compile_where(lowered.residual, _Lookup(self)) if lowered.residual else None
        server_order = list(find.order) if (mode == "server" and find.order) else None
        need_all = mode == "client" or find.count
        stop_at = ALL if need_all else skip + want
        matches: List[dict] = []
        if stop_at > 0:
            for obj in self._scan(find.class_name, lowered.server, server_order, find.include):
                if predicate is None or predicate(_match_view(obj)):
                    matches.append(obj)
                    if len(matches) >= stop_at:
                        break
        count = len(matches) if find.count else None
        if mode == "client" and find.order:
            matches = order_objects(matches, list(find.order))
        return matches[skip:skip + want], count

    def _scan(self, cls: str, where: dict, order: Optional[List[str]], include: Sequence[str] = (),
              keys: Optional[str] = None) -> Iterator[dict]:
        """Every object matching ``where``, page by page: in ``order`` (plus
        objectId) when given, in distance order with $nearSphere, else keyset
        pages on objectId (stable even while objects are written)."""
        base: Dict[str, Any] = {}
        if include:
            base["include"] = ",".join(include)
        if keys:
            base["keys"] = keys
        if order is not None or has_near(where):
            params = dict(base, where=where) if where else dict(base)
            if order is not None:
                if "objectId" not in [f for f, _ in parse_order(order)]:
                    order = order + ["objectId"]
                params["order"] = ",".join(order)
            offset = 0
            while True:
                answer = self.http.query(cls, dict(params, limit=self.page_size, skip=offset))
                batch = answer.get("results", [])
                self.schema_cache.observe(cls, batch)
                yield from batch
                if len(batch) < self.page_size:
                    return
                offset += len(batch)
        last: Optional[str] = None
        while True:
            clause = where
            if last is not None:
                after = {"objectId": {"$gt": last}}
                clause = {"$and": [where, after]} if where else after
            params = dict(base, order="objectId", limit=self.page_size)
            if clause:
                params["where"] = clause
            answer = self.http.query(cls, params)
            batch = answer.get("results", [])
            self.schema_cache.observe(cls, batch)
            yield from batch
            if len(batch) < self.page_size:
                return
            last = batch[-1]["objectId"]

    def matching_ids(self, cls: str, where: dict) -> List[str]:
        """objectIds of every object matching ``where`` (for bulk writes)."""
        return [o["objectId"] for o in self.matching_objects(cls, where)]

    def matching_objects(self, cls: str, where: dict, full: bool = False) -> List[dict]:
        """Every object matching ``where``, keyset-paged on objectId (only the
        ids unless ``full`` or a client-side filter needs the fields)."""
        lowered = self.dialect.lower(cls, where, self.type_of, self.target_of)
        predicate = None
        if lowered.residual:
            from ..engine.matcher import compile_where
            predicate = compile_where(lowered.residual, _Lookup(self))
        keys = None if (predicate is not None or full) else "objectId"
        return [obj for obj in self._scan(cls, lowered.server, None, keys=keys)
                if predicate is None or predicate(_match_view(obj))]

    # -- writes -----------------------------------------------------------------------
    def insert(self, plan: Create) -> Result:
        path = class_path(plan.class_name)
        if self.client_ids:
            return self._insert_with_ids(plan)
        check = (f"Look for them in {plan.class_name} (by a field you set) before inserting them again: "
                 "sending them again may store them twice (client_ids=True makes that safe on a Parse "
                 "Server that allows client-chosen objectIds)")
        try:
            if len(plan.rows) == 1:
                try:
                    answer = self.http.request("POST", path, body=plan.rows[0], retry=False)
                except errors.OutcomeUnknown as exc:
                    raise lost_write(exc, f"the insert into {plan.class_name}", "the row may or may not be "
                                   f"stored. Look for it in {plan.class_name} (by a field you set) before "
                                   "inserting it again: sending it again may store it twice") from None
                return Result("insert", plan.class_name, [_created(answer)])
            outcomes = batch_outcomes(self.http, [{"method": "POST", "path": path, "body": row} for row in plan.rows])
            objects = [_created(o["success"]) for o in outcomes if "success" in o]
            http.raise_batch_failures(outcomes, http.batch_failures(outcomes), "rows", check)
            return Result("insert", plan.class_name, objects)
        finally:
            self.schema_cache.learn(plan.class_name, plan.rows)

    def _insert_with_ids(self, plan: Create) -> Result:
        """Inserts whose objectIds are chosen here: a chunk whose answer was lost
        is sent again as it was; an item the lost attempt stored answers 137
        (that objectId exists), which is its success."""
        cls = plan.class_name
        ids = new_object_ids(len(plan.rows))
        requests_ = [{"method": "POST", "path": class_path(cls), "body": {"objectId": oid, **row}}
                     for row, oid in zip(plan.rows, ids)]
        outcomes: List[dict] = []
        try:
            for chunk in in_batches(requests_):
                outcomes.extend(send_with_ids(self.http, chunk))
        finally:
            self.schema_cache.learn(cls, plan.rows)
        objects = []
        for oid, outcome in zip(ids, outcomes):
            if "success" in outcome:
                objects.append(_created(outcome["success"]))
        http.raise_batch_failures(outcomes, http.batch_failures(outcomes), "rows",
                                  objects_to_check(cls, ids, outcomes, "createdAt"))
        return Result("insert", cls, objects)

    def _pinned(self, method: str, plan, body: Optional[dict]) -> dict:
        """PUT/DELETE one object. Parse Server has no conditional write: the
        object is read and the condition tested with the matcher first (305 when
        not met; not atomic). LeanCloud gets the condition as ``where``."""
        path = object_path(plan.class_name, plan.object_id)
        params = None
        emulate = body is not None and self._emulated_ops(body)
        obj = None
        if (plan.where and self.flavor != "leancloud") or emulate:
            obj = self.http.request("GET", path)
        if plan.where:
            if self.flavor == "leancloud":
                params = {"where": json.dumps(plan.where, separators=(",", ":"))}
            else:
                from ..engine.matcher import compile_where
                if not compile_where(plan.where, _Lookup(self))(_match_view(obj)):
                    raise errors.ConditionNotMet(f"the condition of this write does not hold for "
                                                 f"{plan.class_name} {plan.object_id}: nothing was changed")
        if emulate:
            body = self._apply_array_ops(obj, body, emulate)
        retry = http.put_is_idempotent(body) if body is not None else True
        try:
            return self.http.request(method, path, params, body, retry=retry)
        except errors.OutcomeUnknown as exc:
            what = "delete" if method == "DELETE" else "update"
            again = ("sending it again would apply its op twice" if not retry else "it is safe to run it again")
            look = f"select * from {plan.class_name} where objectId = '{plan.object_id}'"
            raise lost_write(exc, f"the {what} of {plan.class_name} {plan.object_id}",
                           f"it may or may not have been applied: look with {look} ({again})") from None

    def _emulated_ops(self, body: dict) -> List[str]:
        """Fields whose op the dialect computes on the client (Parse/Postgres'
        Add and AddUnique dedupe and reorder the whole array)."""
        ops = self.dialect.client_array_ops
        return [k for k, v in body.items() if isinstance(v, dict) and v.get("__op") in ops]

    @staticmethod
    def _apply_array_ops(obj: dict, body: dict, fields: Sequence[str]) -> dict:
        """The body with those ops replaced by the arrays they produce (as the engine computes them)."""
        from ..engine.ops import apply_update
        new = apply_update(obj, {k: body[k] for k in fields})
        return {k: (new.get(k) if k in fields else v) for k, v in body.items()}

    def _class_exists(self, cls: str, object_id: str) -> bool:
        """Whether the class exists (schema, refreshed once when it says no);
        without the master key, whether the object can be read."""
        known = self.schema_cache.knows_class(cls)
        if known is False:
            self.schema_cache.invalidate()
            known = self.schema_cache.knows_class(cls)
        if known is None:
            try:
                self.http.request("GET", object_path(cls, object_id))
            except errors.ObjectNotFound:
                return False
            return True
        return known

    def update(self, plan: Update) -> Result:
        cls = plan.class_name
        try:
            if plan.pinned:
                answer = self._pinned("PUT", plan, plan.body)
                return Result("update", plan.class_name,
                              [{"objectId": plan.object_id, "updatedAt": answer.get("updatedAt")}])
            emulate = self._emulated_ops(plan.body)
            cls = plan.class_name
            if emulate:
                objs = self.matching_objects(cls, plan.where, full=True)
                ids = [o["objectId"] for o in objs]
                requests_ = [{"method": "PUT", "path": object_path(cls, o["objectId"]),
                              "body": self._apply_array_ops(o, plan.body, emulate)} for o in objs]
            else:
                ids = self.matching_ids(cls, plan.where)
                requests_ = [{"method": "PUT", "path": object_path(cls, i), "body": plan.body} for i in ids]
            outcomes = batch_outcomes(self.http, requests_)
            objects = [{"objectId": i, "updatedAt": o["success"].get("updatedAt")}
                       for i, o in zip(ids, outcomes) if "success" in o]
            http.raise_batch_failures(outcomes, http.batch_failures(outcomes), "updates",
                                      objects_to_check(cls, ids, outcomes, "updatedAt"))
            return Result("update", plan.class_name, objects)
        finally:
            self.schema_cache.learn(plan.class_name, [plan.body])

    def delete(self, plan: Delete) -> Result:
        if plan.pinned:
            if not plan.where and not self._class_exists(plan.class_name, plan.object_id):
                # Parse answers DELETE on a class that does not exist with 200 {}
                raise errors.ObjectNotFound(f"object {plan.class_name}/{plan.object_id} not found")
            try:
                self._pinned("DELETE", plan, None)
            except errors.ObjectNotFound as exc:
                if not getattr(exc, "after_lost", False):
                    raise
                # the first attempt's answer was lost and the retry found nothing: it is gone
                return Result("delete", plan.class_name, rowcount=1, info={
                    "note": f"{plan.class_name} {plan.object_id} is gone: the answer to the first DELETE was "
                            "lost, and the retry found no such object (the first one deleted it, or "
                            "someone else did)"})
            return Result("delete", plan.class_name, rowcount=1)
        ids = self.matching_ids(plan.class_name, plan.where)
        outcomes = batch_outcomes(self.http, [{"method": "DELETE", "path": object_path(plan.class_name, i)} for i in ids])
        http.raise_batch_failures(outcomes, http.batch_failures(outcomes), "deletes",
                                  objects_to_check(plan.class_name, ids, outcomes, None))
        return Result("delete", plan.class_name, rowcount=len(ids))

    def run_each(self, plans: Sequence[Plan]) -> List[Union[Result, errors.CQLError]]:
        """One-row creates and unconditional writes by objectId go through /batch
        (BATCH_SIZE a request, each item's outcome kept); any other plan runs alone."""
        out: List[Union[Result, errors.CQLError]] = []
        pending: List[Tuple[Plan, dict]] = []
        for plan in list(plans) + [None]:  # None flushes the last batch
            request = None if plan is None else self._batch_item(plan)
            if request is not None:
                pending.append((plan, request))
                continue
            for chunk in in_batches(pending):
                try:
                    answers = self.http.batch([r for _, r in chunk])
                except errors.CQLError as exc:
                    out.extend(exc for _ in chunk)
                    continue
                out.extend(_batch_outcome(p, r, a) for (p, r), a in zip(chunk, answers))
            for p, _ in pending:
                if not isinstance(p, Delete):
                    self.schema_cache.learn(p.class_name, list(p.rows) if isinstance(p, Create) else [p.body])
            pending = []
            if plan is not None:
                try:
                    out.append(self.run(plan))
                except errors.CQLError as exc:
                    out.append(exc)
        return out

    def _batch_item(self, plan: Plan) -> Optional[dict]:
        """The /batch request of a plan that needs nothing but one request, else None."""
        if isinstance(plan, Create) and len(plan.rows) == 1 and not self._emulated_ops(plan.rows[0]):
            return {"method": "POST", "path": class_path(plan.class_name), "body": plan.rows[0]}
        if isinstance(plan, (Update, Delete)) and plan.pinned and not plan.where:
            path = object_path(plan.class_name, plan.object_id)
            if isinstance(plan, Delete):
                return {"method": "DELETE", "path": path}
            if not self._emulated_ops(plan.body):
                return {"method": "PUT", "path": path, "body": plan.body}
        return None

    # -- LeanCloud cloudQuery -------------------------------------------------------
    def run_text(self, statement: str, params: Sequence[Any] = ()) -> Optional[Result]:
        """With ``cloud_query=True`` (LeanCloud only): send the CQL text as is to
        /cloudQuery (``cql`` + ``pvalues``). None otherwise: the Connection then
        parses and plans the statement itself."""
        if not self.cloud_query:
            return None
        from ..types import bind
        query: Dict[str, Any] = {"cql": statement}
        if params:
            query["pvalues"] = json.dumps([bind(p) for p in params], separators=(",", ":"),
                                          ensure_ascii=False)
        answer = self.http.request("GET", "/cloudQuery", query)
        words = statement.lstrip().split(None, 1)
        kind = words[0].lower() if words else "select"
        cls = answer.get("className", "")
        objects = answer.get("results", [])
        if kind == "select":
            count = answer.get("count")
            count_only = count is not None and not objects and "count(" in statement.lower().replace(" ", "") \
                and "*," not in statement.replace(" ", "")
            return Result("select", cls, objects, count=count, count_only=count_only)
        if kind == "delete":
            return Result("delete", cls, rowcount=len(objects) or answer.get("count", 0) or 0)
        return Result(kind if kind in ("insert", "update") else "select", cls, objects)


class _Lookup:
    """cql.engine.matcher.Lookup over REST: subqueries and relations evaluated
    on the client are fetched from the server (in full, no default limit)."""

    def __init__(self, backend: RestBackend):
        self.backend = backend

    def find(self, class_name: str, query: dict) -> List[dict]:
        find = Find(class_name, where=query.get("where") or {}, order=tuple(_as_list(query.get("order"))),
                    limit=query.get("limit"), skip=query.get("skip"))
        objects, _, _ = self.backend.find_objects(find, default_limit=False)
        return objects

    def related_ids(self, class_name: str, object_id: str, key: str) -> Set[str]:
        backend = self.backend
        target = backend.schema_cache.target_class(class_name, key)
        if target is None:
            try:
                obj = backend.http.request("GET", object_path(class_name, object_id))
            except errors.ObjectNotFound:
                return set()
            value = obj.get(key)
            if not (isinstance(value, dict) and value.get("__type") == "Relation"):
                return set()
            target = value.get("className")
        where = {"$relatedTo": {"object": {"__type": "Pointer", "className": class_name,
                                           "objectId": object_id}, "key": key}}
        return {o["objectId"] for o in backend._scan(target, where, None, keys="objectId")}


def _as_list(order: Any) -> List[str]:
    if not order:
        return []
    if isinstance(order, str):
        return [order]
    return list(order)


def _batch_outcome(plan: Plan, request: dict, answer: Any) -> Union[Result, errors.CQLError]:
    if not isinstance(answer, dict) or "success" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else None
        return http.server_error(200, error if isinstance(error, dict) else {"error": str(answer)},
                                 request["method"], f"{request['path']} in /batch")
    success = answer["success"]
    if isinstance(plan, Create):
        return Result("insert", plan.class_name, [_created(success)])
    if isinstance(plan, Update):
        return Result("update", plan.class_name, [{"objectId": plan.object_id, "updatedAt": success.get("updatedAt")}])
    return Result("delete", plan.class_name, rowcount=1)


def _created(answer: dict) -> dict:
    return {"objectId": answer.get("objectId"), "createdAt": answer.get("createdAt")}


def _trim(obj: dict, keys: Sequence[str]) -> dict:
    """Only the asked-for fields (plus objectId/createdAt/updatedAt), as the
    engine returns them (Parse adds e.g. Relation fields on its own)."""
    wanted = set(SYSTEM_FIELDS) | {k.split(".", 1)[0] for k in keys}
    if all(k in wanted for k in obj):
        return obj
    return {k: v for k, v in obj.items() if k in wanted}


def _match_view(obj: dict) -> dict:
    """Included objects back to pointers, so the matcher compares what it would
    compare in the engine."""
    out = None
    for key, value in obj.items():
        if isinstance(value, dict) and value.get("__type") == "Object":
            out = out or dict(obj)
            out[key] = _pointer(value)
        elif isinstance(value, list) and any(isinstance(v, dict) and v.get("__type") == "Object" for v in value):
            out = out or dict(obj)
            out[key] = [_pointer(v) if isinstance(v, dict) and v.get("__type") == "Object" else v for v in value]
    return out or obj


def _pointer(value: dict) -> dict:
    return {"__type": "Pointer", "className": value.get("className"), "objectId": value.get("objectId")}

"""A Parse Server or a LeanCloud app as one end of a copy.

Reads: the schema from /schemas (master key); objects in objectId pages
(LeanCloud: its scan API, resumed with a fresh scan when a cursor expires);
relation rows from Parse's _Join tables (else $relatedTo per owner).
Writes: classes and fields through /schemas; objects through /batch, a few
requests in flight, each chunk an objectId-keyed upsert (what exists is read,
what is missing created, what differs deleted and created again, which keeps
createdAt/updatedAt exact where an update would not), so a chunk whose answer
was lost is simply retried. What the server cannot keep is found out before
anything is written (``limits``), by probes that write nothing. A server that
assigns its own objectIds gets the writers of newids.py (``--accept new-ids``).
"""
from __future__ import annotations

import secrets
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple
from urllib.parse import quote

from .. import errors
from ..names import DATE_FIELDS
from .canonical import MARKER, USER_SECRETS, Rules, dumps, same
from .endpoints import (SYSTEM, ClassWriter, and_where, Endpoint, Findings, Limit, RelationRow, Schema, Written,
                        batch_code, batch_text, keyset_pages, owner_chunks, parse_spec, parse_type,
                        require_owners, with_retries)
from .newids import CreateWriter, IdMap, LinkWriter

# Parse Server's own classes; other names starting with "_" cannot be created there
PARSE_SYSTEM_CLASSES = ("_User", "_Installation", "_Role", "_Session", "_Product", "_PushStatus",
                        "_JobStatus", "_JobSchedule", "_Audience", "_Idempotency")


class RestEndpoint(Endpoint):
    """A Parse Server (flavor "parse") or a LeanCloud app ("leancloud"); see the module doc."""

    def __init__(self, backend: Any, maintenance_key: Optional[str] = None, workers: int = 4,
                 owned: bool = True):
        self.backend = backend    # a cql.rest.RestBackend (closed with the endpoint when ``owned``)
        self.maintenance_key = maintenance_key
        self.http = backend.http
        self.flavor = self.kind = backend.flavor
        self.shown = self.http.shown
        self.page_size = backend.page_size
        self.workers = max(1, int(workers))
        self._schema_raw: Optional[Dict[str, dict]] = None
        self._writer_http = None
        self.keeps_ids: Optional[bool] = None
        self.keeps_times: Optional[bool] = None
        self._id_map: Optional[IdMap] = None
        self._owned = owned

    @classmethod
    def connect(cls, url: str, options: Dict[str, Any], workers: int = 4) -> "RestEndpoint":
        """An endpoint on a new connection (options: RestBackend's, and maintenance_key)."""
        from ..rest import RestBackend
        options = dict(options)
        maintenance_key = options.pop("maintenance_key", None)
        return cls(RestBackend(url, **options), maintenance_key, workers)

    # -- reading ----------------------------------------------------------------------
    def _need_master(self, what: str) -> None:
        if not self.http.has_master:
            raise errors.CQLError(f"{what} {self.shown} needs its master key (for a source: "
                                  "--source-master-key or CQL_SOURCE_MASTER_KEY; for a target: "
                                  "--target-master-key or CQL_TARGET_MASTER_KEY)", 119)

    def raw_schema(self, refresh: bool = False) -> Dict[str, dict]:
        if self._schema_raw is None or refresh:
            self._need_master("reading the classes of")
            answer = self.http.request("GET", "/schemas")
            self._schema_raw = {e["className"]: e.get("fields") or {} for e in answer.get("results", [])
                                if isinstance(e, dict) and isinstance(e.get("className"), str)}
        return self._schema_raw

    def classes(self) -> List[str]:
        return sorted(self.raw_schema())

    def schema(self) -> Schema:
        out: Schema = {}
        for cls, fields in self.raw_schema().items():
            out[cls] = {}
            for name, spec in fields.items():
                kind = parse_type(spec)
                if kind is not None and name not in SYSTEM:
                    out[cls][name] = kind
        return out

    def count(self, cls: str, where: Optional[dict]) -> Optional[int]:
        from ..plan import Find
        return self.backend.run(Find(cls, where=where or {}, count=True, limit=0)).count

    def pages(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        self._need_master("reading every object of")
        if self.flavor == "leancloud":
            yield from self.scan(cls, where)
            return
        yield from keyset_pages(lambda f: self.backend.run(f).objects, cls, where, self.page_size)

    def scan(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        """LeanCloud's scan API: objectId order, ``cursor`` until null. An
        expired cursor (it lives 10 minutes) restarts a fresh scan after the
        last objectId seen, so nothing is read twice or missed."""
        path = f"/scan/classes/{quote(cls, safe='')}"
        limit = min(self.page_size, 1000)
        cursor: Optional[str] = None
        last: Optional[str] = None
        while True:
            params: Dict[str, Any] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            else:
                clause = where if last is None else and_where(where, {"objectId": {"$gt": last}})
                if clause:
                    params["where"] = dumps(clause)
            try:
                answer = self.http.request("GET", path, params)
            except errors.ServerError as exc:
                if cursor is None or getattr(exc, "http_status", 0) in (401, 403):
                    raise
                cursor = None  # expired (or otherwise refused): start again after `last`
                continue
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list):
                raise errors.ServerError(f"{self.shown} answered GET {path} with something that is not a "
                                         "scan answer", 1)
            if results:
                last = results[-1].get("objectId", last)
                yield results
            cursor = answer.get("cursor")
            if not cursor:
                return

    def relations(self, cls: str) -> Iterator[RelationRow]:
        fields = self.raw_schema().get(cls, {})
        keys = sorted(k for k, spec in fields.items() if isinstance(spec, dict) and spec.get("type") == "Relation")
        if not keys:
            return
        for page in self.pages(cls, None):
            owners = [o["objectId"] for o in page]
            for start in range(0, len(owners), 100):
                chunk = owners[start:start + 100]
                for key in keys:
                    target = fields[key].get("targetClass")
                    for owner, related in sorted(self.join_rows(cls, key, target, chunk)):
                        yield owner, key, target, related

    def join_rows(self, cls: str, key: str, target: str, owners: Sequence[str]) -> Iterator[Tuple[str, str]]:
        """(owningId, relatedId) of these owners: one read of Parse's
        _Join:key:Class table (it has no objectId and ignores ``order``, so it
        cannot be paged); when the answer may be cut at the limit, or the table
        cannot be read (LeanCloud), $relatedTo queries per owner instead."""
        limit = min(self.page_size, 1000)
        try:
            rows = self.http.query(f"_Join:{key}:{cls}", {"where": {"owningId": {"$in": list(owners)}},
                                                           "limit": limit}).get("results", [])
        except errors.ServerError:
            rows = None
        if rows is not None and len(rows) < limit:
            for row in rows:
                yield row.get("owningId"), row.get("relatedId")
            return
        for owner in owners:
            where = {"$relatedTo": {"object": {"__type": "Pointer", "className": cls, "objectId": owner},
                                    "key": key}}
            for related in keyset_pages(lambda f: self.backend.run(f).objects, target, where, limit):
                for r in related:
                    yield owner, r["objectId"]

    def get_objects(self, cls: str, ids: Sequence[str]) -> Dict[str, dict]:
        out: Dict[str, dict] = {}
        for start in range(0, len(ids), 100):
            chunk = list(ids[start:start + 100])
            answer = self.http.query(cls, {"where": {"objectId": {"$in": chunk}}, "limit": len(chunk)})
            out.update((o["objectId"], o) for o in answer.get("results", []))
        return out

    # -- writing ----------------------------------------------------------------------
    def probe(self) -> None:
        """Find out, writing nothing, whether the server keeps client objectIds
        and honours the maintenance key."""
        if self.keeps_ids is not None:
            return
        try:  # an invalid class name fails after the objectId check, before any write
            self.http.request("POST", "/classes/_CqlCopyProbe", body={"objectId": "cqlprobe0000"}, retry=False)
            self.keeps_ids = True  # pragma: no cover (a server that created it)
        except errors.ServerError as exc:
            self.keeps_ids = not (exc.code == 105 and "objectId" in str(getattr(exc, "server_text", "")))
        self.keeps_times = False
        if self.maintenance_key:
            # With a valid maintenance key the request is a maintenance one, which
            # may not read /schemas; with a wrong key (or none configured) the
            # server falls back to the master key.
            try:
                self.maintenance_http().request("GET", "/schemas/_User")
            except errors.ServerError as exc:
                self.keeps_times = getattr(exc, "http_status", 0) == 403 and "permission" in str(exc).lower()

    def maintenance_http(self):
        """A client whose requests carry the maintenance key (object writes
        only: a maintenance request may not use /schemas)."""
        if self._writer_http is None:
            self._writer_http = self.http.derived({"X-Parse-Maintenance-Key": str(self.maintenance_key)})
        return self._writer_http

    def limits(self, classes: Sequence[str], schema: Schema, findings: Findings,
               accepted: FrozenSet[str] = frozenset()) -> List[Limit]:
        out: List[Limit] = []
        if not self.http.has_master:
            return [Limit(None, f"copying into {self.shown} needs its master key "
                                "(--target-master-key or CQL_TARGET_MASTER_KEY)")]
        self.probe()
        if not self.keeps_ids:
            out.append(Limit("new-ids", f"{self.shown} does not accept objectIds chosen by the client, and a "
                                        "copy keeps every objectId: start Parse Server with allowCustomObjectId: "
                                        "true (PARSE_SERVER_ALLOW_CUSTOM_OBJECT_ID=1) to keep them, or let it "
                                        "assign new ones: every Pointer, relation row and ACL user entry is then "
                                        f"rewritten to the new ids, each object keeps its old id in {MARKER}, "
                                        "and ids your code stored elsewhere (in strings, in other systems) must "
                                        f"be mapped through {MARKER}"))
            if self.keeps_times and "new-ids" in accepted:
                out.append(Limit("timestamps", "with new objectIds, objects naming other objects (pointers, "
                                               "relation rows, ACL user entries) are updated once every new id "
                                               f"is known, and {self.shown} then sets their updatedAt"))
            taken = [c for c in classes if MARKER in schema.get(c, {})]
            if taken:
                out.append(Limit(None, f"{', '.join(taken[:5])} already hold{'s' if len(taken) == 1 else ''} a "
                                       f"field {MARKER}, which a copy with new objectIds writes the source's "
                                       "objectIds into: rename that field in the source first"))
        if not self.keeps_times:
            why = ("the maintenance key given was not accepted (is it the server's maintenanceKey, and this "
                   "machine in maintenanceKeyIps?)" if self.maintenance_key else
                   "give its maintenance key (--target-maintenance-key or CQL_TARGET_MAINTENANCE_KEY; Parse "
                   "Server option maintenanceKey) to keep them")
            out.append(Limit("timestamps", f"{self.shown} sets createdAt/updatedAt itself: {why}"))
        for cls in classes:
            if cls.startswith("_") and cls not in PARSE_SYSTEM_CLASSES:
                out.append(Limit(None, f"class {cls} cannot be created on {self.shown} (names starting with _ "
                                       f"are reserved for Parse Server's own classes): copy it under another "
                                       f"name with --rename {cls}=NewName, or leave it out with --exclude {cls}"))
        users = findings.counts.get("_User") if "_User" in classes else 0
        if "_User" in classes and users != 0:
            if findings.user_secrets is None or findings.user_secrets:
                out.append(Limit("passwords", f"_User: {_users(findings.user_secrets)} with LeanCloud password "
                                              "hashes (password, salt) or session tokens: Parse Server stores "
                                              "bcrypt and accepts no hash over REST, and these are never copied "
                                              "into fields clients could read; each user is created with a "
                                              "random password and must reset it (requestPasswordReset)"))
            if findings.auth_data is None or findings.auth_data:
                out.append(Limit("auth-data", f"_User: {_users(findings.auth_data)} with authData: Parse Server "
                                              "re-validates it with each provider's auth adapter when it creates "
                                              "a user, which fails for providers it is not configured for; "
                                              "accepted, authData is left out"))
            if findings.acl_without_self is None or findings.acl_without_self:
                out.append(Limit("user-acl", f"_User: {_users(findings.acl_without_self)} whose ACL does not "
                                             "give them read/write on their own object: Parse Server adds it "
                                             "when it creates a user"))
        if findings.file_fields:
            out.append(Limit("files", f"File values ({', '.join(findings.file_fields[:5])}"
                                      f"{', ...' if len(findings.file_fields) > 5 else ''}) keep only the file "
                                      f"name on {self.shown} (the url becomes its own files URL) and file "
                                      "contents are not copied: download them from the url in each value "
                                      "(or the _File rows) before LeanCloud stops"))
        if findings.nulls:
            out.append(Limit("nulls", f"fields holding null in {findings.nulls} object"
                                      f"{'' if findings.nulls == 1 else 's'} (e.g. {findings.null_example}): "
                                      "Parse Server on PostgreSQL does not keep them; they are left out"))
        target = self.schema() if self.http.has_master else {}
        for cls in classes:
            for name, kind in sorted(schema.get(cls, {}).items()):
                have = target.get(cls, {}).get(name)
                if have is not None and have != kind and not (cls == "_User" and name in USER_SECRETS):
                    out.append(Limit(None, f"{cls}.{name} is {kind} in the source but {have} on {self.shown}"))
        return out

    def rules(self, accepted: Set[str], rename: Dict[str, str]) -> Rules:
        return Rules(frozenset(accepted), True, dict(rename))

    def assigns_ids(self) -> bool:
        self.probe()
        return not self.keeps_ids

    def prepare(self, classes: Sequence[str], schema: Schema) -> None:
        existing = self.raw_schema(refresh=True)
        marker = self.assigns_ids()
        for cls in classes:
            fields = {MARKER: {"type": "String"}} if marker and MARKER not in existing.get(cls, {}) else {}
            for name, kind in schema.get(cls, {}).items():
                if name in SYSTEM or (cls == "_User" and name in USER_SECRETS):
                    continue
                if cls not in existing or name not in existing[cls]:
                    fields[name] = parse_spec(kind)
            if cls not in existing:
                self.http.request("POST", f"/schemas/{cls}", body={"className": cls, "fields": fields})
            elif fields:
                self.http.request("PUT", f"/schemas/{cls}", body={"className": cls, "fields": fields})
            if marker:  # the marker is queried for every chunk written (and Parse Server keeps indexes)
                try:
                    self.http.request("PUT", f"/schemas/{cls}", body={
                        "className": cls, "indexes": {f"{MARKER}_1": {MARKER: 1}}})
                except errors.ServerError:
                    pass  # there already (or not supported): lookups still work, more slowly
        self.raw_schema(refresh=True)
        self.backend.schema_cache.invalidate()

    def writer(self, cls: str, rules: Rules) -> ClassWriter:
        self.probe()
        if not self.keeps_ids:
            return CreateWriter(_RestWriter(self, cls, rules), self.id_map())
        return _RestWriter(self, cls, rules)

    def link_writer(self, cls: str, rules: Rules) -> ClassWriter:
        return LinkWriter(_RestWriter(self, cls, rules), self.id_map())

    def notes(self) -> List[str]:
        return self._id_map.notes() if self._id_map is not None else []

    def id_map(self) -> IdMap:
        """The ids this copy has learnt (shared by its writers)."""
        if self._id_map is None:
            self._id_map = IdMap(self.http, self.marked)
        return self._id_map

    def marked(self, cls: str) -> bool:
        """Whether ``cls`` has the field of objects copied with new ids."""
        return MARKER in self.raw_schema().get(cls, {})

    def close(self) -> None:
        if self._writer_http is not None:
            self._writer_http.close()
        if self._owned:
            self.backend.close()


class _RestWriter(ClassWriter):
    chunk = 50   # one /batch per chunk (BATCH_SIZE)

    def __init__(self, endpoint: RestEndpoint, cls: str, rules: Rules):
        self.ep = endpoint
        self.cls = cls
        self.rules = rules
        self.parallel = endpoint.workers
        self.http = endpoint.maintenance_http() if endpoint.keeps_times else endpoint.http
        self.relation_keys = [(k, spec.get("targetClass")) for k, spec in endpoint.raw_schema().get(cls, {}).items()
                              if isinstance(spec, dict) and spec.get("type") == "Relation"]
        # An empty class: create first, and read only what turns out to exist
        # already (code 137); otherwise read what exists first.
        self.fresh = endpoint.count(cls, None) == 0

    def body(self, obj: dict, rows: Sequence[Tuple[str, str, str]]) -> dict:
        cls, accepted = self.cls, self.rules.accepted
        body: Dict[str, Any] = {}
        for key, value in obj.items():
            if key in DATE_FIELDS:
                if self.ep.keeps_times and isinstance(value, str):
                    body[key] = {"__type": "Date", "iso": value}
                elif self.ep.keeps_times and isinstance(value, dict):
                    body[key] = value
                continue
            if value is None or (value.__class__ is dict and value.get("__type") == "Relation"):
                continue
            if cls == "_User" and (key in USER_SECRETS or (key == "authData" and "auth-data" in accepted)):
                continue
            body[key] = value
        if cls == "_User":
            body["password"] = secrets.token_urlsafe(32)  # never known to anyone: reset to log in
        by_key: Dict[str, list] = {}
        for key, tc, ti in rows:
            by_key.setdefault(key, []).append({"__type": "Pointer", "className": tc, "objectId": ti})
        for key, pointers in by_key.items():
            body[key] = {"__op": "AddRelation", "objects": pointers}
        return body

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        # the upsert reads what exists first: a retry never duplicates
        return with_retries(lambda attempt: self._upsert(objects, relations,
                                                         optimistic=self.fresh and attempt == 0))

    def _existing(self, ids: List[str]) -> Tuple[Dict[str, dict], Dict[str, Set[Tuple[str, str]]]]:
        found = self.ep.get_objects(self.cls, ids)
        rows: Dict[str, Set[Tuple[str, str]]] = {}
        owners = [i for i in ids if i in found]
        if owners:
            for key, target in self.relation_keys:
                for owner, related in self.ep.join_rows(self.cls, key, target, owners):
                    rows.setdefault(owner, set()).add((key, related))
        return found, rows

    def _upsert(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]],
                force: bool = False, optimistic: bool = False) -> Written:
        """One chunk: read what exists, create what is missing, delete and
        re-create what differs (``force``: re-create even what is equal;
        ``optimistic``: create without reading first)."""
        cls = self.cls
        latest: Dict[str, dict] = {}
        for obj in objects:
            latest[obj["objectId"]] = obj
        ids = list(latest)
        found, found_rows = ({}, {}) if optimistic else self._existing(ids)
        out = Written()
        creates, deletes = [], []
        for oid in ids:
            obj = latest[oid]
            rows = relations.get(oid, ())
            old = found.get(oid)
            if old is not None:
                if same(old, obj, cls, self.rules) and not force and all((k, ti) in found_rows.get(oid, ()) for k, _tc, ti in rows):
                    out.unchanged += 1
                    continue
                deletes.append(oid)  # (a delete leaves the owner's _Join rows in place)
            creates.append(self.body(obj, rows))
        path = f"/classes/{cls}"
        if deletes:
            outcomes = self.http.batch([{"method": "DELETE", "path": f"{path}/{quote(i, safe='')}"}
                                        for i in deletes], retry=True)
            for oid, item in zip(deletes, outcomes):
                if "success" not in item and batch_code(item) != 101:
                    out.failures.append((oid, batch_code(item), batch_text(item)))
        if creates:
            outcomes = self.http.batch([{"method": "POST", "path": path, "body": b} for b in creates])
            for body, item in zip(creates, outcomes):
                oid = body["objectId"]
                if "success" in item:
                    if oid in found:
                        out.replaced += 1
                    else:
                        out.inserted += 1
                elif batch_code(item) == 137 and oid not in found:
                    # created by an earlier attempt whose answer was lost: compare again
                    again = self._upsert([latest[oid]], {oid: relations.get(oid, [])})
                    out.add(again)
                else:
                    out.failures.append((oid, batch_code(item), batch_text(item)))
        return out

    def write_relations(self, rows: List[RelationRow]) -> int:
        """Rows whose owner was not in the objects copied: the owner is read
        from the target and re-created with them (an AddRelation would change
        its updatedAt)."""
        added = 0
        for by_owner in owner_chunks(rows, self.chunk):
            found, found_rows = self._existing(list(by_owner))
            require_owners(self.cls, by_owner, found)
            todo = {o: r for o, r in ((o, [x for x in by_owner[o] if (x[0], x[2]) not in found_rows.get(o, ())])
                                      for o in by_owner) if r}
            if todo:
                written = self._upsert([found[o] for o in todo], todo, force=True)
                if written.failures:
                    oid, code, text = written.failures[0]
                    raise errors.ServerError(f"{self.cls} {oid}: could not add relation rows: {text}", code)
                added += sum(len(r) for r in todo.values())
        return added


def _users(n: Optional[int]) -> str:
    """'1 user', '3 users', 'some users' (not known)."""
    return "some users" if n is None else f"{n} user{'' if n == 1 else 's'}"


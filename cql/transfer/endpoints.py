"""The two ends of a copy: where objects come from and where they go.

An Endpoint reads (classes, schema, objects in pages, relation rows) and
writes (what it cannot keep, schema, objectId-keyed upserts). Kinds:
``EngineEndpoint`` here (an embedded database file), ``ExportEndpoint``
(exports.py: a LeanCloud export archive/folder/file; written as a folder or
archive of JSON Lines) and ``RestEndpoint`` (server.py: a Parse Server or a
LeanCloud app). targets.py picks one for a target string.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from .. import errors
from ..names import SYSTEM_FIELDS
from .canonical import USER_SECRETS, Rules, canonical_acl

PAGE = 1000                 # objects per read
RelationRow = Tuple[str, str, str, str]   # (owner id, key, target class, target id)
Schema = Dict[str, Dict[str, str]]        # {class: {field: type}} with Pointer<C>/Relation<C>
SYSTEM = (*SYSTEM_FIELDS, "ACL")          # never a schema field of its own


@dataclass
class Findings:
    """What the objects to copy hold that some targets cannot keep (None: not known
    without reading everything)."""
    counts: Dict[str, Optional[int]] = field(default_factory=dict)
    nulls: Optional[int] = None                # objects with a field holding null
    null_example: str = ""
    user_secrets: Optional[int] = None         # _User rows with password/salt/sessionToken
    auth_data: Optional[int] = None            # _User rows with authData
    acl_without_self: Optional[int] = None     # _User rows whose ACL lacks read+write for the user
    file_fields: List[str] = field(default_factory=list)   # "Class.field" holding File values

    def observe(self, cls: str, obj: dict) -> None:
        """Count one object (each object once) and what it holds."""
        self.counts[cls] = (self.counts.get(cls) or 0) + 1
        for key, value in obj.items():
            if value is None:
                self.nulls = (self.nulls or 0) + 1
                self.null_example = self.null_example or f"{cls} {obj.get('objectId')} {key}"
                break
        if cls == "_User":
            oid = obj.get("objectId")
            if any(k in obj for k in USER_SECRETS):
                self.user_secrets = (self.user_secrets or 0) + 1
            if obj.get("authData"):
                self.auth_data = (self.auth_data or 0) + 1
            acl = obj.get("ACL")
            own = canonical_acl(acl).get(oid) if isinstance(acl, dict) else None
            if own != {"read": True, "write": True}:
                self.acl_without_self = (self.acl_without_self or 0) + 1

    @classmethod
    def of_pages(cls, endpoint: "Endpoint", classes: Sequence[str], schema: "Schema",
                 where: Dict[str, dict]) -> "Findings":
        """Findings by reading every object once (a local source)."""
        found = cls(nulls=0, user_secrets=0, auth_data=0, acl_without_self=0,
                    file_fields=file_fields(classes, schema))
        for c in classes:
            found.counts[c] = 0
            for page in endpoint.pages(c, where.get(c)):
                for obj in page:
                    found.observe(c, obj)
        return found


@dataclass
class Limit:
    """Something a target cannot keep. ``loss`` names the ``--accept`` that
    lets the copy go on; None means it must be fixed first."""
    loss: Optional[str]
    message: str


@dataclass
class Written:
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    failures: List[Tuple[str, int, str]] = field(default_factory=list)   # (objectId, code, message)

    def add(self, other: "Written") -> None:
        self.inserted += other.inserted
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.failures.extend(other.failures)


class Endpoint:
    """One end of a copy. ``shown`` is safe to print (no keys)."""

    kind = ""
    shown = ""

    # -- reading --------------------------------------------------------------------
    def classes(self) -> List[str]:
        raise NotImplementedError

    def schema(self) -> Schema:
        """{class: {field: type}} without objectId/createdAt/updatedAt/ACL."""
        raise NotImplementedError

    def count(self, cls: str, where: Optional[dict]) -> Optional[int]:
        return None

    def pages(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        """Every object of ``cls`` matching ``where``, a page at a time."""
        raise NotImplementedError

    def relations(self, cls: str) -> Iterator[RelationRow]:
        raise NotImplementedError

    def get_objects(self, cls: str, ids: Sequence[str]) -> Dict[str, dict]:
        raise NotImplementedError

    def findings(self, classes: Sequence[str], schema: Schema, where: Dict[str, dict]) -> Findings:
        """Found by count queries (None where the source cannot answer one)."""
        found = Findings(file_fields=file_fields(classes, schema))
        for cls in classes:
            found.counts[cls] = self.count(cls, where.get(cls))
        if "_User" in classes:
            user_where = where.get("_User")
            fields = schema.get("_User", {})
            secret = [f for f in USER_SECRETS if f in fields]
            found.user_secrets = self._count_or_none("_User", and_where(user_where, {"$or": [
                {f: {"$exists": True}} for f in secret]})) if secret else 0
            found.auth_data = self._count_or_none("_User", and_where(user_where, {"authData": {"$exists": True}})) \
                if "authData" in fields else 0
        return found

    def _count_or_none(self, cls: str, where: dict) -> Optional[int]:
        try:
            return self.count(cls, where)
        except errors.ServerError:
            return None

    # -- writing --------------------------------------------------------------------
    def limits(self, classes: Sequence[str], schema: Schema, findings: Findings,
               accepted: FrozenSet[str] = frozenset()) -> List[Limit]:
        """What this target cannot keep of these classes (``classes``/``schema``
        already renamed to the target's names; ``accepted``: the losses
        accepted so far, for what follows from one of them)."""
        return []

    def assigns_ids(self) -> bool:
        """Whether this target gives copied objects objectIds of its own (see
        newids.py): a copy then has a second pass (``link_writer``)."""
        return False

    def rules(self, accepted: Set[str], rename: Dict[str, str]) -> Rules:
        """How objects copied here compare with their source."""
        return Rules(frozenset(accepted), False, dict(rename))

    def prepare(self, classes: Sequence[str], schema: Schema) -> None:
        """Create classes and fields (before any object is written)."""

    def writer(self, cls: str, rules: Rules) -> "ClassWriter":
        raise NotImplementedError(f"{self.shown} cannot be written to")

    def link_writer(self, cls: str, rules: Rules) -> "ClassWriter":
        """The second pass of a copy into a target that assigns ids."""
        raise NotImplementedError(f"{self.shown} keeps objectIds")

    def finish(self) -> None:
        """Called once every class was written (an export is put in place here)."""

    def notes(self) -> List[str]:
        """What the copy's report should say about how it was written."""
        return []

    def close(self) -> None:
        pass


class ClassWriter:
    """Writes the objects of one class; ``write`` may be called from several
    threads when ``parallel`` > 1."""

    parallel = 1
    chunk = 2000

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        """Upsert ``objects`` (with the relation rows of their owners, {owner
        id: [(key, target class, target id)]})."""
        raise NotImplementedError

    def write_relations(self, rows: List[RelationRow]) -> int:
        """Relation rows of owners not written in this copy; the number added."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def with_retries(attempt: Callable[[int], Written], tries: int = 5) -> Written:
    """``attempt(n)`` (n = 0, 1, ...) until it is not stopped by a transient
    server or network failure; each attempt must read what exists first, so
    that repeating one never writes anything twice."""
    n, delay = 0, 0.5
    while True:
        try:
            return attempt(n)
        except (errors.ConnectionFailed, errors.ServerError) as exc:
            status = getattr(exc, "http_status", None)
            transient = isinstance(exc, errors.ConnectionFailed) or status in (429, 500, 502, 503, 504)
            n += 1
            if not transient or n >= tries:
                raise
            time.sleep(delay)
            delay *= 2


def owner_chunks(rows: Sequence[RelationRow], size: int) -> Iterator[Dict[str, List[Tuple[str, str, str]]]]:
    """Relation rows as {owner id: [(key, target class, target id)]}, ``size`` owners at a time."""
    by_owner: Dict[str, List[Tuple[str, str, str]]] = {}
    for owner, key, tc, ti in rows:
        by_owner.setdefault(owner, []).append((key, tc, ti))
    owners = list(by_owner)
    for start in range(0, len(owners), size):
        yield {o: by_owner[o] for o in owners[start:start + size]}


def require_owners(cls: str, owners: Iterable[str], found: Mapping[str, Any]) -> None:
    """Relation rows of owners neither copied nor on the target cannot be written."""
    missing = [o for o in owners if o not in found]
    if missing:
        raise errors.ObjectNotFound(f"{cls}: relation rows name owners that exist neither in the source nor "
                                    f"on the target: {', '.join(missing[:5])}")


def batch_code(item: Any) -> int:
    """The error code of a /batch item's outcome (1 when it has none)."""
    err = item.get("error") if isinstance(item, dict) else None
    return err.get("code", 1) if isinstance(err, dict) else 1


def batch_text(item: Any) -> str:
    """The error message of a /batch item's outcome."""
    err = item.get("error") if isinstance(item, dict) else None
    if isinstance(err, dict):
        return str(err.get("error") or err.get("message") or err)
    return str(item)[:200]


def and_where(a: Optional[dict], b: dict) -> dict:
    """``a`` and ``b`` (``b`` alone when ``a`` is empty)."""
    return {"$and": [a, b]} if a else b


def file_fields(classes: Sequence[str], schema: Schema) -> List[str]:
    return [f"{c}.{f}" for c in classes for f, t in schema.get(c, {}).items() if t == "File"]


def parse_type(spec: Any) -> Optional[str]:
    """A /schemas field spec as a type name (Pointer<C>, Relation<C>, ...); None for ACL."""
    if not isinstance(spec, dict):
        return str(spec)
    kind = spec.get("type", "Object")
    if kind == "ACL":
        return None
    if kind in ("Pointer", "Relation"):
        return f"{kind}<{spec.get('targetClass')}>"
    return kind


def parse_spec(kind: str) -> dict:
    """A type name as a /schemas field spec."""
    if kind.endswith(">") and "<" in kind:
        base, target = kind[:-1].split("<", 1)
        return {"type": base, "targetClass": target}
    return {"type": kind}


def keyset_pages(run_find: Callable[[Any], List[dict]], cls: str, where: Optional[dict],
                 page: int = PAGE) -> Iterator[List[dict]]:
    """Pages of a class in objectId order: ``objectId > last``, never a skip."""
    from ..plan import Find
    last: Optional[str] = None
    while True:
        clause = where or {}
        if last is not None:
            clause = and_where(where, {"objectId": {"$gt": last}})
        objects = run_find(Find(cls, where=clause, order=("objectId",), limit=page))
        if objects:
            yield objects
        if len(objects) < page:
            return
        last = objects[-1]["objectId"]


# -- the embedded engine ------------------------------------------------------------

class EngineEndpoint(Endpoint):
    kind = "embedded"

    def __init__(self, target: Any):
        from ..connection import Connection, connect
        if isinstance(target, Connection):
            self.conn, self.owned = target, False
        else:
            self.conn, self.owned = connect(target), True
        self.backend = self.conn.backend
        if not hasattr(self.backend, "write_objects"):
            raise errors.InterfaceError(f"{self.conn!r} is not an embedded database")
        self.shown = getattr(self.backend, "path", None) or "a transient in-memory database"

    def classes(self) -> List[str]:
        return sorted(self.backend.schema())

    def schema(self) -> Schema:
        return {c: {f: t for f, t in fields.items() if f not in SYSTEM}
                for c, fields in self.backend.schema().items()}

    def count(self, cls: str, where: Optional[dict]) -> Optional[int]:
        from ..plan import Find
        return self.backend.run(Find(cls, where=where or {}, count=True, limit=0)).count

    def pages(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        if where:
            yield from keyset_pages(lambda f: self.backend.run(f).objects, cls, where)
            return
        last = None
        while True:
            page = self.backend.scan_objects(cls, after=last, limit=PAGE)
            if page:
                yield page
            if len(page) < PAGE:
                return
            last = page[-1]["objectId"]

    def relations(self, cls: str) -> Iterator[RelationRow]:
        return self.backend.relation_rows(cls)

    def get_objects(self, cls: str, ids: Sequence[str]) -> Dict[str, dict]:
        from ..plan import Find
        objects = self.backend.run(Find(cls, where={"objectId": {"$in": list(ids)}}, limit=len(ids))).objects
        return {o["objectId"]: o for o in objects}

    def findings(self, classes: Sequence[str], schema: Schema, where: Dict[str, dict]) -> Findings:
        return Findings.of_pages(self, classes, schema, where)

    def writer(self, cls: str, rules: Rules) -> ClassWriter:
        return _EngineWriter(self.backend, cls)

    def close(self) -> None:
        if self.owned:
            self.conn.close()


class _EngineWriter(ClassWriter):
    chunk = 5000

    def __init__(self, backend: Any, cls: str):
        self.backend, self.cls = backend, cls

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        inserted, replaced, unchanged = self.backend.write_objects(self.cls, objects)
        if relations:
            self.backend.write_relation_rows(self.cls, [(o, k, tc, ti) for o, rows in relations.items()
                                                        for k, tc, ti in rows])
        return Written(inserted, replaced, unchanged)

    def write_relations(self, rows: List[RelationRow]) -> int:
        return self.backend.write_relation_rows(self.cls, rows)

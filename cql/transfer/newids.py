"""Copying into a server that assigns its own objectIds (``--accept new-ids``).

Parse Server without ``allowCustomObjectId`` refuses a client's objectId, so
each copied object gets a new one there. Every object created records its
source objectId in the field ``MARKER`` (cqlSourceId). That field *is* the id
map, kept on the target itself rather than in a local file that a crash could
leave behind the server (created there, map not yet written):

- a re-run (after Ctrl-C, SIGKILL, a lost /batch answer) finds what exists by
  querying MARKER, so no object is ever created twice;
- Pointers, relation rows and the user entries of ACLs are rewritten through it;
- verify pairs objects through it (``MappedTarget``).

A copy then writes in two passes, because an object may name one that does not
exist yet (cycles too: A -> B -> A):

1. every class (those that Pointers name first): objects are created with the
   fields that name other objects only where each id named is known already
   (a Pointer anywhere in a value; the ACL keeps its "*" and role entries and
   the users already known, so no object is ever more open than in the
   source); objects that name none are upserted completely;
2. every class again, now that every object exists: the fields left out are
   set with the new ids and relation rows added, one PUT per object that needs
   it (in /batch; each is an idempotent update).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from .. import errors
from ..names import DATE_FIELDS, SYSTEM_FIELDS
from .canonical import (MARKER, MISSING_TEXT, Rules, canonical, differences, map_references, rename_value,
                        untimed)
from .endpoints import (ClassWriter, Endpoint, RelationRow, Schema, Written, batch_code, batch_text,
                        owner_chunks, require_owners, with_retries)

LOOKUP = 100             # source ids per MARKER query
PAGE = 1000

Lookup = Callable[[str, str], Optional[str]]   # (class, id) -> the id on the other side, None: unknown


def pointers(value: Any) -> Iterator[Tuple[str, str]]:
    """(className, objectId) of every Pointer inside ``value`` (arrays and objects too)."""
    c = value.__class__
    if c is list:
        for v in value:
            yield from pointers(v)
    elif c is dict:
        kind = value.get("__type")
        if kind in ("Pointer", "Object"):
            cls, oid = value.get("className"), value.get("objectId")
            if isinstance(cls, str) and isinstance(oid, str):
                yield cls, oid
        elif kind is None:
            for v in value.values():
                yield from pointers(v)


def remap(value: Any, lookup: Lookup) -> Any:
    """``value`` with each Pointer's objectId looked up (unknown ids kept)."""
    def looked_up(ref: dict) -> dict:
        if ref.get("__type") == "Relation":
            return ref
        new = lookup(ref.get("className"), ref.get("objectId"))
        return ref if new is None else {"__type": "Pointer", "className": ref["className"], "objectId": new}
    return map_references(value, looked_up)


def acl_users(acl: Any) -> List[str]:
    """The ACL's entries that name a user by objectId (not "*", not "role:...")."""
    return [k for k in acl if k != "*" and not k.startswith("role:")] if isinstance(acl, dict) else []


def links(obj: dict) -> List[str]:
    """The fields of ``obj`` that name other objects by objectId."""
    out = []
    for key, value in obj.items():
        if key == "ACL":
            if acl_users(value):
                out.append(key)
        elif key not in SYSTEM_FIELDS and value.__class__ in (dict, list) and next(pointers(value), None):
            out.append(key)
    return out


def references(obj: dict) -> Iterator[Tuple[str, str]]:
    """(class, objectId) of every object ``obj`` names."""
    for key in links(obj):
        if key == "ACL":
            yield from (("_User", u) for u in acl_users(obj[key]))
        else:
            yield from pointers(obj[key])


def translated(obj: dict, lookup: Lookup) -> dict:
    """``obj`` with the ids it names looked up (Pointers, ACL user entries)."""
    out = {}
    for key, value in obj.items():
        if key == "ACL" and isinstance(value, dict):
            users = set(acl_users(value))
            out[key] = {(lookup("_User", who) or who) if who in users else who: perms for who, perms in value.items()}
        elif value.__class__ in (dict, list):
            out[key] = remap(value, lookup)
        else:
            out[key] = value
    return out


class IdMap:
    """Source objectId <-> target objectId per class, as MARKER holds it on
    the target (and as learnt from the answers to creates). Shared by the
    writers of one copy, which may run in several threads."""

    def __init__(self, http: Any, marked: Callable[[str], bool] = lambda cls: True):
        self.http = http
        self.marked = marked   # whether a class of the target has the MARKER field (else: nothing to find)
        self._forward: Dict[str, Dict[str, str]] = {}    # class -> {source id: target id}
        self._reverse: Dict[str, Dict[str, str]] = {}    # class -> {target id: source id} (whole classes)
        self.created: Dict[str, Set[str]] = {}           # source ids created by this run (counted then)
        self.failed: Dict[str, Set[str]] = {}            # source ids whose create failed (reported then)
        self.complete: Dict[str, Set[str]] = {}          # created with every id they name already known
        self.unknown: Set[Tuple[str, str]] = set()       # (class, source id) named but not on the target
        self._lock = threading.Lock()

    def learn(self, cls: str, src: str, new: str) -> None:
        with self._lock:
            self._forward.setdefault(cls, {})[src] = new

    def record(self, cls: str, src: str, new: Optional[str], complete: bool = False) -> None:
        """The outcome of this run's create of ``src``: its new id, or None
        (failed); ``complete``: created with every field (no second pass)."""
        with self._lock:
            if new is None:
                self.failed.setdefault(cls, set()).add(src)
            else:
                self._forward.setdefault(cls, {})[src] = new
                self.created.setdefault(cls, set()).add(src)
                if complete:
                    self.complete.setdefault(cls, set()).add(src)

    def known(self, cls: str, src: str) -> Optional[str]:
        """The target id ``src`` has now or will keep: the one learnt, or
        ``src`` itself in a class the copy does not mark (never mapped)."""
        if self.marked(cls):
            return self._forward.get(cls, {}).get(src)
        with self._lock:
            self.unknown.add((cls, src))
        return src

    def find(self, cls: str, src_ids: Sequence[str], keys: Optional[str] = None,
             soft: bool = False) -> Dict[str, dict]:
        """{source id: target object} of the objects of ``cls`` whose MARKER is
        one of ``src_ids`` (``soft``: a class the target cannot query is empty)."""
        out: Dict[str, dict] = {}
        ids = list(dict.fromkeys(src_ids)) if self.marked(cls) else []
        for start in range(0, len(ids), LOOKUP):
            chunk = ids[start:start + LOOKUP]
            params: Dict[str, Any] = {"where": {MARKER: {"$in": chunk}}, "limit": PAGE}
            if keys:
                params["keys"] = keys
            try:
                answer = self.http.query(cls, params)
            except errors.ServerError:
                if soft:
                    continue
                raise
            for obj in answer.get("results", []):
                src = obj.get(MARKER)
                # two objects with one marker cannot come from a copy; pick one, always the same
                if isinstance(src, str) and (src not in out or obj["objectId"] < out[src]["objectId"]):
                    out[src] = obj
        for src, obj in out.items():
            self.learn(cls, src, obj["objectId"])
        return out

    def resolve(self, refs: Iterable[Tuple[str, str]]) -> None:
        """Look up the target ids of the (class, source id) pairs not known yet
        (in the second pass: every object of the copy exists by then)."""
        wanted: Dict[str, Set[str]] = {}
        for cls, src in refs:
            # (called once every object exists: what was not found will not be)
            if src not in self._forward.get(cls, ()) and (cls, src) not in self.unknown:
                wanted.setdefault(cls, set()).add(src)
        for cls, ids in wanted.items():
            found = self.find(cls, sorted(ids), keys=f"objectId,{MARKER}", soft=True)
            with self._lock:
                self.unknown.update((cls, i) for i in ids if i not in found)

    def notes(self) -> List[str]:
        """What the copy's report says about the ids it could not map."""
        if not self.unknown:
            return []
        cls, oid = min(self.unknown)
        n = len(self.unknown)
        return [f"{n} object{'s' if n > 1 else ''} named by pointers, relation rows or ACL entries "
                f"{'are' if n > 1 else 'is'} not on the target (missing in the source, or of a class not "
                f"copied; e.g. {cls} {oid}): {'they keep their' if n > 1 else 'it keeps its'} source objectId"]

    def target_id(self, cls: str, src: str) -> Optional[str]:
        return self._forward.get(cls, {}).get(src)

    def source_id(self, cls: str, new: str) -> Optional[str]:
        """The source id of the target object ``new`` (the whole class's map is read once)."""
        if cls not in self._reverse:
            pairs: Dict[str, str] = {}
            last = None
            while self.marked(cls):
                where: Dict[str, Any] = {MARKER: {"$exists": True}}
                if last is not None:
                    where["objectId"] = {"$gt": last}
                try:
                    page = self.http.query(cls, {"where": where, "keys": f"objectId,{MARKER}",
                                                 "order": "objectId", "limit": PAGE}).get("results", [])
                except errors.ServerError:
                    page = []
                pairs.update((o["objectId"], o[MARKER]) for o in page if isinstance(o.get(MARKER), str))
                if len(page) < PAGE:
                    break
                last = page[-1]["objectId"]
            with self._lock:
                self._reverse[cls] = pairs
        return self._reverse[cls].get(new)


def pointed_first(classes: Sequence[str], schema: Schema) -> List[str]:
    """``classes`` ordered so that (cycles aside) a class comes after the
    classes its Pointers name, and _User first (ACLs name users): the more
    ids are known when an object is created, the fewer need the second pass."""
    wanted, order, seen = set(classes), [], set()

    def visit(cls: str) -> None:
        if cls in seen or cls not in wanted:
            return
        seen.add(cls)
        for kind in sorted(schema.get(cls, {}).values()):
            if kind.startswith("Pointer<") and kind.endswith(">"):
                visit(kind[len("Pointer<"):-1])
        order.append(cls)

    for cls in ["_User", *classes]:
        visit(cls)
    return order


def changes(old: dict, want: dict, cls: str, rules: Rules, body_of: Callable[[dict], dict]) -> dict:
    """The PUT body that makes the target object ``old`` hold ``want`` (ids
    already the target's); {} when it does."""
    have = {k: v for k, v in old.items() if k != MARKER}
    want = dict(want, objectId=old["objectId"])
    diffs = differences(canonical(want, cls, rules, source=True), canonical(have, cls, rules, without=untimed(want)))
    if not diffs:
        return {}
    body = body_of(want)
    put: Dict[str, Any] = {}
    for key, (wanted, _had) in diffs.items():
        if key in DATE_FIELDS or key == "objectId":
            continue  # an update cannot set them (the "timestamps" loss is accepted here)
        if key in body:
            put[key] = body[key]
        elif wanted == MISSING_TEXT:
            put[key] = {"__op": "Delete"}
    return put


class _Writer(ClassWriter):
    """What both passes share: the target's ordinary writer of the class
    (``base``: its object bodies, HTTP client, rules) and the copy's IdMap."""

    def __init__(self, base: Any, ids: IdMap):
        self.base, self.ids = base, ids
        self.cls, self.rules = base.cls, base.rules
        self.chunk, self.parallel = base.chunk, base.parallel

    def body(self, obj: dict) -> dict:
        body = self.base.body(obj, ())
        body.pop("objectId", None)
        return body

    def put(self, updates: List[Tuple[str, str, dict]], out: Written, counted: Callable[[str], bool]) -> None:
        """PUT each (source id, target id, body); ``counted(src)``: counts as replaced."""
        if not updates:
            return
        path = f"/classes/{self.cls}"
        outcomes = self.base.http.batch([{"method": "PUT", "path": f"{path}/{new}", "body": body}
                                         for _src, new, body in updates], retry=True)
        for (src, _new, _body), item in zip(updates, outcomes):
            if "success" not in item:
                out.failures.append((src, batch_code(item), batch_text(item)))
            elif counted(src):
                out.replaced += 1


class CreateWriter(_Writer):
    """Pass 1: create what is missing (without the fields naming other
    objects); upsert completely what names none."""

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        return with_retries(lambda attempt: self._write(objects, relations))

    def _write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        latest = {o["objectId"]: o for o in objects}
        found = self.ids.find(self.cls, list(latest))
        out = Written()
        creates: List[Tuple[str, dict, bool]] = []
        updates: List[Tuple[str, str, dict]] = []
        for src, obj in latest.items():
            linked = links(obj)
            old = found.get(src)
            if old is None:
                now, complete = self.as_created(obj, linked)
                body = self.body(now)
                body[MARKER] = src
                creates.append((src, body, complete and not relations.get(src)))
            elif not linked and not relations.get(src):
                put = changes(old, obj, self.cls, self.rules, self.body)
                if put:
                    updates.append((src, old["objectId"], put))
                else:
                    out.unchanged += 1
            # else: named objects, relation rows: the second pass compares and counts it
        if creates:
            # not retried by itself (a create is not idempotent): with_retries
            # runs the whole chunk again, which finds by MARKER what was created
            outcomes = self.base.http.batch([{"method": "POST", "path": f"/classes/{self.cls}", "body": b}
                                             for _src, b, _complete in creates])
            for (src, _body, complete), item in zip(creates, outcomes):
                new = item["success"].get("objectId") if "success" in item else None
                self.ids.record(self.cls, src, new, complete)
                if new is not None:
                    out.inserted += 1
                else:
                    out.failures.append((src, batch_code(item), batch_text(item)))
        self.put(updates, out, lambda src: True)
        return out

    def as_created(self, obj: dict, linked: List[str]) -> Tuple[dict, bool]:
        """``obj`` as it can be created now: a field naming other objects is
        mapped when each id it names is known, else left out; the ACL without
        the user entries not known (so never more open than in the source).
        And whether nothing was left out."""
        known = self.ids.known
        now = {k: v for k, v in obj.items() if k not in linked}
        complete = True
        for key in linked:
            if key == "ACL":
                users = set(acl_users(obj[key]))
                now[key] = {}
                for who, perms in obj[key].items():
                    new = known("_User", who) if who in users else who
                    if new is None:
                        complete = False
                    else:
                        now[key][new] = perms
            elif all(known(c, i) is not None for c, i in pointers(obj[key])):
                now[key] = remap(obj[key], known)
            else:
                complete = False
        return now, complete

    def write_relations(self, rows: List[RelationRow]) -> int:
        return 0  # the second pass adds them


class LinkWriter(_Writer):
    """Pass 2: set the fields naming other objects, with their new ids, and
    add relation rows; compare (and count) what the first pass left to it."""

    def write(self, objects: List[dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        done = self.ids.complete.get(self.cls, ())
        todo = {o["objectId"]: o for o in objects
                if (links(o) or relations.get(o["objectId"])) and o["objectId"] not in done}
        if not todo:
            return Written()
        return with_retries(lambda attempt: self._write(todo, relations))

    def _write(self, todo: Dict[str, dict], relations: Dict[str, List[Tuple[str, str, str]]]) -> Written:
        cls, ids = self.cls, self.ids
        failed, created = ids.failed.get(cls, set()), ids.created.get(cls, set())
        # what this run created is known as it was created: no need to read it back
        found = ids.find(cls, [s for s in todo if s not in created])
        refs = {ref for obj in todo.values() for ref in references(obj)}
        refs.update((tc, ti) for src in todo for _k, tc, ti in relations.get(src, ()))
        ids.resolve(refs)
        have_rows = self.rows_of([found[s]["objectId"] for s in todo if s in found])
        out = Written()
        updates: List[Tuple[str, str, dict]] = []
        for src, obj in todo.items():
            new = ids.target_id(cls, src) if src in created else None
            if new is not None:   # every field naming others, and every relation row (it has none yet)
                body = self.body(translated(obj, ids.target_id))
                put = {key: body[key] for key in links(obj) if key in body}
                put.update(self.added_rows(new, relations.get(src, ()), set()))
                if put:
                    updates.append((src, new, put))
                continue
            old = found.get(src)
            if old is None:
                if src not in failed:  # (a failed create was reported by the first pass)
                    out.failures.append((src, 101, "not on the target: the first pass did not create it"))
                continue
            put = changes(old, translated(obj, ids.target_id), cls, self.rules, self.body)
            put.update(self.added_rows(old["objectId"], relations.get(src, ()), have_rows))
            if put:
                updates.append((src, old["objectId"], put))
            elif src not in created:
                out.unchanged += 1
        self.put(updates, out, lambda src: src not in created)
        return out

    def rows_of(self, owners: List[str]) -> Set[Tuple[str, str, str]]:
        """(owner, key, related) of the relation rows the target holds for these owners (target ids)."""
        out: Set[Tuple[str, str, str]] = set()
        if owners:
            for key, target in self.base.relation_keys:
                out.update((o, key, r) for o, r in self.base.ep.join_rows(self.cls, key, target, owners))
        return out

    def added_rows(self, owner: str, rows: Iterable[Tuple[str, str, str]],
                   have: Set[Tuple[str, str, str]]) -> Dict[str, dict]:
        """AddRelation ops for the rows (source ids) the target owner lacks."""
        by_key: Dict[str, list] = {}
        for key, tc, ti in rows:
            new = self.ids.target_id(tc, ti) or ti
            if (owner, key, new) not in have:
                by_key.setdefault(key, []).append({"__type": "Pointer", "className": tc, "objectId": new})
        return {key: {"__op": "AddRelation", "objects": objs} for key, objs in by_key.items()}

    def write_relations(self, rows: List[RelationRow]) -> int:
        """Rows whose owner was not in the objects copied (found on the target by MARKER)."""
        added = 0
        for by_owner in owner_chunks(rows, self.chunk):
            chunk = list(by_owner)
            found = self.ids.find(self.cls, chunk)
            require_owners(self.cls, chunk, found)
            self.ids.resolve((tc, ti) for o in chunk for _k, tc, ti in by_owner[o])
            have = self.rows_of([found[o]["objectId"] for o in chunk])
            updates = []
            for o in chunk:
                ops = self.added_rows(found[o]["objectId"], by_owner[o], have)
                if ops:
                    updates.append((o, found[o]["objectId"], ops))
                    added += sum(len(op["objects"]) for op in ops.values())
            out = Written()
            self.put(updates, out, lambda src: False)
            if out.failures:
                oid, code, text = out.failures[0]
                raise errors.ServerError(f"{self.cls} {oid}: could not add relation rows: {text}", code)
        return added


class MappedTarget(Endpoint):
    """A target written with new ids, read as if it had the source's: each
    object's objectId is its MARKER, the ids it names are mapped back, MARKER
    is left out. ``verify`` compares it with the source unchanged; ``pairs``
    gives the target id of each source id seen (to list both)."""

    def __init__(self, target: Any, source: Endpoint, rename: Dict[str, str]):
        self.target, self.source = target, source
        self.kind, self.shown = target.kind, target.shown
        self.ids = IdMap(target.http, target.marked)
        self.back = {new: old for old, new in rename.items()}
        self.pairs: Dict[str, Dict[str, str]] = {}

    def classes(self) -> List[str]:
        return self.target.classes()

    def schema(self) -> Schema:
        return {c: {f: t for f, t in fields.items() if f != MARKER} for c, fields in self.target.schema().items()}

    def seen(self, cls: str, obj: dict) -> dict:
        src = obj.get(MARKER)
        out = translated({k: v for k, v in obj.items() if k != MARKER}, self.ids.source_id)
        if isinstance(src, str):
            out["objectId"] = src
            self.pairs.setdefault(cls, {})[src] = obj["objectId"]
        return out

    def pages(self, cls: str, where: Optional[dict]) -> Iterator[List[dict]]:
        if not where:
            for page in self.target.pages(cls, None):
                yield [self.seen(cls, o) for o in page]
            return
        # a condition names source values: the objects paired with the source's matches
        for page in self.source.pages(self.back.get(cls, cls), rename_value(where, self.back)):
            found = self.ids.find(cls, [o["objectId"] for o in page])
            yield [self.seen(cls, o) for o in found.values()]

    def relations(self, cls: str) -> Iterator[RelationRow]:
        back = self.ids.source_id
        for owner, key, tc, ti in self.target.relations(cls):
            yield back(cls, owner) or owner, key, tc, back(tc, ti) or ti

    def get_objects(self, cls: str, ids: Sequence[str]) -> Dict[str, dict]:
        return {src: self.seen(cls, o) for src, o in self.ids.find(cls, ids).items()}


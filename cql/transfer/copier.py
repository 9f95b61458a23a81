"""``cql copy SOURCE TARGET``: move an app, completely and verifiably.

In order: read what the source holds (an export is read through once, every
line checked); ask the target what it cannot keep and stop, before writing
anything, unless each such loss was accepted (``--accept``); create the
classes and fields; write the objects of each class in chunks (objectId-keyed
upserts: an interrupted copy is simply run again, and a second run changes
nothing) with their relation rows; then verify. Nothing is ever deleted on the
target.
"""
from __future__ import annotations

import time
from collections import deque
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from .. import errors
from ..names import is_class_name
from .canonical import LOSSES, MARKER, Rules, rename_value
from .endpoints import Endpoint, Limit, Schema, Written
from .newids import MappedTarget, pointed_first
from .targets import open_endpoint, side_options
from .progress import Progress
from .verify import VerifyReport, verify_endpoints


class CopyRefused(errors.CQLError):
    """The target cannot keep something and the loss was not accepted; nothing
    was written. ``limits`` lists every reason."""

    code = 142

    def __init__(self, message: str, limits: List[Limit]):
        super().__init__(message, self.code)
        self.limits = limits


@dataclass
class ClassCopy:
    name: str
    target_name: str
    written: Written = field(default_factory=Written)
    relations_added: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        w = self.written
        parts = [f"{w.inserted} new", f"{w.replaced} replaced", f"{w.unchanged} unchanged"]
        if self.relations_added:
            parts.append(f"{self.relations_added} relation rows added")
        if w.failures:
            parts.append(f"{len(w.failures)} FAILED")
        return ", ".join(parts)


@dataclass
class CopyReport:
    source: str
    target: str
    classes: List[ClassCopy] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    verify: Optional[VerifyReport] = None

    @property
    def failures(self) -> List[Tuple[str, str, int, str]]:
        return [(c.name, oid, code, text) for c in self.classes for oid, code, text in c.written.failures]

    @property
    def ok(self) -> bool:
        """Done: nothing failed, and verify (when run) is clean."""
        return not self.failures and (self.verify is None or self.verify.clean)

    def __str__(self) -> str:
        lines = [f"copy {self.source} -> {self.target}"]
        lines += [f"  {c.name}{'' if c.name == c.target_name else ' -> ' + c.target_name}: {c.summary()}"
                  for c in self.classes]
        for cls, oid, code, text in self.failures[:20]:
            lines.append(f"  failed: {cls} {oid}: error {code}: {text}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more failures")
        lines += [f"note: {n}" for n in self.notes]
        if self.verify is not None:
            lines.append(str(self.verify))
        return "\n".join(lines)


def parse_accept(accept: Iterable[str]) -> Set[str]:
    """The accepted losses (names or comma lists; "all" is every one)."""
    out: Set[str] = set()
    for item in accept or ():
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                out.update(LOSSES)
            elif name not in LOSSES:
                raise errors.InterfaceError(f"unknown --accept {name!r}: one of {', '.join(LOSSES)} (or all)")
            else:
                out.add(name)
    return out


def parse_renames(rename: Any) -> Dict[str, str]:
    """{"_File": "LeanCloudFile"} from a mapping or "A=B" strings."""
    if isinstance(rename, Mapping):
        pairs = list(rename.items())
    else:
        pairs = []
        for item in rename or ():
            old, sep, new = str(item).partition("=")
            if not sep or not old.strip() or not new.strip():
                raise errors.InterfaceError(f"--rename takes OLD=NEW, got {item!r}")
            pairs.append((old.strip(), new.strip()))
    for old, new in pairs:
        if not is_class_name(new):
            raise errors.InvalidClassName(f"--rename {old}={new}: {new!r} is not a class name")
    return dict(pairs)


def where_by_class(where: Optional[str], classes: Sequence[str]) -> Dict[str, dict]:
    """A CQL condition (``--where "updatedAt > date('2026-01-01T00:00:00Z')"``)
    as where JSON, planned once per class."""
    if not where:
        return {}
    from ..parser import parse
    from ..planner import plan
    out = {}
    for cls in classes:
        statement = parse(f"select * from {cls} where {where}")
        if len(statement) != 1:
            raise errors.CQLSyntaxError(f"--where takes one condition, got {where!r}")
        out[cls] = plan(statement[0], ()).where
    return out


class Copier:
    """One copy run between two open endpoints."""

    def __init__(self, src: Endpoint, dst: Endpoint, *, classes: Optional[Sequence[str]] = None,
                 exclude: Sequence[str] = (), where: Optional[str] = None, accept: Iterable[str] = (),
                 rename: Any = None, progress: Optional[Progress] = None):
        self.src, self.dst = src, dst
        self.accept = parse_accept(accept)
        self.rename = parse_renames(rename)
        self.progress = progress or Progress(None)
        self.wanted = list(classes) if classes else None
        self.exclude = list(exclude or ())
        self.where_text = where

    def plan(self) -> Tuple[List[str], Dict[str, dict], Schema]:
        available = self.src.classes()
        if self.wanted is not None:
            unknown = [c for c in self.wanted if c not in available]
            if unknown:
                import difflib
                close = difflib.get_close_matches(unknown[0], available, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise errors.InvalidClassName(f"{self.src.shown} has no class {unknown[0]}{hint} "
                                              f"(it has: {', '.join(available[:20]) or 'none'})")
            classes = [c for c in available if c in self.wanted]
        else:
            classes = list(available)
        classes = [c for c in classes if c not in self.exclude]
        where = where_by_class(self.where_text, classes)
        if hasattr(self.src, "prescan"):
            self.src.prescan(classes, where)
        schema = self.src.schema()
        return classes, where, {c: schema.get(c, {}) for c in classes}

    def check(self, classes: List[str], where: Dict[str, dict], schema: Schema) -> List[str]:
        """Stop here (CopyRefused) unless everything the target cannot keep was
        accepted; the notes on what was accepted."""
        findings = self.src.findings(classes, schema, where)
        renamed = [self.rename.get(c, c) for c in classes]
        tschema = {self.rename.get(c, c): {f: rename_value_type(t, self.rename) for f, t in fields.items()}
                   for c, fields in schema.items()}
        limits = self.dst.limits(renamed, tschema, findings, frozenset(self.accept))
        blocking = [lim for lim in limits if lim.loss is None or lim.loss not in self.accept]
        if blocking:
            lines = [f"nothing was copied: {self.dst.shown} cannot keep everything {self.src.shown} holds:"]
            for lim in blocking:
                how = f" [--accept {lim.loss} to go on]" if lim.loss else ""
                lines.append(f"  - {lim.message}{how}")
            raise CopyRefused("\n".join(lines), blocking)
        self.tschema = tschema
        self.renamed = renamed
        return [f"accepted: {lim.message}" for lim in limits]

    def run(self, verify: bool = True) -> CopyReport:
        report = CopyReport(self.src.shown, self.dst.shown)
        classes, where, schema = self.plan()
        report.notes = self.check(classes, where, schema)
        ignored = getattr(self.src, "ignored", ())
        if ignored:
            report.notes.append(f"files not read (names not recognised): {', '.join(ignored[:10])}"
                                f"{', ...' if len(ignored) > 10 else ''}")
        if self.dst.assigns_ids():
            classes = pointed_first(classes, schema)
        self.dst.prepare(self.renamed, self.tschema)
        rules = self.dst.rules(self.accept, self.rename)
        for cls in classes:
            report.classes.append(self.copy_class(cls, where.get(cls), rules))
        if self.dst.assigns_ids():
            # every object exists now: set the fields naming others, with their new ids (newids.py)
            for done in report.classes:
                self.copy_class(done.name, where.get(done.name), rules, into=done)
            report.notes.append(f"objectIds are new on {self.dst.shown}: each object's source objectId is "
                                f"in its field {MARKER}")
            report.notes += self.dst.notes()
        self.dst.finish()
        if verify:
            target = target_view(self.src, self.dst, self.accept, self.rename)
            if self.dst.kind == "export":  # read back what was written
                from .exports import ExportEndpoint
                target = ExportEndpoint(self.dst.path)
            try:
                report.verify = verify_endpoints(self.src, target, classes, where, rules, self.progress,
                                                 allow_extra=True)
            finally:
                if target is not self.dst:
                    target.close()
        return report

    def copy_class(self, cls: str, where: Optional[dict], rules: Rules,
                   into: Optional[ClassCopy] = None) -> ClassCopy:
        """Write the objects of ``cls``; ``into``: the second pass of a copy
        into a target that assigns ids (its counts go on in ``into``)."""
        target = self.rename.get(cls, cls)
        result = into or ClassCopy(cls, target)
        start = time.monotonic()
        rows: Dict[str, List[Tuple[str, str, str]]] = {}
        for owner, key, tc, ti in self.src.relations(cls):
            rows.setdefault(owner, []).append((key, self.rename.get(tc, tc), ti))
        total = self.src.count(cls, where)
        bar = self.progress.bar(cls if into is None else f"{cls} (links)", total)
        writer = self.dst.writer(target, rules) if into is None else self.dst.link_writer(target, rules)
        try:
            pending: deque = deque()
            pool = ThreadPoolExecutor(writer.parallel) if writer.parallel > 1 else None

            def settle(block_until: int) -> None:
                while len(pending) > block_until:
                    if pool is None:
                        n, written = pending.popleft()
                    else:
                        done, _ = wait([f for _, f in pending], return_when=FIRST_COMPLETED)
                        for item in [p for p in pending if p[1] in done]:
                            pending.remove(item)
                            n, fut = item
                            result.written.add(fut.result())
                            bar.advance(n)
                        continue
                    result.written.add(written)
                    bar.advance(n)

            try:
                for chunk in _chunks(self.src.pages(cls, where), writer.chunk):
                    if self.rename:
                        chunk = [{k: rename_value(v, self.rename) for k, v in o.items()} for o in chunk]
                    chunk_rows = {o["objectId"]: rows.pop(o["objectId"]) for o in chunk if o["objectId"] in rows}
                    if pool is None:
                        pending.append((len(chunk), writer.write(chunk, chunk_rows)))
                    else:
                        pending.append((len(chunk), pool.submit(writer.write, chunk, chunk_rows)))
                    settle(2 * writer.parallel)
                settle(0)
            finally:
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
            leftover = [(o, k, tc, ti) for o, items in rows.items() for k, tc, ti in items]
            if leftover and (not where or self.src.kind == "export"):
                result.relations_added += writer.write_relations(leftover)
        finally:
            writer.close()
        result.seconds += time.monotonic() - start
        bar.finish(result.summary())
        return result


def rename_value_type(kind: str, rename: Mapping[str, str]) -> str:
    """Pointer<Old> -> Pointer<New> under a rename."""
    if rename and kind.endswith(">") and "<" in kind:
        base, target = kind[:-1].split("<", 1)
        return f"{base}<{rename.get(target, target)}>"
    return kind


def _chunks(pages: Iterable[List[dict]], size: int) -> Iterable[List[dict]]:
    buf: List[dict] = []
    for page in pages:
        buf.extend(page)
        while len(buf) >= size:
            yield buf[:size]
            buf = buf[size:]
    if buf:
        yield buf


def copy(source: Any, target: Any, *, classes: Optional[Sequence[str]] = None, exclude: Sequence[str] = (),
         where: Optional[str] = None, accept: Iterable[str] = (), rename: Any = None,
         source_options: Optional[Dict[str, Any]] = None, target_options: Optional[Dict[str, Any]] = None,
         verify: bool = True, workers: int = 4, progress: Any = None) -> CopyReport:
    """Copy every object (or those of ``classes``, matching the CQL condition
    ``where``) from ``source`` to ``target``; see the module doc. Raises
    CopyRefused, writing nothing, when the target cannot keep something that
    ``accept`` does not name. ``progress``: a text stream (e.g. sys.stderr)
    for a bar per class, or None."""
    with _opened(source, target, source_options, target_options, "target", workers) as (src, dst):
        copier = Copier(src, dst, classes=classes, exclude=exclude, where=where, accept=accept, rename=rename,
                        progress=_progress(progress))
        return copier.run(verify=verify)


def verify(source: Any, target: Any, *, classes: Optional[Sequence[str]] = None, exclude: Sequence[str] = (),
           where: Optional[str] = None, accept: Iterable[str] = (), rename: Any = None,
           source_options: Optional[Dict[str, Any]] = None, target_options: Optional[Dict[str, Any]] = None,
           allow_extra: bool = False, progress: Any = None) -> VerifyReport:
    """Compare ``target`` with ``source`` (the classes a copy would move),
    with the losses ``accept`` names left out of the comparison.
    ``allow_extra``: objects only on the target are not differences."""
    prog = _progress(progress)
    with _opened(source, target, source_options, target_options, "source", 4) as (src, dst):
        copier = Copier(src, dst, classes=classes, exclude=exclude, where=where, accept=accept, rename=rename,
                        progress=prog)
        classes_, where_, _schema = copier.plan()
        rules = dst.rules(copier.accept, copier.rename)
        return verify_endpoints(src, target_view(src, dst, copier.accept, copier.rename), classes_, where_,
                                rules, prog, allow_extra=allow_extra)


def target_view(src: Endpoint, dst: Endpoint, accepted: Set[str], rename: Dict[str, str]) -> Endpoint:
    """The target as verify reads it: with the source's objectIds when it
    assigned its own (``--accept new-ids``)."""
    if "new-ids" in accepted and dst.assigns_ids():
        return MappedTarget(dst, src, rename)
    return dst


def _progress(progress: Any) -> Progress:
    return progress if isinstance(progress, Progress) else Progress(progress)


@contextmanager
def _opened(source: Any, target: Any, source_options: Optional[Dict[str, Any]],
            target_options: Optional[Dict[str, Any]], target_role: str, workers: int) -> Iterator[tuple]:
    """(source endpoint, target endpoint), both closed at the end."""
    src = open_endpoint(source, _server_options(source, "source", source_options), role="source")
    try:
        dst = open_endpoint(target, _server_options(target, "target", target_options), role=target_role,
                            workers=workers)
        try:
            yield src, dst
        finally:
            dst.close()
    finally:
        src.close()


def _server_options(spec: Any, side: str, given: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """Credentials for a URL side (given, else the environment); None for the
    other kinds (a file has none; an open Connection has its own)."""
    if isinstance(spec, str) and spec.startswith(("http://", "https://")):
        return side_options(side, given)
    return None

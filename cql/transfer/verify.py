"""``cql verify SOURCE TARGET``: are the target's objects the source's?

Per class: the objects on each side (counted), every object's canonical
fingerprint compared by objectId, the relation rows compared as sets. Every
difference is listed with its objectId; for the first few, the fields that
differ are shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .canonical import Rules, canonical, differences, digest, dumps, rename_value, untimed
from .endpoints import Endpoint, RelationRow
from .progress import Progress

SHOWN = 10   # objects listed per kind of difference (all are counted)
DETAILED = 5  # differing objects whose fields are shown


@dataclass
class ClassCheck:
    name: str
    target_name: str
    source_count: int = 0
    target_count: int = 0
    missing: List[str] = field(default_factory=list)     # in the source, not on the target
    extra: List[str] = field(default_factory=list)       # on the target, not in the source
    different: List[str] = field(default_factory=list)
    details: Dict[str, Dict[str, tuple]] = field(default_factory=dict)
    relations_missing: List[RelationRow] = field(default_factory=list)
    relations_extra: List[RelationRow] = field(default_factory=list)
    relation_count: int = 0
    #: objects and relation rows only on the target are fine (a copy never deletes)
    allow_extra: bool = False
    #: source objectId -> the target's, when the target assigned new ones (listed with both)
    target_ids: Dict[str, str] = field(default_factory=dict)

    def label(self, oid: str) -> str:
        new = self.target_ids.get(oid)
        return oid if new is None else f"{oid} (target {new})"

    @property
    def clean(self) -> bool:
        extra = not self.allow_extra and (self.extra or self.relations_extra)
        return not (self.missing or self.different or self.relations_missing or extra)

    def lines(self) -> List[str]:
        head = self.name if self.name == self.target_name else f"{self.name} -> {self.target_name}"
        rel = f", {self.relation_count} relation rows" if self.relation_count else ""
        if self.clean and not (self.extra or self.relations_extra):
            return [f"{head}: {self.source_count} objects{rel}, identical"]
        out = [f"{head}: {self.source_count} objects in the source, {self.target_count} on the target{rel}"]
        extra = "only on the target" + (" (fine: a copy never deletes)" if self.allow_extra else "")
        for label, ids in (("missing on the target", self.missing), (extra, self.extra),
                           ("different", self.different)):
            if ids:
                shown = ", ".join(self.label(i) for i in ids[:SHOWN]) + \
                    (f", ... ({len(ids) - SHOWN} more)" if len(ids) > SHOWN else "")
                out.append(f"  {len(ids)} {label}: {shown}")
        for oid, diffs in self.details.items():
            for key, (a, b) in diffs.items():
                out.append(f"    {self.label(oid)} {key}: source {_short(a)} | target {_short(b)}")
        for label, rows in (("relation rows missing on the target", self.relations_missing),
                            ("relation rows only on the target" + (" (fine)" if self.allow_extra else ""),
                             self.relations_extra)):
            if rows:
                shown = ", ".join(f"{o}.{k}->{tc}:{ti}" for o, k, tc, ti in rows[:SHOWN])
                more = f", ... ({len(rows) - SHOWN} more)" if len(rows) > SHOWN else ""
                out.append(f"  {len(rows)} {label}: {shown}{more}")
        return out


@dataclass
class VerifyReport:
    source: str = ""
    target: str = ""
    classes: List[ClassCheck] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(c.clean for c in self.classes)

    def __str__(self) -> str:
        lines = [f"verify {self.source} -> {self.target}"]
        lines += ["  " + line for c in self.classes for line in c.lines()]
        lines += [f"note: {n}" for n in self.notes]
        lines.append("verify: clean" if self.clean else
                     f"verify: {sum(not c.clean for c in self.classes)} of {len(self.classes)} classes differ")
        return "\n".join(lines)


def _short(value: object, width: int = 80) -> str:
    text = value if isinstance(value, str) else dumps(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def verify_endpoints(src: Endpoint, dst: Endpoint, classes: Sequence[str], where: Dict[str, dict],
                     rules: Rules, progress: Optional[Progress] = None, allow_extra: bool = False
                     ) -> VerifyReport:
    """Compare each class; ``allow_extra``: the target may hold more (objects
    and relation rows the source does not have), as after a copy of a delta."""
    progress = progress or Progress(None)
    report = VerifyReport(src.shown, dst.shown)
    for cls in classes:
        target = rules.rename.get(cls, cls)
        check = ClassCheck(cls, target, allow_extra=allow_extra)
        w = where.get(cls)
        bar = progress.bar(f"verify {cls}", None)
        fingerprints: Dict[str, tuple] = {}   # objectId -> (digest, time fields it lacks)
        for page in src.pages(cls, w):
            for obj in page:
                fingerprints[obj["objectId"]] = (digest(canonical(obj, target, rules, source=True)), untimed(obj))
            bar.advance(len(page))
        check.source_count = len(fingerprints)
        seen: Set[str] = set()
        for page in dst.pages(target, rename_value(w, rules.rename) if w else None):
            for obj in page:
                oid = obj["objectId"]
                if oid in seen:
                    continue
                seen.add(oid)
                mine = fingerprints.get(oid)
                if mine is None:
                    check.extra.append(oid)
                elif mine[0] != digest(canonical(obj, target, rules, without=mine[1])):
                    check.different.append(oid)
            bar.advance(len(page))
        check.target_count = len(seen)
        check.missing = sorted(oid for oid in fingerprints if oid not in seen)
        check.extra.sort()
        check.different.sort()
        if check.different:
            wanted = check.different[:DETAILED]
            mine_objs, theirs = src.get_objects(cls, wanted), dst.get_objects(target, wanted)
            for oid in wanted:
                if oid in mine_objs and oid in theirs:
                    check.details[oid] = differences(
                        canonical(mine_objs[oid], target, rules, source=True),
                        canonical(theirs[oid], target, rules, without=untimed(mine_objs[oid])))
        paired = getattr(dst, "pairs", {}).get(target, {})
        check.target_ids = {oid: paired[oid] for oid in check.different if oid in paired}
        _compare_relations(src, dst, cls, target, rules, set(fingerprints) if w else None, check)
        bar.finish("identical" if check.clean else "differences found")
        report.classes.append(check)
    return report


def _compare_relations(src: Endpoint, dst: Endpoint, cls: str, target: str, rules: Rules,
                       owners: Optional[Set[str]], check: ClassCheck) -> None:
    rename = rules.rename

    def rows(endpoint: Endpoint, name: str, renamed: bool) -> Set[Tuple[str, str, str, str]]:
        out = set()
        for owner, key, tc, ti in endpoint.relations(name):
            if owners is not None and owner not in owners:
                continue
            out.add((owner, key, rename.get(tc, tc) if renamed else tc, ti))
        return out

    mine, theirs = rows(src, cls, True), rows(dst, target, False)
    check.relation_count = len(mine)
    check.relations_missing = sorted(mine - theirs)
    check.relations_extra = sorted(theirs - mine)

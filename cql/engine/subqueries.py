"""The parts of a where that read other objects: subqueries (``$inQuery``,
``$notInQuery``, ``$select``, ``$dontSelect``) and relations (``$relatedTo``,
a relation field compared with a pointer). The only parts of the matcher that
touch the store, through a ``Lookup``; each subquery runs once, when the where
is compiled.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ..errors import describe
from .values import MISSING as M, Fanout, field_getter, query_error

__all__ = ["Lookup", "in_query_predicate", "selected_values", "related_to_predicate", "relation_holds"]


class Lookup(ABC):
    """What the matcher needs from the store for subqueries and relations."""

    @abstractmethod
    def find(self, class_name: str, query: dict) -> List[dict]:
        """Objects of ``class_name`` matching ``query`` ({"where", "limit"?, "skip"?, "order"?})."""

    @abstractmethod
    def related_ids(self, class_name: str, object_id: str, key: str) -> Set[str]:
        """objectIds of the objects in relation ``key`` of ``class_name``/``object_id``."""


def _need_lookup(lookup: Optional[Lookup], op: str) -> Lookup:
    if lookup is None:
        raise query_error(f"{op} needs a subquery, but no store was given to run it")
    return lookup


def _subquery(spec: Any, op: str, lookup: Optional[Lookup]) -> Tuple[str, List[dict]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("className"), str):
        raise query_error(f"{op} needs {{\"className\": ..., \"where\": {{...}}}}, got {describe(spec)}")
    where = spec.get("where", {})
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise query_error(f"{op}: the subquery's where must be an object, got {describe(where)}")
    query: Dict[str, Any] = {"where": where}
    for k in ("limit", "skip", "order"):
        if spec.get(k) is not None:
            query[k] = spec[k]
    found = _need_lookup(lookup, op).find(spec["className"], query)
    return spec["className"], list(found)


def in_query_predicate(spec: Any, op: str, lookup: Optional[Lookup]) -> Callable[[Any], bool]:
    """``$inQuery``: a pointer (or an array holding one) to an object the subquery finds."""
    class_name, found = _subquery(spec, op, lookup)
    ids = frozenset(o.get("objectId") for o in found)

    def points_in(v: Any) -> bool:
        t = v.__class__
        if t is dict:
            return (v.get("className") == class_name and v.get("objectId") in ids
                    and v.get("__type") in ("Pointer", "Object"))
        if t is list:
            for e in v:
                if e.__class__ is dict and points_in(e):
                    return True
        return False
    return points_in


def selected_values(spec: Any, op: str, lookup: Optional[Lookup]) -> list:
    """``$select``: the values of ``key`` in the objects the subquery finds."""
    if not isinstance(spec, dict) or not isinstance(spec.get("key"), str) or "query" not in spec:
        raise query_error(f"{op} needs {{\"query\": {{\"className\": ..., \"where\": ...}}, \"key\": ...}}, got {describe(spec)}")
    _, found = _subquery(spec["query"], op, lookup)
    get = field_getter(spec["key"])
    values = []
    for o in found:
        v = get(o)
        if v is M:
            continue
        if v.__class__ is Fanout:
            values.extend(x for x in v if x is not M)
        else:
            values.append(v)
    return values


def related_to_predicate(spec: Any, lookup: Optional[Lookup]) -> Callable[[dict], bool]:
    """``$relatedTo``: the object is in relation ``key`` of ``object``."""
    if (not isinstance(spec, dict) or not isinstance(spec.get("object"), dict)
            or not isinstance(spec.get("key"), str)):
        raise query_error(f"$relatedTo needs {{\"object\": Pointer, \"key\": \"field\"}}, got {describe(spec)}")
    obj = spec["object"]
    cls, oid = obj.get("className"), obj.get("objectId")
    if not isinstance(cls, str) or not isinstance(oid, str):
        raise query_error(f"$relatedTo: object must be a Pointer with className and objectId, got {describe(obj)}")
    ids = frozenset(_need_lookup(lookup, "$relatedTo").related_ids(cls, oid, spec["key"]))

    def related(o: dict) -> bool:
        return o.get("objectId") in ids
    return related


def relation_holds(lookup: Lookup, class_name: str, key: str, target_class: Optional[str],
                   target_id: str) -> Callable[[dict], bool]:
    """An object of ``class_name`` whose Relation field ``key`` holds
    ``target_class``/``target_id`` (asked of the lookup per object)."""
    related_ids = lookup.related_ids

    def holds(o: dict) -> bool:
        v = o.get(key)
        return (v.__class__ is dict and v.get("__type") == "Relation" and v.get("className") == target_class
                and target_id in related_ids(class_name, o.get("objectId"), key))
    return holds

"""Plans: the backend-neutral REST calls a statement means.

The planner produces these; the embedded engine executes them; the REST client
sends them; ``cql.explain`` shows them as request dicts (``requests_of``, the
reference lowering that backends implement). Every value inside a
plan (where JSON, row bodies, update bodies) is already REST JSON: dates are
``{"__type": "Date", ...}``, pointers ``{"__type": "Pointer", ...}``, ops
``{"__op": ...}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

from .errors import CQLError, MissingObjectId

DEFAULT_LIMIT = 100
BATCH_SIZE = 50
#: objectIds that cannot name an object: as the last segment of a URL path they
#: would name the class itself ("/classes/C/." is "/classes/C/").
UNNAMED_IDS = ("", ".", "..")


@dataclass(frozen=True)
class Find:
    """GET /classes/<class_name>: a select (also the id query of a bulk write).

    ``keys`` is the REST ``keys`` list (None: every field); ``columns`` is the
    select list as written, for display (None: ``*``). ``limit`` None means
    "not given": the default of 100 applies when it runs. A count-only select
    has ``count=True`` and ``limit=0``.
    """
    class_name: str
    where: dict = field(default_factory=dict)
    keys: Optional[Tuple[str, ...]] = None
    include: Tuple[str, ...] = ()
    order: Tuple[str, ...] = ()
    limit: Optional[int] = None
    skip: Optional[int] = None
    count: bool = False
    columns: Optional[Tuple[str, ...]] = None

    @property
    def count_only(self) -> bool:
        return self.count and self.limit == 0

    @property
    def effective_limit(self) -> int:
        return DEFAULT_LIMIT if self.limit is None else self.limit


@dataclass(frozen=True)
class Create:
    """POST /classes/<class_name> (one row) or /batch (several): an insert."""
    class_name: str
    rows: Tuple[dict, ...]
    columns: Tuple[str, ...] = ()


class _Write:
    """What Update and Delete share: one object pinned by ``object_id``, or
    every object matching ``where``."""
    class_name: str
    object_id: Optional[str]
    where: dict

    @property
    def pinned(self) -> bool:
        return self.object_id is not None

    def matching(self) -> Find:
        """The query of the objects this write touches (for counts/confirmation)."""
        where = dict(self.where)
        if self.object_id is not None:
            where = {"$and": [{"objectId": self.object_id}, where]} if where else {"objectId": self.object_id}
        return Find(self.class_name, where=where, keys=("objectId",), count=True, limit=0)


@dataclass(frozen=True)
class Update(_Write):
    """An update. With ``object_id``: PUT /classes/C/id, ``where`` being the
    extra condition of a conditional write (empty: none). Without: every object
    matching ``where`` (empty: all of them), ids queried first, then /batch."""
    class_name: str
    body: dict
    object_id: Optional[str] = None
    where: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Delete(_Write):
    """A delete; ``object_id``/``where`` as in Update."""
    class_name: str
    object_id: Optional[str] = None
    where: dict = field(default_factory=dict)


Plan = Union[Find, Create, Update, Delete]


def is_operator_object(value: Any) -> bool:
    """Whether a where condition is an operator object such as ``{"$gt": 1}``
    rather than a value to compare with: as in MongoDB, any key starting with
    ``$`` makes it one (one that mixes in plain keys is malformed, and the
    matcher says so)."""
    return isinstance(value, dict) and any(k.__class__ is str and k.startswith("$") for k in value)


# ---- the REST requests a plan means -----------------------------------------------------
T = TypeVar("T")


def in_batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    """``items`` in consecutive chunks of at most ``size`` (a /batch request holds 50)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def request(method: str, path: str, params: Optional[dict] = None, body: Optional[dict] = None) -> dict:
    """One request as ``explain`` shows it (params and body only when not empty)."""
    out: Dict[str, Any] = {"method": method, "path": path}
    if params:
        out["params"] = params
    if body:
        out["body"] = body
    return out


def class_path(class_name: str) -> str:
    return f"/classes/{class_name}"


def object_path(class_name: str, object_id: str) -> str:
    """The path of one object, its id escaped (an id may hold '/' or spaces);
    an id that would make it the class's path is refused (104)."""
    if not isinstance(object_id, str) or object_id in UNNAMED_IDS:
        raise MissingObjectId(f"{object_id!r} is not an objectId: give the id of an object")
    from urllib.parse import quote  # here, not at the top: `import cql` does not need urllib
    try:
        return f"/classes/{class_name}/{quote(object_id, safe='')}"
    except UnicodeEncodeError:  # a lone surrogate: not text
        raise MissingObjectId(f"{object_id!r} is not an objectId: it holds a lone surrogate") from None


def create_requests(create: Create) -> List[dict]:
    """One POST for one row; else /batch requests of at most BATCH_SIZE rows each."""
    path = class_path(create.class_name)
    if len(create.rows) == 1:
        return [request("POST", path, body=create.rows[0])]
    return [request("POST", "/batch", body={"requests": [
                {"method": "POST", "path": path, "body": row} for row in chunk]})
            for chunk in in_batches(create.rows)]


def find_params(find: Find) -> dict:
    """A Find as REST query parameters (where as a dict, lists comma-joined)."""
    params: Dict[str, Any] = {}
    if find.where:
        params["where"] = find.where
    if find.keys:
        params["keys"] = ",".join(find.keys)
    if find.include:
        params["include"] = ",".join(find.include)
    if find.order:
        params["order"] = ",".join(find.order)
    if find.limit is not None:
        params["limit"] = find.limit
    if find.skip is not None:
        params["skip"] = find.skip
    if find.count:
        params["count"] = 1
    return params


def requests_of(p: Plan) -> List[dict]:
    """The REST requests of a plan, paths relative to the API root (``explain``'s shape).

    A write that does not pin one objectId shows the id query and the /batch
    step it implies, with ``{objectId}`` standing for each matching id.
    """
    if isinstance(p, Find):
        return [request("GET", class_path(p.class_name), find_params(p))]
    if isinstance(p, Create):
        return create_requests(p)
    if isinstance(p, (Update, Delete)):
        method = "PUT" if isinstance(p, Update) else "DELETE"
        body = p.body if isinstance(p, Update) else None
        if p.object_id is not None:
            return [request(method, object_path(p.class_name, p.object_id),
                            {"where": p.where} if p.where else None, body)]
        ids: Dict[str, Any] = {"where": p.where} if p.where else {}
        ids["keys"] = "objectId"
        step: Dict[str, Any] = {"method": method, "path": f"{class_path(p.class_name)}/{{objectId}}"}
        if body:
            step["body"] = body
        return [request("GET", class_path(p.class_name), ids),
                request("POST", "/batch", body={"requests": [step]})]
    raise CQLError(f"not a plan: {p!r}")

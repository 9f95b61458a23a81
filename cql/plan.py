"""Plans: the backend-neutral REST calls a statement means.

The planner produces these; the embedded engine executes them; the REST client
sends them; ``cql.explain`` shows them as request dicts. Every value inside a
plan (where JSON, row bodies, update bodies) is already REST JSON: dates are
``{"__type": "Date", ...}``, pointers ``{"__type": "Pointer", ...}``, ops
``{"__op": ...}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

DEFAULT_LIMIT = 100
BATCH_SIZE = 50


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


@dataclass(frozen=True)
class Update:
    """An update. With ``object_id``: PUT /classes/C/id, ``where`` being the
    extra condition of a conditional write (empty: none). Without: every object
    matching ``where`` (empty: all of them), ids queried first, then /batch."""
    class_name: str
    body: dict
    object_id: Optional[str] = None
    where: dict = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.object_id is not None

    def matching(self) -> Find:
        """The query of the objects this write touches (for counts/confirmation)."""
        return _matching(self)


@dataclass(frozen=True)
class Delete:
    """A delete; ``object_id``/``where`` as in Update."""
    class_name: str
    object_id: Optional[str] = None
    where: dict = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.object_id is not None

    def matching(self) -> Find:
        return _matching(self)


def _matching(write: Union[Update, Delete]) -> Find:
    where = dict(write.where)
    if write.object_id is not None:
        where = {"$and": [{"objectId": write.object_id}, where]} if where else {"objectId": write.object_id}
    return Find(write.class_name, where=where, keys=("objectId",), count=True, limit=0)


Plan = Union[Find, Create, Update, Delete]

"""Model interfaces: ``s.Sample.first(10)``, ``s.Subject.where({...})`` and friends.

Every ``query`` argument is the conditions part of a JSON query (docs/query-language.md),
which also takes Django-style keys: ``{"lab__name": "cortexlab"}`` and
``{"lab": {"name": "cortexlab"}}`` ask the same. Order is deterministic everywhere: creation
order (``created``, then ``id``). ``first(n)`` is the n oldest, ``last(n)`` the n newest, both
returned oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from labstore.client.objects import LabObject
from labstore.client.results import ResultList
from labstore.errors import NotFound
from labstore.schema.types import Model

if TYPE_CHECKING:
    from labstore.client.session import Session

Filters = Mapping[str, Any]


class ModelInterface:
    """Finding and making objects of one model through a Session."""

    def __init__(self, session: Session, model: Model, cls: type[LabObject]) -> None:
        self.session = session
        self.model = model
        self.model_class = cls

    def __repr__(self) -> str:
        return f"<ModelInterface {self.model.cls_name} ({self.model.key})>"

    def new(self, **fields: Any) -> LabObject:
        """An unsaved object; ``session.set(obj)`` stores it.

        Raises:
            AttributeError: A keyword is not a field or relation of the model.
            InvalidInput: A value does not fit its field.
        """
        return self.model_class(**fields)

    def find(self, id: str) -> LabObject | None:
        """The object with this id (or location), or ``None`` if there is none you can see."""
        location = id if "/" in id else f"{self.model.key}/{id}"
        try:
            found: LabObject = self.session.get(location)
            return found
        except NotFound:
            return None

    def where(self, query: Filters | None = None, query_type: str | None = None) -> ResultList:
        """Every object matching the query, in creation order."""
        return self.session._results(self.model, dict(query or {}), query_type=query_type)

    def all(self, query_type: str | None = None) -> Iterator[LabObject]:
        """Every object, fetched a page at a time as you iterate."""
        return self.session._iterate(self.model, {}, query_type=query_type)

    def one(self, query: Filters | None = None, query_type: str | None = None) -> LabObject | None:
        """The first matching object, or ``None``."""
        found = self.first(1, query, query_type)
        return found[0] if found else None

    def first(
        self, n: int = 1, query: Filters | None = None, query_type: str | None = None
    ) -> ResultList:
        """The ``n`` oldest matching objects."""
        return self.session._results(self.model, dict(query or {}), limit=n, query_type=query_type)

    def last(
        self, n: int = 1, query: Filters | None = None, query_type: str | None = None
    ) -> ResultList:
        """The ``n`` newest matching objects, oldest first."""
        newest = self.session._results(
            self.model, dict(query or {}), limit=n, order="-created,-id", query_type=query_type
        )
        return newest._reverse_order()

    def count(self, query: Filters | None = None, query_type: str | None = None) -> int:
        """How many objects match."""
        return self.session._count(self.model, dict(query or {}), query_type)

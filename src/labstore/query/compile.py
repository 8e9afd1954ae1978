"""One compiler from the query AST to SQLAlchemy Core, for SQLite and PostgreSQL alike.

Choices that keep both databases (and the client's local replica) giving the same answers:

- every value is a bound parameter; names come from the schema, never from the input;
- relations compile to ``IN (SELECT ...)`` semi-joins, one per :class:`Related` node, so a
  nested query is one statement and never multiplies rows;
- conditions are null-safe (``NULL`` fails a comparison as ``false``, not ``unknown``), so
  ``Not`` means what it says; ordering puts ``NULL`` first ascending on both databases;
- ``LIKE`` is case-sensitive on both (the store turns on SQLite's ``case_sensitive_like``);
  the ``i`` lookups compare ``lower()`` of both sides (``ILIKE`` on PostgreSQL);
- an optional ``visible`` hook restricts every table a query touches, so a relation the
  caller may not see cannot be used to probe it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean

from labstore.query.ast import And, Condition, Node, Not, Or, OrderKey, Related
from labstore.query.filters import TAGS
from labstore.schema.registry import Registry
from labstore.schema.types import Model

TableFor = Callable[[Model], Table]
Visible = Callable[[Model, Table], ColumnElement[bool]]


class json_array_contains(FunctionElement[bool]):
    """A string ``value`` is an element of the JSON array in a column."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_contains"


@compiles(json_array_contains, "sqlite")
def _json_contains_sqlite(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({compiler.process(column, **kw)}) "
        f"WHERE json_each.value = {compiler.process(value, **kw)})"
    )


@compiles(json_array_contains, "postgresql")
def _json_contains_pg(element: json_array_contains, compiler: Any, **kw: Any) -> str:
    column, value = list(element.clauses)
    return (
        f"(CAST({compiler.process(column, **kw)} AS JSONB) @> "
        f"jsonb_build_array(CAST({compiler.process(value, **kw)} AS TEXT)))"
    )


def column_name(model: Model, name: str) -> str:
    """The column holding field or relation ``name``."""
    relation = model.relation(name)
    return relation.column if relation is not None else name


class Compiler:
    """Compiles AST nodes for the tables of one store."""

    def __init__(self, registry: Registry, table_for: TableFor, visible: Visible | None = None):
        self.registry = registry
        self.table_for = table_for
        self.visible = visible

    def where(self, model: Model, node: Node) -> ColumnElement[bool]:
        table = self.table_for(model)
        if isinstance(node, Condition):
            return self._condition(model, table, node)
        if isinstance(node, And):
            return and_(true(), *(self.where(model, n) for n in node.items))
        if isinstance(node, Or):
            if not node.items:
                return false()
            return or_(*(self.where(model, n) for n in node.items))
        if isinstance(node, Not):
            return not_(self.where(model, node.item))
        if isinstance(node, Related):
            return self._related(model, table, node)
        raise TypeError(f"not a query node: {node!r}")

    def _scoped(self, model: Model, table: Table, condition: ColumnElement[bool]) -> Any:
        if self.visible is not None:
            condition = and_(condition, self.visible(model, table))
        return condition

    def _related(self, model: Model, table: Table, node: Related) -> ColumnElement[bool]:
        relation = model.relation(node.relation)
        if relation is not None:
            parent = self.registry.parent(model, node.relation)
            parent_table = self.table_for(parent)
            ids = select(parent_table.c.id).where(
                self._scoped(parent, parent_table, self.where(parent, node.node))
            )
            column = table.c[relation.column]
            return and_(column.is_not(None), column.in_(ids))
        link = self.registry.children(model)[node.relation]
        child_table = self.table_for(link.child)
        fk = child_table.c[link.relation.column]
        parent_ids = select(fk).where(
            and_(
                fk.is_not(None),
                self._scoped(link.child, child_table, self.where(link.child, node.node)),
            )
        )
        return table.c.id.in_(parent_ids)

    def _condition(self, model: Model, table: Table, cond: Condition) -> ColumnElement[bool]:
        if cond.field == TAGS:
            return self._tags(model, table, cond)
        column = table.c[column_name(model, cond.field)]
        value = cond.value
        lookup = cond.lookup
        if lookup == "isnull":
            return column.is_(None) if value else column.is_not(None)
        if lookup == "exact" and value is None:
            return column.is_(None)
        if lookup == "in" and None in value:
            present = [v for v in value if v is not None]
            empty = column.is_(None)
            return or_(empty, and_(column.is_not(None), column.in_(present))) if present else empty
        field = self.registry.any_field(model, cond.field)
        if field is not None and field.kind in ("json", "array") and lookup == "contains":
            expr: ColumnElement[bool] = json_array_contains(column, str(value))
        else:
            expr = compare(column, lookup, value)
        # Null-safe: a NULL column fails the test as false, so Not() includes it.
        return and_(column.is_not(None), expr)

    def _tags(self, model: Model, table: Table, cond: Condition) -> ColumnElement[bool]:
        """The virtual ``tags`` field: a semi-join on ``object_tag`` (tags of any scope).

        The tag table lives in the same MetaData as the model tables, on the server and in a
        client's replica alike. It needs no visibility scope of its own: it only narrows
        rows of ``table``, which the caller's scope already restricts.
        """
        tags = table.metadata.tables["object_tag"]

        def tagged(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
            ids = select(tags.c.object_id).where(tags.c.model == model.key, *conditions)
            return table.c.id.in_(ids)

        value, lookup = cond.value, cond.lookup
        if lookup == "isnull":
            return not_(tagged()) if value else tagged()
        if lookup == "exact" and value is None:  # ``"tags": null``: has no tags
            return not_(tagged())
        if lookup == "in":
            present = [v for v in value if v is not None]
            found = tagged(tags.c.tag.in_(present)) if present else false()
            # As for fields, a null in the list also matches objects without any tag.
            return or_(found, not_(tagged())) if None in value else found
        if lookup in ("exact", "contains"):
            return tagged(tags.c.tag == value)
        raise ValueError(f"lookup {lookup!r} does not apply to tags")

    def order_by(self, model: Model, keys: Sequence[OrderKey]) -> list[UnaryExpression[Any]]:
        table = self.table_for(model)
        out = []
        for key in keys:
            column = table.c[column_name(model, key.field)]
            ordered = column.desc() if key.descending else column.asc()
            if column.nullable:
                # Where NULLs can occur, place them alike on every database. Never on NOT NULL
                # columns (id, created, ...): PostgreSQL then cannot walk their indexes.
                ordered = ordered.nulls_last() if key.descending else ordered.nulls_first()
            out.append(ordered)
        return out

    def after(
        self, model: Model, keys: Sequence[OrderKey], values: Sequence[Any]
    ) -> ColumnElement[bool]:
        """Rows strictly after the row whose order values are ``values`` (keyset paging)."""
        table = self.table_for(model)
        columns = [table.c[column_name(model, k.field)] for k in keys]
        branches = []
        for i, key in enumerate(keys):
            equal = [_same(columns[j], values[j]) for j in range(i)]
            branches.append(and_(*equal, _beyond(columns[i], values[i], key.descending)))
        condition = or_(*branches)
        first, value = columns[0], values[0]
        if not first.nullable and value is not None and len(keys) > 1:
            # A leading range the database can seek on: without it SQLite walks the index
            # from its start on every page, so deep pages cost more and more.
            bound = first <= value if keys[0].descending else first >= value
            condition = and_(bound, condition)
        return condition


def _same(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _beyond(column: Any, value: Any, descending: bool) -> ColumnElement[bool]:
    # NULL sorts first ascending and last descending (see Compiler.order_by).
    if not descending:
        return column.is_not(None) if value is None else column > value  # type: ignore[no-any-return]
    if value is None:
        return false()
    return or_(column < value, column.is_(None))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compare(column: Any, lookup: str, value: Any) -> ColumnElement[bool]:
    """``column <lookup> value`` for a scalar field (not null-safe: callers add that)."""
    if lookup == "exact":
        return column == value  # type: ignore[no-any-return]
    if lookup == "iexact":
        return func.lower(column) == str(value).lower()  # type: ignore[no-any-return]
    if lookup in ("contains", "startswith", "endswith"):
        return column.like(_pattern(lookup, value), escape="\\")  # type: ignore[no-any-return]
    if lookup in ("icontains", "istartswith", "iendswith"):
        pattern = _pattern(lookup[1:], str(value).lower())
        # ILIKE on PostgreSQL (SQLAlchemy writes lower() LIKE lower() on SQLite): the planner
        # then estimates the pattern from the column's statistics. It has none for lower(name),
        # guessed 300 of 900,000 rows for a pattern that matches 130,000, and sorted them all
        # in parallel (190 ms) where walking the default order takes 1 ms.
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    if lookup == "in":
        return column.in_(list(value))  # type: ignore[no-any-return]
    if lookup == "range":
        low, high = value
        return and_(column >= low, column <= high)
    operators = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
    if lookup in operators:
        result: ColumnElement[bool] = getattr(column, operators[lookup])(value)
        return result
    raise ValueError(f"unknown lookup {lookup!r}")


def _pattern(lookup: str, value: Any) -> str:
    text = _like_escape(str(value))
    if lookup == "contains":
        return f"%{text}%"
    if lookup == "startswith":
        return f"{text}%"
    return f"%{text}"


__all__ = ["Compiler", "column_name", "compare", "json_array_contains"]

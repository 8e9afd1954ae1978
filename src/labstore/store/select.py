"""Running compiled queries on a store's tables: pages, counts and related objects.

The server runs these with its visibility rule as the compiler's scope; the client's local
store runs the very same functions on its replica, so both answer a query alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    func,
    literal_column,
    select,
    true,
)

from labstore.query.ast import TRUE, Node, OrderKey
from labstore.query.compile import Compiler, column_name
from labstore.query.pagination import decode_cursor, encode_cursor
from labstore.schema.types import Model
from labstore.store import order_walk
from labstore.store.hints import unindexed

ReturnTree = Mapping[str, "ReturnTree"]


@dataclass
class RowPage:
    rows: list[RowMapping]
    next: str | None


@dataclass(frozen=True)
class ScopePart:
    """One of the disjoint conditions a scope splits into for counting (see ``count_statement``)."""

    condition: ColumnElement[bool]
    drives: bool = False
    """The part is known to pick few rows: the count should find them through the part's own
    indexes and test the query's conditions on each, instead of walking an index of those
    conditions."""


def _scope(compiler: Compiler, model: Model) -> ColumnElement[bool]:
    table = compiler.table_for(model)
    return compiler.visible(model, table) if compiler.visible is not None else true()


def page_statement(
    compiler: Compiler,
    model: Model,
    node: Node,
    order: Sequence[OrderKey],
    *,
    limit: int | None,
    offset: int = 0,
    cursor: str | None = None,
    columns: Sequence[str] | None = None,
    walk_order: bool = False,
) -> Select[Any]:
    """The SELECT of one page (``limit + 1`` rows, so the caller sees whether more follow)
    of the rows matching ``node`` in ``order``; ``columns`` narrows it (default: all).
    ``walk_order`` keeps the conditions' indexes from driving (see ``store.order_walk``)."""
    table = compiler.table_for(model)
    conditions = compiler.where(model, node)
    # The scope first: SQLite tests terms in order, and the access columns are in every index
    # the server walks, so rows the user may not see are dropped before their table row is read.
    where = [_scope(compiler, model), unindexed(conditions) if walk_order else conditions]
    where.extend(_after(compiler, model, order, cursor))
    chosen = [table.c[name] for name in columns] if columns is not None else [table]
    stmt = select(*chosen).where(*where).order_by(*compiler.order_by(model, order))
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    return stmt


def select_page(
    conn: Connection,
    compiler: Compiler,
    model: Model,
    node: Node,
    order: Sequence[OrderKey],
    *,
    limit: int | None,
    offset: int = 0,
    cursor: str | None = None,
) -> RowPage:
    """One page of rows matching ``node``, in ``order``, with the cursor of the next page."""
    page = partial(
        page_statement, compiler, model, node, order, limit=limit, offset=offset, cursor=cursor
    )
    stmt = page()
    rows = None
    if conn.dialect.name == "sqlite" and limit is not None and node != TRUE and order:
        rows = order_walk.rows_by_walking(
            conn,
            sorting=stmt,
            walking=lambda: page(walk_order=True),
            matching=lambda: _matching(compiler, model, node, order, cursor),
        )
    if rows is None:
        rows = list(conn.execute(stmt).mappings().all())
    next_cursor = None
    if limit is not None and len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        values = [last[column_name(model, k.field)] for k in order]
        next_cursor = encode_cursor(compiler.registry, model, order, values)
    return RowPage(rows, next_cursor)


def _after(
    compiler: Compiler, model: Model, order: Sequence[OrderKey], cursor: str | None
) -> list[ColumnElement[bool]]:
    """The condition of the rows after ``cursor`` (none without one)."""
    if not cursor:
        return []
    values = decode_cursor(compiler.registry, model, order, cursor)
    return [compiler.after(model, order, values)]


def _matching(
    compiler: Compiler, model: Model, node: Node, order: Sequence[OrderKey], cursor: str | None
) -> Select[Any]:
    """Rows of ``node`` (after ``cursor``) whoever may see them: the look before a walk."""
    table = compiler.table_for(model)
    where = [compiler.where(model, node), *_after(compiler, model, order, cursor)]
    # A constant, not a column: the filter's index alone answers it, no table row is read.
    return select(literal_column("1")).select_from(table).where(*where)


def _scope_parts(compiler: Compiler, model: Model, conn: Connection | None) -> list[ScopePart]:
    """The scope as disjoint conditions, when the visibility rule offers them."""
    parts = getattr(compiler.visible, "parts", None)
    if parts is None:
        return [ScopePart(_scope(compiler, model))]
    return list(parts(model, compiler.table_for(model), conn))


def count_statement(
    compiler: Compiler, model: Model, node: Node = TRUE, conn: Connection | None = None
) -> Select[Any]:
    """How many rows match ``node``: one count per disjoint part of the scope, added up.

    Each part is a condition an index can drive (rows of the user's shared groups, say), where
    their OR would make the database test every row of the table. ``conn``, when given, lets
    the scope look at the data to choose its parts.
    """
    table = compiler.table_for(model)
    where = compiler.where(model, node)
    steered = unindexed(where) if node != TRUE else where
    counts = [
        select(func.count())
        .select_from(table)
        .where(part.condition, steered if part.drives else where)
        .scalar_subquery()
        for part in _scope_parts(compiler, model, conn)
    ]
    total: ColumnElement[Any] = counts[0]
    for count in counts[1:]:
        total = total + count
    return select(total)


def count_rows(conn: Connection, compiler: Compiler, model: Model, node: Node = TRUE) -> int:
    return int(conn.execute(count_statement(compiler, model, node, conn)).scalar_one())


def fetch_related(
    conn: Connection,
    compiler: Compiler,
    model: Model,
    rows: Sequence[Mapping[Any, Any]],
    returns: ReturnTree,
    *,
    chunk: int = 500,
) -> list[tuple[Model, RowMapping]]:
    """Every object the ``returns`` tree reaches from ``rows``: one query per relation level."""
    out: list[tuple[Model, RowMapping]] = []
    seen: set[tuple[str, str]] = set()
    registry = compiler.registry
    for name, sub in returns.items():
        relation = model.relation(name)
        if relation is not None:
            target = registry.parent(model, name)
            ids = {r[relation.column] for r in rows if r[relation.column] is not None}
            found = _rows_where(conn, compiler, target, "id", ids, chunk)
        else:
            link = registry.children(model)[name]
            target = link.child
            found = _rows_where(
                conn, compiler, target, link.relation.column, {r["id"] for r in rows}, chunk
            )
        for row in found:
            key = (target.key, row["id"])
            if key not in seen:
                seen.add(key)
                out.append((target, row))
        if sub:
            for deeper in fetch_related(conn, compiler, target, found, sub, chunk=chunk):
                key = (deeper[0].key, deeper[1]["id"])
                if key not in seen:
                    seen.add(key)
                    out.append(deeper)
    return out


def _rows_where(
    conn: Connection,
    compiler: Compiler,
    model: Model,
    column: str,
    values: Iterable[str],
    chunk: int,
) -> list[RowMapping]:
    table = compiler.table_for(model)
    wanted = sorted(values)
    found: list[RowMapping] = []
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        stmt = (
            select(table)
            .where(table.c[column].in_(part), _scope(compiler, model))
            .order_by(table.c.created, table.c.id)
        )
        found.extend(conn.execute(stmt).mappings().all())
    return found

"""Reading objects as one user sees them: one object, filtered pages, counts and subtrees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from labstore.errors import InvalidInput, NotFound
from labstore.query.ast import TRUE, Node, OrderKey
from labstore.query.jsonquery import ParsedQuery
from labstore.schema.types import Model
from labstore.schema.values import is_valid_id
from labstore.server.access import visibility
from labstore.server.auth import Principal
from labstore.server.database import Database
from labstore.store.records import row_to_json
from labstore.store.select import count_rows, fetch_related, select_page


@dataclass
class Page:
    items: list[dict[str, Any]]
    next: str | None


class Reader:
    """Every read of one principal goes through here, restricted by what they may see."""

    def __init__(self, db: Database, principal: Principal) -> None:
        self.db = db
        self.registry = db.registry
        self.principal = principal
        self.visible = visibility(principal, db.table("access_share"))
        self.compiler = db.compiler(self.visible)

    def to_json(self, model: Model, row: Mapping[Any, Any]) -> dict[str, Any]:
        return row_to_json(model, row, self.registry.parent_keys(model))

    def row(self, conn: Connection, model: Model, ident: str) -> Row[Any]:
        """The visible row ``ident`` of ``model``.

        Raises:
            NotFound: No such object, or one the principal may not see (the same answer).
        """
        table = self.db.tables(model)
        found = None
        if is_valid_id(ident):
            found = conn.execute(
                select(table).where(table.c.id == ident, self.visible(model, table))
            ).first()
        if found is None:
            raise NotFound(
                f"no {model.key} with id {ident!r}", {"location": f"{model.key}/{ident}"}
            )
        return found

    def page(
        self,
        conn: Connection,
        model: Model,
        node: Node,
        order: Sequence[OrderKey],
        *,
        limit: int,
        cursor: str | None = None,
        offset: int = 0,
    ) -> Page:
        found = select_page(
            conn, self.compiler, model, node, order, limit=limit, offset=offset, cursor=cursor
        )
        return Page([self.to_json(model, r) for r in found.rows], found.next)

    def query(self, conn: Connection, parsed: ParsedQuery, *, limit: int) -> dict[str, Any]:
        """The answer to a JSON query: a page of objects and the related ones it asked for."""
        found = select_page(
            conn,
            self.compiler,
            parsed.model,
            parsed.node,
            parsed.order,
            limit=min(parsed.limit or limit, limit),
            offset=parsed.offset,
            cursor=parsed.cursor,
        )
        included = fetch_related(conn, self.compiler, parsed.model, found.rows, parsed.returns)
        return {
            "items": [self.to_json(parsed.model, r) for r in found.rows],
            "next": found.next,
            "included": [self.to_json(m, r) for m, r in included],
        }

    def count(self, conn: Connection, model: Model, node: Node = TRUE) -> int:
        return count_rows(conn, self.compiler, model, node)

    def subtree(
        self, conn: Connection, model: Model, root: Mapping[Any, Any], limit: int
    ) -> list[dict[str, Any]]:
        """The root and every visible object hanging below it, breadth first.

        Raises:
            InvalidInput: The subtree has more than ``limit`` objects.
        """
        out = [self.to_json(model, root)]
        seen = {(model.key, root["id"])}
        frontier: dict[str, tuple[Model, list[str]]] = {model.key: (model, [root["id"]])}
        while frontier:
            next_frontier: dict[str, tuple[Model, list[str]]] = {}
            for parent_model, ids in frontier.values():
                for link in self.registry.children(parent_model).values():
                    if not link.relation.browse:
                        continue
                    table = self.db.tables(link.child)
                    for chunk in _chunks(ids, 500):
                        rows = conn.execute(
                            select(table)
                            .where(
                                table.c[link.relation.column].in_(chunk),
                                self.visible(link.child, table),
                            )
                            .order_by(table.c.created, table.c.id)
                        ).mappings()
                        for row in rows:
                            key = (link.child.key, row["id"])
                            if key in seen:
                                continue
                            seen.add(key)
                            out.append(self.to_json(link.child, row))
                            if len(out) > limit:
                                raise InvalidInput(
                                    f"the subtree has more than {limit} objects: fetch it in "
                                    "parts with filtered listings",
                                    {"limit": limit},
                                )
                            entry = next_frontier.setdefault(link.child.key, (link.child, []))
                            entry[1].append(row["id"])
            frontier = next_frontier
        return out


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]

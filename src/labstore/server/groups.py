"""Moving objects between access groups: an object and the descendants that inherit from it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, select, update

from labstore.schema.types import Model
from labstore.server import changes
from labstore.server.database import Database


def regroup(
    conn: Connection,
    db: Database,
    model: Model,
    ids: Sequence[str],
    old_group: str,
    new_group: str,
    safety_level: int,
) -> int:
    """Move ``ids`` and their owned descendants still in ``old_group`` to ``new_group``.

    Descendants are followed through ownership (``cascade``) relations only, and only while
    they inherit (are in ``old_group``): one that has its own access keeps it, with its subtree.
    Returns how many objects moved.
    """
    moved = 0
    frontier: list[tuple[Model, list[str]]] = [(model, list(ids))]
    while frontier:
        current, current_ids = frontier.pop()
        table = db.tables(current)
        for start in range(0, len(current_ids), 500):
            chunk = current_ids[start : start + 500]
            movers = (
                conn.execute(
                    select(table.c.id).where(
                        table.c.id.in_(chunk), table.c.access_group == old_group
                    )
                )
                .scalars()
                .all()
            )
            conn.execute(
                update(table)
                .where(table.c.id.in_(movers))
                .values(access_group=new_group, safety_level=safety_level)
            )
            changes.record(conn, current.key, movers)
            moved += len(movers)
        for link in db.registry.children(current).values():
            if link.relation.on_delete != "cascade":
                continue
            child = db.tables(link.child)
            kids = (
                conn.execute(
                    select(child.c.id).where(
                        and_(
                            child.c[link.relation.column].in_(current_ids),
                            child.c.access_group == old_group,
                        )
                    )
                )
                .scalars()
                .all()
            )
            if kids:
                frontier.append((link.child, list(kids)))
    return moved

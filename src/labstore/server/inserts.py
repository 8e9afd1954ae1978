"""Inserts that tolerate rows already present (tags, folders): idempotent and race-free.

Checking first and inserting after would let two concurrent requests both insert, and the
loser's unique violation would abort its whole transaction on PostgreSQL; ``ON CONFLICT DO
NOTHING`` (both databases speak it) makes the second insert a no-op instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_missing(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``, skipping any that collide with a row already stored."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), list(rows))
    else:
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), list(rows))

"""The server's database: engine, tables and the query compiler, built from settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Table

from labstore.query.compile import Compiler, Visible
from labstore.schema.registry import Registry
from labstore.server import changes, idempotency
from labstore.store.engine import create_store_engine, write_transaction
from labstore.store.tables import StoreTables


class Database:
    """Everything that talks to the database, built once per app."""

    def __init__(
        self, url: str, registry: Registry, *, idempotency_key_hours: float = 24.0
    ) -> None:
        self.url = url
        self.idempotency_lifetime = dt.timedelta(hours=idempotency_key_hours)
        self.registry = registry
        self.engine: Engine = create_store_engine(url)
        self.tables = StoreTables(registry, server_tables=True)

    def table(self, name: str) -> Table:
        """One of the server's own tables (``auth_token``, ``project_member``, ...)."""
        return self.tables.metadata.tables[name]

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction whose changes enter the change feed as it commits.

        A request sent with an Idempotency-Key claims its key in the same transaction, so the
        key is remembered exactly when the write is (see :mod:`labstore.server.idempotency`).
        """
        with write_transaction(self.engine) as conn:
            key = idempotency.claim(conn, self.table("idempotency_key"), self.idempotency_lifetime)
            try:
                yield conn
            except BaseException:
                changes.discard(conn)
                idempotency.settle(key, committed=False)
                raise
            changes.flush(conn, self)
            idempotency.stamp(conn, self.table("idempotency_key"), key)
        idempotency.settle(key, committed=True)

    def compiler(self, visible: Visible | None = None) -> Compiler:
        return Compiler(self.registry, self.tables, visible)

    def dispose(self) -> None:
        self.engine.dispose()

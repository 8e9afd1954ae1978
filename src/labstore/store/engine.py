"""Engines for a store's database, with SQLite set up to behave like PostgreSQL where it matters.

SQLite: WAL (readers never block the writer), a busy timeout, case-sensitive ``LIKE`` (the
query compiler relies on it), foreign keys on request. Write transactions start with
``BEGIN IMMEDIATE`` so two writers queue instead of failing when a read lock would have to be
upgraded; reads start deferred and run beside a writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

_BEGIN_KEY = "labstore_begin"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_store_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get the pragmas above."""
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_pre_ping", True)
        # PostgreSQL's JIT compiles a plan whose cost estimate is high, even when a LIMIT ends it
        # after a few rows: a first page for a user who sees few objects then spent ~0.9 s
        # compiling to run for 10 ms (benchmarks/visibility.py --explain). Our queries are short.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
        return create_engine(url, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.info.pop(_BEGIN_KEY, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: serialised on SQLite, plain on PostgreSQL."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.info[_BEGIN_KEY] = "IMMEDIATE"
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent snapshot for reads."""
    with engine.connect() as conn, conn.begin():
        yield conn

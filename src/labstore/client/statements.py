"""Running the local store's SELECTs fast: compiled once per shape, executed on plain sqlite3.

A query on the replica is answered in well under a millisecond by SQLite; what used to cost
more was around it: compiling the statement to SQL on every call, SQLAlchemy's execution
machinery, a pooled connection and a transaction per query. :class:`StatementRunner` keeps
what SQLAlchemy's own compiled cache keeps — the SQL of each statement *shape*, keyed by the
statement's cache key, the values of a new statement bound in place of the old ones — and runs
it on one plain ``sqlite3`` connection, so the fixed cost of a query is that of building the
statement and binding its values. A single SELECT is its own consistent snapshot in SQLite, so
no transaction is needed; the connection is read-only.

Values go through the same bind processors SQLAlchemy would use (dates, times, JSON), so the
answers are those of the SQLAlchemy path; the tests compare them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.sql import Select, TextClause
from sqlalchemy.sql.compiler import SQLCompiler

Statement = Select[Any] | TextClause
CACHE_SIZE = 500  # statement shapes kept (a shape is one query form, whatever its values)


class StatementRunner:
    """Runs SELECT statements on one sqlite3 connection, made by ``connect`` when first
    needed (or given as ``conn``); it should be read-only."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        dialect: Dialect,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        self.connect = connect
        self.dialect = dialect
        self._compiled: OrderedDict[Any, tuple[SQLCompiler, list[str]]] = OrderedDict()
        self._lock = threading.RLock()  # re-entered by the statements of a snapshot
        self._conn = conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Statements run inside (by this thread) read one state of the file: one read
        transaction, which a sync committing meanwhile does not change. Nests."""
        with self._lock:
            conn = self._connection()
            if conn.in_transaction:
                yield
                return
            conn.execute("BEGIN")
            try:
                yield
            finally:
                conn.execute("COMMIT")

    def rows(
        self, stmt: Statement, values: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows of ``stmt`` as plain tuples, in its column order (values as stored);
        ``values`` replace those of its bind parameters, by their keys."""
        sql, params = self._bound(stmt, values)
        with self._lock:  # one connection: queries of several threads take turns
            return self._connection().execute(sql, params).fetchall()

    def scalar(self, stmt: Statement) -> Any:
        found = self.rows(stmt)
        return found[0][0] if found else None

    def _bound(
        self, stmt: Statement, given: Mapping[str, Any] | None = None
    ) -> tuple[str, list[Any]]:
        """The SQL and positional values of ``stmt``, compiled once per cache key."""
        key = stmt._generate_cache_key()
        values: dict[str, Any] | None = None  # None: the compiled statement's own values
        if key is None:  # not cacheable (never so for the compiler's statements)
            compiled = stmt.compile(dialect=self.dialect)
            values = dict(given) if given else None
        else:
            with self._lock:
                entry = self._compiled.get(key.key)
                if entry is not None:
                    self._compiled.move_to_end(key.key)
            if entry is None:
                made = stmt.compile(dialect=self.dialect)
                entry = (made, [b.key for b in key.bindparams])
                with self._lock:
                    self._compiled[key.key] = entry
                    while len(self._compiled) > CACHE_SIZE:
                        self._compiled.popitem(last=False)
            compiled, names = entry
            # The new statement's values, in the places of the cached one's (as SQLAlchemy's
            # own cache does it: both list their bind parameters in the same order).
            # ``given`` names this statement's parameters (their keys), which may be those of
            # another statement than the one compiled: values go by position.
            given = given or {}
            values = {
                name: given.get(bind.key, bind.effective_value)
                for name, bind in zip(names, key.bindparams, strict=True)
            }
        # The type's processors (dates, times, JSON), and those of expanded IN lists.
        processors: Mapping[str, Any] = compiled._bind_processors
        if not compiled.post_compile_params and not compiled.literal_execute_params:
            bound = compiled.construct_params(values)
            return compiled.string, [
                processors[name](bound[name]) if name in processors else bound[name]
                for name in compiled.positiontup or []
            ]
        expanded = compiled.construct_expanded_state(values)
        processors = {**processors, **expanded.processors}
        params = [
            processors[name](expanded.parameters[name])
            if name in processors
            else expanded.parameters[name]
            for name in expanded.positiontup or []
        ]
        return expanded.statement, params

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

"""SQLite pages of a filter that many rows match: walk the page's order instead of sorting.

SQLite's statistics give the rows of a value on average. ``name = ?`` on 900,000 datasets
with 75,000 names looks like 12 rows, so SQLite finds them through the name index and sorts
them; for a name 128,000 datasets share, that sort took 220 ms, where walking the default
order finds the first 100 in 0.2 ms (a viewer who sees 10% of them: 61 -> 2.9 ms). Which plan
is faster depends on the value, so before asking for a page the server looks:

1. whether SQLite's plan sorts (``EXPLAIN QUERY PLAN``, remembered per statement shape: without
   per-value statistics SQLite's plan does not depend on the values);
2. whether at least :data:`WALK_WHEN_MATCHING` rows match the filter (a count bounded by that
   number, through the filter's own index);
3. if both, the page is asked with the filter kept off the indexes, so SQLite walks the order,
   within :data:`WALK_BUDGET_STEPS` steps of its virtual machine: a user who sees few of those
   rows may have to walk far, and then the sorting plan runs after all.

Either plan gives the same rows; only their cost differs.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, func, select
from sqlalchemy.exc import OperationalError

WALK_WHEN_MATCHING = 5000
"""A filter matching this many rows finds a 100-row page within ~2% of a million-row table."""
WALK_BUDGET_STEPS = 250_000
"""About 15 ms of walking an index; the sorting plan of 5,000 rows and more costs more."""
_CHECK_EVERY = 1000
_REMEMBERED = 512

_sorting_shapes: OrderedDict[Any, bool] = OrderedDict()
_remembering = threading.Lock()


def rows_by_walking(
    conn: Connection,
    *,
    sorting: Select[Any],
    walking: Callable[[], Select[Any]],
    matching: Callable[[], Select[Any]],
) -> list[RowMapping] | None:
    """The page's rows by walking its order, or None when the ``sorting`` plan should run.

    ``walking`` builds the same page with the filter kept off the indexes, ``matching`` the
    rows of the filter alone.
    """
    if not _sorts(conn, sorting):
        return None
    try:
        with _budget(conn, WALK_BUDGET_STEPS):
            bounded = matching().limit(WALK_WHEN_MATCHING).subquery()
            found = conn.execute(select(func.count()).select_from(bounded)).scalar_one()
            if found < WALK_WHEN_MATCHING:
                return None
            return list(conn.execute(walking()).mappings().all())
    except OperationalError as error:
        if _interrupted(error):
            return None
        raise


def _sorts(conn: Connection, stmt: Select[Any]) -> bool:
    """Whether SQLite's plan for ``stmt`` sorts its rows (a temporary B-tree for the order)."""
    shape = stmt._generate_cache_key()  # SQLAlchemy's own: the statement without its values
    key = (conn.engine.url, shape.key) if shape is not None else None
    if key is not None:
        with _remembering:
            known = _sorting_shapes.get(key)
            if known is not None:
                _sorting_shapes.move_to_end(key)
                return known
    sorts = any("TEMP B-TREE FOR" in step and "ORDER BY" in step for step in query_plan(conn, stmt))
    if key is not None:
        with _remembering:  # the server's worker threads share it
            _sorting_shapes[key] = sorts
            if len(_sorting_shapes) > _REMEMBERED:
                _sorting_shapes.popitem(last=False)
    return sorts


def query_plan(conn: Connection, stmt: Select[Any]) -> list[str]:
    """SQLite's plan for ``stmt``: the steps ``EXPLAIN QUERY PLAN`` names, in order."""
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    # The values do not change the plan (SQLite has no per-value statistics to read them
    # with), so the plan is asked with NULLs: no value needs converting for the driver.
    nulls = (None,) * len(compiled.positiontup or ())
    return [str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", nulls)]


@contextmanager
def _budget(conn: Connection, steps: int) -> Iterator[None]:
    """Interrupt the statements run meanwhile on ``conn`` after ``steps`` steps in all."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection), "a budget is for SQLite connections"
    left = [steps]

    def tick() -> int:
        left[0] -= _CHECK_EVERY
        return 1 if left[0] < 0 else 0

    raw.set_progress_handler(tick, _CHECK_EVERY)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _interrupted(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and "interrupt" in str(error.orig)

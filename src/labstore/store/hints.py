"""Hints for SQLite's planner, written as conditions (the condition alone elsewhere).

SQLite plans without per-value statistics, so where the data is skewed its plan can be far
from the best one; these let the server say what it has looked at.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import NullType


class _PlanHint(FunctionElement[bool]):
    """A condition wrapped in a hint for SQLite's planner; the condition itself elsewhere."""

    # Not Boolean: SQLAlchemy would write a Boolean function as "... = 1" on SQLite, and
    # SQLite reads likelihood() only as a whole term.
    type = NullType()  # type: ignore[assignment]
    inherit_cache = True


class unindexed(_PlanHint):
    """A condition no index may drive (SQLite's unary ``+``), so another index drives: that of
    a condition known to pick few rows, or that of the order (``store.order_walk``).

    SQLite would otherwise walk the index of a query's filter whenever one exists, even when
    the other condition picks a handful of rows or the filter matches most of the table.
    """

    name = "unindexed"
    inherit_cache = True


class rare(_PlanHint):
    """A condition known to hold for few rows (SQLite's ``likelihood(..., 1e-6)``).

    SQLite's statistics give rows per value on average: where one owner has 900,000 rows,
    ``owner = ?`` looks as if it matched them all, whoever asks, and SQLite scans a whole
    covering index (50 ms) rather than seek the owner index for a user who owns nothing.
    Told the term is rare, it seeks; and a seek under a ``LIMIT`` stops, where a scan for rare
    rows does not.
    """

    name = "rare"
    inherit_cache = True


def _sole_clause(element: _PlanHint, compiler: Any, **kw: Any) -> str:
    (condition,) = list(element.clauses)
    return str(compiler.process(condition, **kw))


compiles(unindexed)(_sole_clause)
compiles(rare)(_sole_clause)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+({_sole_clause(element, compiler, **kw)})"


@compiles(rare, "sqlite")
def _rare_sqlite(element: rare, compiler: Any, **kw: Any) -> str:
    return f"likelihood({_sole_clause(element, compiler, **kw)}, 0.000001)"

"""Queries of one shape share one statement; each call binds its own values.

Building a statement from the query AST (SQLAlchemy Core objects for every condition) costs
more than SQLite takes to answer a selective query. Two queries that differ only in their
values — ``{"lab__name": "lab07"}`` and ``{"lab__name": "lab12"}`` — compile alike, so the
store builds the statement once per *shape*: :func:`parameterize` replaces each value the
compiler uses as it is (equality, comparisons, ranges, ``in`` lists) with a :class:`Slot`;
the compiler turns slots into bind parameters like any value; :func:`slot_binds` finds which
bind parameter holds which slot, and every later call of that shape binds its own values
there. Values the compiler looks into (patterns it escapes, ``isnull``, nulls) stay in the
shape, so their queries are simply shapes of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

from sqlalchemy import Select

from labstore.query.ast import And, Condition, Node, Not, Or, Related

BOUND_LOOKUPS = frozenset({"exact", "gt", "gte", "lt", "lte", "in", "range"})
_SCALARS = (str, int, float, Decimal, dt.date)  # bool is an int; datetime a date
SlotSpec = int | list[int]  # the slot of a bind parameter, or the slots of an IN list


class Slot:
    """A value's place in a query shape: the ``index``-th value of the call."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"Slot({self.index})"


def parameterize(node: Node) -> tuple[Hashable, Node, list[Any]]:
    """The shape's key, the node with slots in place of its values, and the values."""
    values: list[Any] = []

    def slot(value: Any) -> Slot:
        values.append(value)
        return Slot(len(values) - 1)

    def walk(item: Node) -> tuple[Hashable, Node]:
        if isinstance(item, Condition):
            return condition(item)
        if isinstance(item, And | Or):
            walked = [walk(n) for n in item.items]
            keys = tuple(k for k, _ in walked)
            return (type(item).__name__, keys), type(item)(tuple(n for _, n in walked))
        if isinstance(item, Not):
            inner_key, inner = walk(item.item)
            return ("Not", inner_key), Not(inner)
        inner_key, inner = walk(item.node)
        return ("Related", item.relation, inner_key), Related(item.relation, inner)

    def condition(cond: Condition) -> tuple[Hashable, Node]:
        value, lookup = cond.value, cond.lookup
        if lookup in ("in", "range") and isinstance(value, list | tuple):
            if all(v is None or isinstance(v, _SCALARS) for v in value):
                if lookup == "range" and None in value:
                    return ("lit", cond.field, lookup, _frozen(value)), cond
                shaped = [None if v is None else slot(v) for v in value]
                nulls = tuple(v is None for v in value)
                placed = shaped if lookup == "in" else tuple(shaped)
                return ("slots", cond.field, lookup, nulls), Condition(cond.field, lookup, placed)
        elif lookup in BOUND_LOOKUPS and isinstance(value, _SCALARS):
            kind = type(value).__name__
            return ("slot", cond.field, lookup, kind), Condition(cond.field, lookup, slot(value))
        return ("lit", cond.field, lookup, _frozen(value)), cond

    key, shaped = walk(node)
    return key, shaped, values


def slot_binds(stmt: Select[Any], slots: int) -> list[tuple[str, SlotSpec]] | None:
    """Which bind parameter of ``stmt`` holds which slot; None if any slot is not found
    exactly once (the statement is then not shared)."""
    key = stmt._generate_cache_key()
    if key is None:
        return None
    found: list[tuple[str, SlotSpec]] = []
    seen: list[int] = []
    for bind in key.bindparams:
        value = bind.value
        if isinstance(value, Slot):
            found.append((bind.key, value.index))
            seen.append(value.index)
        elif isinstance(value, list | tuple) and any(isinstance(v, Slot) for v in value):
            if not all(isinstance(v, Slot) for v in value):
                return None
            indexes = [v.index for v in value]
            found.append((bind.key, indexes))
            seen.extend(indexes)
    return found if sorted(seen) == list(range(slots)) else None


def bound_values(binds: list[tuple[str, SlotSpec]], values: list[Any]) -> dict[str, Any]:
    """The values of one call, by bind parameter name."""
    return {
        name: values[spec] if isinstance(spec, int) else [values[i] for i in spec]
        for name, spec in binds
    }


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for a value kept in a shape's key."""
    if isinstance(value, list | tuple):
        return ("seq", tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    return (type(value).__name__, value)

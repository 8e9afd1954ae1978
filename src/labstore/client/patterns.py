"""Pattern searches on the local store through the few distinct values of a column.

``name__icontains="spikes.times"`` on a million datasets makes SQLite test every row's
``lower(name)``, although the column holds only some hundred distinct names. When a text
column leads an index, the store reads its distinct values with a loose index scan (one
index seek per value, as a recursive query), tests the pattern on those alone — in SQLite,
with the compiler's own comparison, so the semantics are the server's — and asks for the
matching values with ``IN``, which the index answers directly. The same rows match: both forms
are null-safe, so they agree under ``__not__`` too.

A column with more than :data:`MAX_DISTINCT` distinct values keeps the plain pattern (the scan
stops there). The distinct values are kept per column until the file changes (SQLite's
``data_version``, which also sees other processes' syncs).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import Column, Index, Table, UniqueConstraint, bindparam, func, select, text

from labstore.client.statements import StatementRunner
from labstore.query.ast import And, Condition, Node, Not, Or, Related, map_items
from labstore.query.compile import TableFor, compare
from labstore.schema.registry import Registry
from labstore.schema.types import Model

PATTERN_LOOKUPS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)
MAX_DISTINCT = 2000
TEXT_KINDS = ("str", "text")


class DistinctValues:
    """Rewrites pattern conditions into ``IN`` lists of the matching distinct values."""

    def __init__(self, registry: Registry, table_for: TableFor, runner: StatementRunner) -> None:
        self.registry = registry
        self.table_for = table_for
        self.runner = runner
        self._known: dict[tuple[str, str], list[str] | None] = {}
        self._version: int | None = None
        self._lock = threading.Lock()

    def rewrite(self, model: Model, node: Node) -> Node:
        """``node`` with every pattern condition on an indexed text column as an ``IN``."""
        if isinstance(node, Condition):
            return self._condition(model, node)
        if isinstance(node, And | Or | Not):
            return map_items(node, lambda item: self.rewrite(model, item))
        relation = model.relation(node.relation)
        if relation is not None:
            target = self.registry.parent(model, node.relation)
        else:
            target = self.registry.children(model)[node.relation].child
        return Related(node.relation, self.rewrite(target, node.node))

    def _condition(self, model: Model, cond: Condition) -> Node:
        field = model.field(cond.field)
        if cond.lookup not in PATTERN_LOOKUPS or field is None or field.kind not in TEXT_KINDS:
            return cond
        table = self.table_for(model)
        column = table.c[cond.field]
        if not _leads_an_index(table, column):
            return cond
        values = self._distinct(table, column)
        if values is None:
            return cond
        candidates = func.json_each(bindparam("values", json.dumps(values))).table_valued("value")
        matching = select(candidates.c.value).where(
            compare(candidates.c.value, cond.lookup, cond.value)
        )
        found = [row[0] for row in self.runner.rows(matching)]
        return Condition(cond.field, "in", found)

    def _distinct(self, table: Table, column: Column[Any]) -> list[str] | None:
        """The column's distinct values (None: more than MAX_DISTINCT), kept per version."""
        version = self.runner.scalar(
            select(text("data_version")).select_from(text("pragma_data_version"))
        )
        key = (table.name, column.name)
        with self._lock:
            if version != self._version:
                self._known.clear()
                self._version = version
            if key in self._known:
                return self._known[key]
        name, col = table.name, column.name
        # A loose index scan: each step seeks the next value above the last one.
        loose = text(
            f'WITH RECURSIVE d(v) AS (SELECT min("{col}") FROM "{name}" UNION ALL '
            f'SELECT (SELECT min("{col}") FROM "{name}" WHERE "{col}" > d.v) FROM d '
            "WHERE d.v IS NOT NULL) SELECT v FROM d WHERE v IS NOT NULL LIMIT :most"
        ).bindparams(most=MAX_DISTINCT + 1)
        values = [row[0] for row in self.runner.rows(loose)]
        found = values if len(values) <= MAX_DISTINCT else None
        with self._lock:
            if self._version == version:
                self._known[key] = found
        return found


def _leads_an_index(table: Table, column: Column[Any]) -> bool:
    """Whether an index (or a unique constraint's) starts with ``column``: seeks are cheap."""
    for group in [*table.indexes, *table.constraints]:
        if isinstance(group, Index | UniqueConstraint):
            columns = list(group.columns)
            if columns and columns[0] is column:
                return True
    return False

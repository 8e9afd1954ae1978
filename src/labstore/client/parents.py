"""Conditions on a parent answered by its id, so the replica's indexes also give the order.

The compiler turns ``{"lab__name": "lab07"}`` into ``lab_id IN (SELECT id FROM lab WHERE
name = ?)``. SQLite then reads the experiments through the replica index ``(lab_id, created,
id)`` but cannot know that the subquery gives one lab, so it sorts the answer again: the sort
was half the time of a search answering a thousand experiments. The local store therefore
first asks which parents match (a lookup through the parent's own indexes); when exactly one
does, the condition becomes ``lab_id = <its id>`` and the index hands the ids over in order.
When none does, the condition is false; when several do, it stays as the compiler makes it.

Both statements run in one read transaction of the store (see ``LocalStore._run``), so a
sync committing in between cannot mix two states of the store into one answer.
"""

from __future__ import annotations

from collections.abc import Callable

from labstore.query.ast import And, Condition, Node, Not, Or, Related, map_items
from labstore.schema.registry import Registry
from labstore.schema.types import Model

FALSE: Node = Or(())  # no parent matches: the compiler makes ``false`` of an empty Or
# ids(parent model, condition): the ids of at most two parents matching the condition.
ParentIds = Callable[[Model, Node], list[str]]


class KnownParents:
    """Rewrites each condition on one parent into ``relation = parent id``."""

    def __init__(self, registry: Registry, ids: ParentIds) -> None:
        self.registry = registry
        self.ids = ids

    def rewrite(self, model: Model, node: Node) -> Node:
        if isinstance(node, Condition):
            return node
        if isinstance(node, And | Or | Not):
            return map_items(node, lambda item: self.rewrite(model, item))
        if model.relation(node.relation) is None:  # children: many rows, left to SQLite
            child = self.registry.children(model)[node.relation].child
            return Related(node.relation, self.rewrite(child, node.node))
        parent = self.registry.parent(model, node.relation)
        inner = self.rewrite(parent, node.node)  # a grandparent's condition first
        found = self.ids(parent, inner)
        if not found:
            return FALSE
        if len(found) == 1:
            return Condition(node.relation, "exact", found[0])
        return Related(node.relation, inner)

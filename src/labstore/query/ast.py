"""The query AST that filters and the JSON query language both parse into.

Values in a :class:`Condition` are already typed and checked against the schema; compilers
trust them. A :class:`Related` node says "some related object satisfies this", so several
conditions under one ``Related`` must hold for the same related object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOOKUPS_BY_KIND: dict[str, frozenset[str]] = {
    "str": frozenset(
        {
            "exact",
            "iexact",
            "contains",
            "icontains",
            "startswith",
            "istartswith",
            "endswith",
            "iendswith",
            "in",
            "gt",
            "gte",
            "lt",
            "lte",
            "range",
            "isnull",
        }
    ),
    "number": frozenset({"exact", "in", "gt", "gte", "lt", "lte", "range", "isnull"}),
    "bool": frozenset({"exact", "isnull"}),
    "json": frozenset({"isnull", "contains"}),
    "relation": frozenset({"exact", "in", "isnull"}),
}
ALL_LOOKUPS = frozenset().union(*LOOKUPS_BY_KIND.values())


def lookups_for(kind: str) -> frozenset[str]:
    """The lookups a field kind accepts."""
    if kind in ("str", "text"):
        return LOOKUPS_BY_KIND["str"]
    if kind in ("int", "float", "datetime", "date"):
        return LOOKUPS_BY_KIND["number"]
    if kind in ("json", "array"):
        return LOOKUPS_BY_KIND["json"]
    return LOOKUPS_BY_KIND[kind]


@dataclass(frozen=True)
class Condition:
    """``field <lookup> value`` on the model in scope; a relation's field compares parent ids."""

    field: str
    lookup: str
    value: Any


@dataclass(frozen=True)
class Related:
    """Some object across ``relation`` (a parent, or a child by its plural) satisfies ``node``."""

    relation: str
    node: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Condition | Related | And | Or | Not

TRUE = And(())


def map_items(node: And | Or | Not, change: Callable[[Node], Node]) -> Node:
    """The same group (``And``, ``Or``, ``Not``) of ``change`` applied to each of its items."""
    if isinstance(node, And):
        return And(tuple(change(n) for n in node.items))
    if isinstance(node, Or):
        return Or(tuple(change(n) for n in node.items))
    return Not(change(node.item))


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool = False

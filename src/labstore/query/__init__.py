"""Filters and queries: parsing and validation against the schema, an AST, and one compiler
to SQLAlchemy Core shared by the server and the client's local store."""

from labstore.query.ast import And, Condition, Node, Not, Or, OrderKey, Related
from labstore.query.filters import parse_filters, parse_order

__all__ = [
    "And",
    "Condition",
    "Node",
    "Not",
    "Or",
    "OrderKey",
    "Related",
    "parse_filters",
    "parse_order",
]

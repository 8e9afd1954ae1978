"""The JSON query language (docs/query-language.md) parsed into the same AST as filters.

Every key is checked against the schema as it is read, and a fault raises
:class:`QueryValidationError` whose ``path`` is the JSON path of the fault
(``$.__query__.sample_type.nam``). Nothing is ignored: an unknown key is an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labstore.errors import InvalidInput, NotFound, QueryValidationError
from labstore.query.ast import TRUE, And, Condition, Node, Not, Or, OrderKey, Related, lookups_for
from labstore.query.filters import (
    TAG_LOOKUPS,
    TAGS,
    field_names,
    parse_filters,
    parse_order,
    parse_value,
)
from labstore.schema.registry import Registry
from labstore.schema.types import Model

TOP_KEYS = frozenset(
    {"__model__", "__query__", "__description__", "__options__", "__return__", "__json__"}
)
OPTION_KEYS = frozenset({"limit", "offset", "order", "cursor"})
FIELD_OPERATORS = {
    "__exact__": "exact",
    "__iexact__": "iexact",
    "__contains__": "contains",
    "__icontains__": "icontains",
    "__startswith__": "startswith",
    "__istartswith__": "istartswith",
    "__endswith__": "endswith",
    "__iendswith__": "iendswith",
    "__in__": "in",
    "__lt__": "lt",
    "__le__": "lte",
    "__gt__": "gt",
    "__ge__": "gte",
    "__range__": "range",
    "__isnull__": "isnull",
}
TIME_UNITS = {
    "__seconds__": 1.0,
    "__minutes__": 60.0,
    "__hours__": 3600.0,
    "__days__": 86400.0,
    "__weeks__": 604800.0,
}
ReturnTree = dict[str, "ReturnTree"]


@dataclass(frozen=True)
class ParsedQuery:
    """A checked query, ready to compile."""

    model: Model
    node: Node = TRUE
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    cursor: str | None = None
    returns: ReturnTree = field(default_factory=dict)
    as_json: bool = False
    description: str = ""


def _fail(path: str, message: str, **details: Any) -> QueryValidationError:
    return QueryValidationError(f"{path}: {message}", {"path": path, **details})


class QueryParser:
    """Parses queries against one registry; ``now`` anchors ``__time__`` (UTC)."""

    def __init__(
        self, registry: Registry, *, now: dt.datetime | None = None, max_limit: int | None = None
    ) -> None:
        self.registry = registry
        self.now = now or dt.datetime.now(dt.UTC)
        self.max_limit = max_limit

    # top level ----------------------------------------------------------------------------
    def parse(self, data: Any) -> ParsedQuery:
        """Check and parse a whole query.

        Raises:
            QueryValidationError: The query is invalid; ``path`` says where.
        """
        if not isinstance(data, Mapping):
            raise _fail("$", "a query is a JSON object with at least __model__")
        for key in data:
            if key not in TOP_KEYS:
                raise _fail(f"$.{key}", f"unknown key; a query has {', '.join(sorted(TOP_KEYS))}")
        model = self._model(data.get("__model__"))
        node = self.conditions(model, data.get("__query__", {}), "$.__query__")
        order, limit, offset, cursor = self._options(model, data.get("__options__", {}))
        returns = self._returns(model, data.get("__return__", {}), "$.__return__")
        as_json = data.get("__json__", False)
        if not isinstance(as_json, bool):
            raise _fail("$.__json__", "expected true or false")
        description = data.get("__description__", "")
        if not isinstance(description, str):
            raise _fail("$.__description__", "expected a string")
        return ParsedQuery(model, node, order, limit, offset, cursor, returns, as_json, description)

    def _model(self, name: Any) -> Model:
        if not isinstance(name, str) or not name:
            raise _fail("$.__model__", 'required: the model to select, e.g. "Sample"')
        try:
            return self.registry.model(name)
        except NotFound as exc:
            raise _fail("$.__model__", exc.message, **exc.details) from None

    def _options(
        self, model: Model, options: Any
    ) -> tuple[tuple[OrderKey, ...], int | None, int, str | None]:
        path = "$.__options__"
        if not isinstance(options, Mapping):
            raise _fail(path, "expected an object with limit, offset, order or cursor")
        for key in options:
            if key not in OPTION_KEYS:
                raise _fail(
                    f"{path}.{key}", f"unknown option; options are {', '.join(sorted(OPTION_KEYS))}"
                )
        limit = options.get("limit")
        if limit is not None:
            top = self.max_limit
            if (
                isinstance(limit, bool)
                or not isinstance(limit, int)
                or limit < 1
                or (top is not None and limit > top)
            ):
                bound = f" and at most {top}" if top is not None else ""
                raise _fail(f"{path}.limit", f"expected a whole number of at least 1{bound}")
        offset = options.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise _fail(f"{path}.offset", "expected a whole number of at least 0")
        cursor = options.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise _fail(f"{path}.cursor", "expected the cursor string of a previous answer")
        raw_order = options.get("order")
        if raw_order is not None and not (
            isinstance(raw_order, str)
            or (isinstance(raw_order, list) and all(isinstance(o, str) for o in raw_order))
        ):
            raise _fail(f"{path}.order", "expected a field name or a list of them")
        try:
            order = parse_order(self.registry, model, raw_order)
        except QueryValidationError as exc:
            where = f"{path}.order"
            if isinstance(raw_order, list):
                bad = str(exc.details.get("path", "")).removeprefix("order_by.")
                names = [o.strip().lstrip("-+") for o in raw_order]
                where += f"[{names.index(bad)}]" if bad in names else ""
            raise _fail(where, exc.message.split(": ", 1)[-1]) from None
        return order, limit, offset, cursor

    def _returns(self, model: Model, spec: Any, path: str) -> ReturnTree:
        if isinstance(spec, str):
            spec = {spec: {}}
        elif isinstance(spec, list):
            for i, name in enumerate(spec):
                if not isinstance(name, str) or self._related_model(model, name) is None:
                    raise _fail(
                        f"{path}[{i}]",
                        f"{model.key} has no relation {name!r}",
                        known=self._relation_names(model),
                    )
            spec = {s: {} for s in spec}
        if not isinstance(spec, Mapping):
            raise _fail(path, "expected a relation name, a list of them, or an object")
        tree: ReturnTree = {}
        for name, sub in spec.items():
            target = self._related_model(model, name)
            if target is None:
                raise _fail(
                    f"{path}.{name}",
                    f"{model.key} has no relation {name!r}",
                    known=self._relation_names(model),
                )
            tree[name] = self._returns(target, sub if sub is not None else {}, f"{path}.{name}")
        return tree

    def _related_model(self, model: Model, name: str) -> Model | None:
        if model.relation(name) is not None:
            return self.registry.parent(model, name)
        link = self.registry.children(model).get(name)
        return link.child if link is not None else None

    def _relation_names(self, model: Model) -> list[str]:
        return sorted([r.name for r in model.relations] + list(self.registry.children(model)))

    # conditions ---------------------------------------------------------------------------
    def conditions(self, model: Model, query: Any, path: str) -> Node:
        """An object of conditions on ``model``, all of which must hold."""
        if not isinstance(query, Mapping):
            raise _fail(path, f"expected an object of conditions on {model.key}")
        nodes: list[Node] = []
        paths: dict[str, Any] = {}  # Django-style keys, parsed together so they group
        for key, value in query.items():
            where = f"{path}.{key}"
            if not isinstance(key, str) or not key:
                raise _fail(where, "malformed key")
            if key in ("__or__", "__and__"):
                nodes.append(self._junction(model, key, value, where))
            elif key == "__not__":
                nodes.append(Not(self.conditions(model, value, where)))
            elif key.startswith("__"):
                raise _fail(
                    where,
                    "unknown operator here; use __or__, __and__ or __not__, "
                    "or a field of " + model.key,
                )
            elif model.relation(key) is not None:
                nodes.append(self._parent(model, key, value, where))
            elif key in self.registry.children(model):
                nodes.append(self._children(model, key, value, where))
            elif key == TAGS or self.registry.any_field(model, key) is not None:
                # (``tags`` is the virtual field: "tags": "x" or {"__contains__": "x"})
                nodes.append(self._field(model, key, value, where))
            elif "__" in key:
                paths[key] = self._plain(value, where)
            else:
                raise _fail(
                    where,
                    f"{model.key} has no field or relation {key!r}",
                    model=model.key,
                    known=self._known(model),
                )
        if paths:
            nodes.append(self._django(model, paths, path))
        if len(nodes) == 1:
            return nodes[0]
        return And(tuple(nodes))

    def _known(self, model: Model) -> list[str]:
        return field_names(self.registry, model)

    def _junction(self, model: Model, key: str, value: Any, path: str) -> Node:
        if not isinstance(value, list) or not value:
            raise _fail(path, "expected a non-empty list of condition objects")
        parts = tuple(self.conditions(model, item, f"{path}[{i}]") for i, item in enumerate(value))
        return Or(parts) if key == "__or__" else And(parts)

    def _parent(self, model: Model, name: str, value: Any, path: str) -> Node:
        parent = self.registry.parent(model, name)
        if isinstance(value, Mapping) and not value:  # ``{}``: has a parent at all
            return Related(name, TRUE)
        if isinstance(value, Mapping) and not _is_operator_object(value):
            if set(value) == {"__query__"}:
                return Related(
                    name, self.conditions(parent, value["__query__"], f"{path}.__query__")
                )
            return Related(name, self.conditions(parent, value, path))
        return self._field(model, name, value, path)

    def _children(self, model: Model, plural: str, value: Any, path: str) -> Node:
        child = self.registry.children(model)[plural].child
        if isinstance(value, Mapping) and set(value) == {"__isnull__"}:
            empty = value["__isnull__"]
            if not isinstance(empty, bool):
                raise _fail(f"{path}.__isnull__", "expected true or false")
            exists = Related(plural, TRUE)
            return Not(exists) if empty else exists
        if not isinstance(value, Mapping):
            raise _fail(
                path, f'expected an object of conditions on {child.key} (or {{"__isnull__": true}})'
            )
        if set(value) == {"__query__"}:
            return Related(plural, self.conditions(child, value["__query__"], f"{path}.__query__"))
        return Related(plural, self.conditions(child, value, path))

    def _django(self, model: Model, paths: dict[str, Any], path: str) -> Node:
        try:
            return parse_filters(self.registry, model, paths)
        except InvalidInput as exc:
            raise _relocate(exc, path, prefix=f"{path}.") from None

    def _field(self, model: Model, name: str, value: Any, path: str) -> Node:
        if isinstance(value, Mapping):
            if not value:
                raise _fail(path, "expected a value or an object of operators, not {}")
            parts = [
                self._operator(model, name, op, operand, f"{path}.{op}")
                for op, operand in value.items()
            ]
            return parts[0] if len(parts) == 1 else And(tuple(parts))
        if isinstance(value, list):
            return self._condition(model, name, "in", value, path)
        if value is None:
            return Condition(name, "isnull", True)
        return self._condition(model, name, "exact", value, path)

    def _operator(self, model: Model, name: str, op: str, operand: Any, path: str) -> Node:
        if op == "__not__":
            if model.relation(name) is not None:  # may hold conditions on the parent
                return Not(self._parent(model, name, operand, path))
            return Not(self._field(model, name, operand, path))
        if op == "__time__":
            return self._condition(model, name, "gte", self._time(model, name, operand, path), path)
        lookup = FIELD_OPERATORS.get(op)
        if lookup is None:
            raise _fail(
                path,
                f"unknown operator {op!r}; operators are "
                f"{', '.join(sorted([*FIELD_OPERATORS, '__not__', '__time__']))}",
            )
        if isinstance(operand, Mapping) and set(operand) == {"__time__"}:
            operand = self._time(model, name, operand["__time__"], f"{path}.__time__")
        return self._condition(model, name, lookup, operand, path)

    def _condition(self, model: Model, name: str, lookup: str, value: Any, path: str) -> Node:
        kind = "relation" if model.relation(name) is not None else self._kind(model, name)
        allowed = TAG_LOOKUPS if kind == TAGS else lookups_for(kind)
        if lookup not in allowed:
            raise _fail(
                path,
                f"{lookup!r} does not apply to {kind} {name!r}",
                allowed=sorted(allowed),
            )
        if lookup in ("in", "range") and not isinstance(value, list):
            raise _fail(path, "expected a list of values")
        try:
            typed = parse_value(
                self.registry, model, name, lookup, self._plain(value, path), path, strict=False
            )
        except InvalidInput as exc:
            raise _relocate(exc, path) from None
        return Condition(name, lookup, typed)

    def _kind(self, model: Model, name: str) -> str:
        if name == TAGS:  # the virtual field has a kind of its own, with its own lookups
            return TAGS
        found = self.registry.any_field(model, name)
        assert found is not None
        return found.kind

    def _plain(self, value: Any, path: str) -> Any:
        """Values of conditions are scalars or lists of scalars."""
        if isinstance(value, Mapping):
            raise _fail(path, "expected a value here, not an object")
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping | list):
                    raise _fail(f"{path}[{i}]", "expected a plain value")
        return value

    def _time(self, model: Model, name: str, spec: Any, path: str) -> Any:
        if not isinstance(spec, Mapping) or not spec:
            raise _fail(path, 'expected an object of amounts, e.g. {"__days__": -7}')
        seconds = 0.0
        for unit, amount in spec.items():
            if unit not in TIME_UNITS:
                raise _fail(f"{path}.{unit}", f"unknown unit; units are {', '.join(TIME_UNITS)}")
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise _fail(f"{path}.{unit}", "expected a number")
            seconds += amount * TIME_UNITS[unit]
        try:
            moment = self.now + dt.timedelta(seconds=seconds)
        except OverflowError:
            raise _fail(path, "the time is out of range") from None
        kind = self._kind(model, name) if model.relation(name) is None else "relation"
        if kind == "date":
            return moment.date().isoformat()
        if kind != "datetime":
            raise _fail(path, f"__time__ applies to times and dates, not {kind} {name!r}")
        return moment.isoformat()


def _relocate(exc: InvalidInput, path: str, prefix: str = "") -> QueryValidationError:
    """The error re-anchored at its JSON path (``prefix`` + the path the error named)."""
    inner = str(exc.details.get("path", ""))
    where = inner if inner.startswith(path) else path
    if prefix and inner:
        where = f"{prefix}{inner}"
    details = {k: v for k, v in exc.details.items() if k != "path"}
    return _fail(where, exc.message.split(": ", 1)[-1], **details)


def _is_operator_object(value: Mapping[str, Any]) -> bool:
    """Operators on a value (``{"__in__": [...]}``), not conditions (``{"__or__": [...]}``)."""
    return all(k in FIELD_OPERATORS or k in ("__not__", "__time__") for k in value)


def parse_query(
    registry: Registry, data: Any, *, now: dt.datetime | None = None, max_limit: int | None = None
) -> ParsedQuery:
    """Parse and check a JSON query (see :class:`QueryParser`)."""
    return QueryParser(registry, now=now, max_limit=max_limit).parse(data)

"""Django-style filters (``subject__lab__name__icontains="cortex"``) parsed into the AST.

Every part of a key is checked against the schema, so an unknown model, field, relation or
lookup is a :class:`QueryValidationError` that names the key and what would have been valid.
Conditions reaching across the same relation are grouped under one :class:`Related`, so
``experiments__date__gt=d, experiments__number=2`` asks for one experiment that satisfies both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labstore.errors import InvalidInput, QueryValidationError
from labstore.query.ast import (
    ALL_LOOKUPS,
    TRUE,
    And,
    Condition,
    Node,
    Not,
    OrderKey,
    Related,
    lookups_for,
)
from labstore.schema.registry import COMMON_FIELDS, Registry
from labstore.schema.types import Model
from labstore.schema.values import coerce_kind, is_valid_id

_SEPARATOR = "__"
# ``tags`` is a virtual field of every model (a reserved name, so no model field can take it):
# ``tags__contains="x"`` selects objects carrying tag ``x`` in any scope. The compiler turns it
# into a semi-join on the ``object_tag`` table (see ``Compiler._tags``).
TAGS = "tags"
# contains and exact both mean "has this tag"; in: "has one of them"; isnull: "has no tags".
TAG_LOOKUPS = frozenset({"contains", "exact", "in", "isnull"})


def _fail(path: str, message: str, **details: Any) -> QueryValidationError:
    return QueryValidationError(f"{path}: {message}", {"path": path, **details})


@dataclass
class _Leaf:
    steps: tuple[str, ...]
    condition: Node


def field_names(registry: Registry, model: Model) -> list[str]:
    """Every name a filter may start with on ``model``."""
    names = [f.name for f in model.fields] + [r.name for r in model.relations]
    names += [f.name for f in COMMON_FIELDS]
    names += list(registry.children(model))
    names.append(TAGS)
    return sorted(names)


def parse_value(
    registry: Registry,
    model: Model,
    name: str,
    lookup: str,
    raw: Any,
    path: str,
    *,
    strict: bool,
) -> Any:
    """Type one filter value for ``model.name`` under ``lookup``."""
    relation = model.relation(name)
    if lookup == "isnull":
        return coerce_kind("bool", _single(raw, path), path, strict=strict)
    if lookup in ("in", "range"):
        items = _as_list(raw, split=not strict)
        if lookup == "range" and len(items) != 2:
            raise _fail(path, "range takes exactly two values, low and high")
        if lookup == "in" and not items:
            raise _fail(path, "'in' needs at least one value")
        for i, item in enumerate(items):
            if item is None and lookup == "range":
                raise _fail(f"{path}[{i}]", "a range needs two values, not null")
        # ``in`` may hold null: it then also matches objects whose value is empty.
        return tuple(
            None
            if item is None
            else _scalar(registry, model, name, relation is not None, item, f"{path}[{i}]", strict)
            for i, item in enumerate(items)
        )
    raw = _single(raw, path)
    if raw is None:
        if lookup != "exact":
            raise _fail(path, f"{lookup!r} needs a value, not null")
        return None
    return _scalar(registry, model, name, relation is not None, raw, path, strict)


def _scalar(
    registry: Registry,
    model: Model,
    name: str,
    is_relation: bool,
    raw: Any,
    path: str,
    strict: bool,
) -> Any:
    if is_relation:
        return relation_id(registry, model, name, raw, path)
    if name == TAGS:  # a tag is text, NUL refused as in any string
        return coerce_kind("str", raw, path, strict=strict)
    field = registry.any_field(model, name)
    assert field is not None
    kind = "str" if field.kind in ("json", "array") else field.kind
    return coerce_kind(kind, raw, path, strict=strict)


def relation_id(registry: Registry, model: Model, name: str, raw: Any, path: str) -> str:
    """The parent id a relation value names: an id, a location, or an object with a location."""
    target = registry.parent(model, name)
    location = getattr(raw, "location", None)
    if isinstance(location, str):
        raw = location
    if isinstance(raw, dict) and isinstance(raw.get("location"), str):
        raw = raw["location"]
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(
            f"{path}: expected the id or location of a {target.key}, got {raw!r}",
            {"path": path},
        )
    ident: str = raw
    if "/" in raw:
        key, _, ident = raw.rpartition("/")
        if key != target.key:
            raise InvalidInput(
                f"{path}: {raw!r} is not a {target.key}", {"path": path, "expected": target.key}
            )
    if not is_valid_id(ident):
        raise InvalidInput(f"{path}: {raw!r} is not an id of a {target.key}", {"path": path})
    return ident


def _single(raw: Any, path: str) -> Any:
    if isinstance(raw, list | tuple):
        if len(raw) != 1:
            raise _fail(path, "given more than once; use __in for several values")
        return raw[0]
    return raw


def _as_list(raw: Any, *, split: bool) -> list[Any]:
    items = list(raw) if isinstance(raw, list | tuple) else [raw]
    if not split or len(items) != 1:
        return items
    # A URL names several values by repeating the parameter, or packs them in one:
    # ``id__in=A,B,C``; only a lone value is split, so repeated values may hold commas.
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.extend(part for part in item.split(",") if part != "")
        else:
            out.append(item)
    return out


def _resolve_key(registry: Registry, model: Model, key: str) -> tuple[tuple[str, ...], str, str]:
    """Split a key into relation steps, the final field and the lookup, checking each."""
    parts = key.split(_SEPARATOR)
    if not key or any(not p for p in parts):
        raise _fail(key or "(empty)", "malformed filter key")
    steps: list[str] = []
    current = model
    i = 0
    while i < len(parts):
        part = parts[i]
        rest = parts[i + 1 :]
        relation = current.relation(part)
        if relation is not None:
            if not rest or (len(rest) == 1 and rest[0] in ALL_LOOKUPS):
                lookup = rest[0] if rest else "exact"
                if lookup not in lookups_for("relation"):
                    raise _fail(
                        key,
                        f"lookup {lookup!r} does not apply to relation {part!r}",
                        allowed=sorted(lookups_for("relation")),
                    )
                return tuple(steps), part, lookup
            steps.append(part)
            current = registry.parent(current, part)
            i += 1
            continue
        children = registry.children(current)
        if part in children:
            if rest == ["isnull"]:
                return (*steps, part), "", "isnull"
            if not rest:
                raise _fail(
                    key,
                    f"{part!r} lists {children[part].child.key} objects; "
                    f"filter on one of their fields, e.g. {part}__id",
                )
            steps.append(part)
            current = children[part].child
            i += 1
            continue
        if part == TAGS:  # the virtual field of an object's tags
            lookup = rest[0] if len(rest) == 1 else "exact" if not rest else ""
            if lookup not in TAG_LOOKUPS:
                raise _fail(
                    key,
                    f"lookup {_SEPARATOR.join(rest)!r} does not apply to tags",
                    allowed=sorted(TAG_LOOKUPS),
                )
            return tuple(steps), part, lookup
        field = registry.any_field(current, part)
        if field is None:
            raise _fail(
                key,
                f"{current.key} has no field or relation {part!r}",
                model=current.key,
                known=field_names(registry, current),
            )
        if len(rest) > 1 or (rest and rest[0] not in ALL_LOOKUPS):
            bad = _SEPARATOR.join(rest)
            raise _fail(
                key,
                f"unknown lookup {bad!r} on field {part!r}",
                allowed=sorted(lookups_for(field.kind)),
            )
        lookup = rest[0] if rest else "exact"
        if lookup not in lookups_for(field.kind):
            raise _fail(
                key,
                f"lookup {lookup!r} does not apply to {field.kind} field {part!r}",
                allowed=sorted(lookups_for(field.kind)),
            )
        return tuple(steps), part, lookup
    raise _fail(key, "malformed filter key")  # pragma: no cover - the loop always returns


def _model_at(registry: Registry, model: Model, steps: Iterable[str]) -> Model:
    for step in steps:
        if model.relation(step) is not None:
            model = registry.parent(model, step)
        else:
            model = registry.children(model)[step].child
    return model


def parse_filters(
    registry: Registry, model: Model, filters: Mapping[str, Any], *, strict: bool = False
) -> Node:
    """Parse a mapping of Django-style filters on ``model`` into one AST node.

    Args:
        registry: The schema.
        model: The model the filters select.
        filters: Keys like ``name__icontains``; values typed (JSON) or text (a URL's query).
        strict: Values must already have their JSON types (no parsing of text).

    Raises:
        QueryValidationError: A key names an unknown field, relation or lookup.
        InvalidInput: A value does not fit its field.
    """
    leaves: list[_Leaf] = []
    for key, raw in filters.items():
        steps, name, lookup = _resolve_key(registry, model, key)
        if not name:  # ``experiments__isnull``: whether any child exists
            empty = coerce_kind("bool", _single(raw, key), key, strict=strict)
            exists = Related(steps[-1], TRUE)
            leaves.append(_Leaf(steps[:-1], Not(exists) if empty else exists))
            continue
        target = _model_at(registry, model, steps)
        value = parse_value(registry, target, name, lookup, raw, key, strict=strict)
        leaves.append(_Leaf(steps, Condition(name, lookup, value)))
    return _group(leaves)


def _group(leaves: list[_Leaf]) -> Node:
    here: list[Node] = [leaf.condition for leaf in leaves if not leaf.steps]
    nested: dict[str, list[_Leaf]] = {}
    for leaf in leaves:
        if leaf.steps:
            nested.setdefault(leaf.steps[0], []).append(_Leaf(leaf.steps[1:], leaf.condition))
    for relation, sub in nested.items():
        here.append(Related(relation, _group(sub)))
    return here[0] if len(here) == 1 else And(tuple(here))


def parse_order(
    registry: Registry, model: Model, order: str | Iterable[str] | None
) -> tuple[OrderKey, ...]:
    """Parse ``"-date,name"`` (or a list) into order keys; ``id`` always ends the order.

    Raises:
        QueryValidationError: A name is not an orderable field of the model.
    """
    if order is None:
        names: list[str] = []
    elif isinstance(order, str):
        names = [n.strip() for n in order.split(",") if n.strip()]
    else:
        names = [str(n).strip() for n in order]
    keys: list[OrderKey] = []
    for name in names:
        descending = name.startswith("-")
        bare = name.lstrip("-+")
        field = registry.any_field(model, bare)
        if model.relation(bare) is None and (field is None or field.kind in ("json", "array")):
            raise _fail(
                f"order_by.{bare}",
                f"{model.key} cannot be ordered by {bare!r}",
                known=field_names(registry, model),
            )
        keys.append(OrderKey(bare, descending))
    if not keys:
        keys = [OrderKey("created"), OrderKey("id")]
    if keys[-1].field != "id":
        keys.append(OrderKey("id", keys[-1].descending if len(keys) else False))
    return tuple(keys)


__all__ = [
    "TAGS",
    "TAG_LOOKUPS",
    "And",
    "field_names",
    "parse_filters",
    "parse_order",
    "relation_id",
]

"""A set of packs, with every relation resolved and every model reachable by any of its names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from labstore.errors import NotFound
from labstore.schema.types import RESERVED_NAMES, Field, Model, Pack, Relation, check_name

# The fields every object has, filterable like any declared field.
COMMON_FIELDS: tuple[Field, ...] = (
    Field("id", "str", doc="Short random identifier, unique within the model"),
    Field("version", "int", doc="Grows on every change; the object's ETag"),
    Field("owner", "str", doc="User name of the owner"),
    Field("project", "str", doc="Project the object belongs to"),
    Field("created", "datetime", doc="Creation time, UTC"),
    Field("modified", "datetime", doc="Last change, UTC"),
)
_COMMON_BY_NAME = {f.name: f for f in COMMON_FIELDS}


@dataclass(frozen=True)
class ChildLink:
    """A relation seen from the parent: ``subject.experiments`` is (experiment, subject)."""

    plural: str
    child: Model
    relation: Relation


class Registry:
    """Every model of a deployment, looked up by ``pack/model``, model name or class name."""

    def __init__(self, packs: Iterable[Pack]) -> None:
        self.packs: tuple[Pack, ...] = tuple(packs)
        self._by_key: dict[str, Model] = {}
        self._aliases: dict[str, list[Model]] = {}
        for pack in self.packs:
            for model in pack.models:
                if model.key in self._by_key:
                    raise ValueError(f"model {model.key} is declared twice")
                self._by_key[model.key] = model
                for alias in {model.name, model.cls_name, model.cls_name.lower()}:
                    self._aliases.setdefault(alias, []).append(model)
        self._targets: dict[tuple[str, str], Model] = {}
        self._parent_keys: dict[str, dict[str, str]] = {key: {} for key in self._by_key}
        self._children: dict[str, dict[str, ChildLink]] = {key: {} for key in self._by_key}
        for model in self._by_key.values():
            for rel in model.relations:
                target = self._resolve_target(model, rel)
                self._targets[(model.key, rel.name)] = target
                self._parent_keys[model.key][rel.name] = target.key
                plural = rel.plural or f"{model.name}s"
                check_name(plural, f"{model.key}.{rel.name} plural")
                taken = self._children[target.key]
                if (
                    plural in taken
                    or plural in RESERVED_NAMES
                    or target.field(plural)
                    or target.relation(plural)
                ):
                    raise ValueError(
                        f"{model.key}.{rel.name}: plural {plural!r} clashes on {target.key}; "
                        "give the relation an explicit plural"
                    )
                taken[plural] = ChildLink(plural, model, rel)

    def _resolve_target(self, model: Model, rel: Relation) -> Model:
        key = rel.target if "/" in rel.target else f"{model.pack}/{rel.target}"
        if key not in self._by_key:
            raise ValueError(f"{model.key}.{rel.name} points at unknown model {rel.target!r}")
        return self._by_key[key]

    def __iter__(self) -> Iterator[Model]:
        return iter(self._by_key.values())

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def model(self, name: str) -> Model:
        """The model called ``name``: ``pack/model``, ``model`` or ``ClassName``.

        Raises:
            NotFound: No model has that name, or a bare name is ambiguous between packs.
        """
        if name in self._by_key:
            return self._by_key[name]
        found = self._aliases.get(name) or self._aliases.get(name.lower()) or []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            options = ", ".join(sorted(m.key for m in found))
            raise NotFound(f"model name {name!r} is ambiguous: use one of {options}")
        raise NotFound(f"unknown model {name!r}", {"known": sorted(self._by_key)})

    def parent(self, model: Model, relation: str) -> Model:
        """The model a relation of ``model`` points at."""
        return self._targets[(model.key, relation)]

    def parent_keys(self, model: Model) -> dict[str, str]:
        """Each relation of ``model`` mapped to its target's ``pack/model`` (computed once)."""
        return self._parent_keys[model.key]

    def children(self, model: Model) -> dict[str, ChildLink]:
        """The relations pointing at ``model``, by their plural name."""
        return self._children[model.key]

    @staticmethod
    def common_field(name: str) -> Field | None:
        return _COMMON_BY_NAME.get(name)

    def any_field(self, model: Model, name: str) -> Field | None:
        """A declared field or a common one."""
        return model.field(name) or _COMMON_BY_NAME.get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "packs": [
                {
                    "name": p.name,
                    "doc": p.doc,
                    "version": p.version,
                    "models": [m.to_json() for m in p.models],
                }
                for p in self.packs
            ],
            "common_fields": [f.to_json() for f in COMMON_FIELDS],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registry:
        packs = []
        for p in data["packs"]:
            models = tuple(Model.from_json(m) for m in p["models"])
            packs.append(Pack(p["name"], models, doc=p.get("doc", ""), version=p.get("version", 1)))
        return cls(packs)

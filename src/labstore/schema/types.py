"""The declarative building blocks of a pack: fields, relations, models.

A pack is written once, in this form, and everything else is derived from it: the server's
tables and validation, ``GET /api/models``, the client's model classes and its local tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["str", "text", "int", "float", "bool", "datetime", "date", "json", "array"]
FIELD_KINDS: tuple[FieldKind, ...] = (
    "str",
    "text",
    "int",
    "float",
    "bool",
    "datetime",
    "date",
    "json",
    "array",
)
OnDelete = Literal["cascade", "set_null", "protect"]

# Every object carries these; model fields may not reuse the names (nor ``location``).
COMMON_FIELD_NAMES = ("id", "version", "owner", "project", "created", "modified")
RESERVED_NAMES = frozenset(
    {*COMMON_FIELD_NAMES, "location", "model", "order_by", "limit", "cursor", "recursive", "tags"}
)
# First segments of /api/... paths that are not packs.
RESERVED_PACK_NAMES = frozenset(
    {
        "auth",
        "me",
        "ping",
        "models",
        "query",
        "batch",
        "changes",
        "blobs",
        "uploads",
        "paths",
        "links",
        "tags",
        "acl",
        "share",
        "users",
        "projects",
    }
)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(name: str, what: str) -> None:
    """Refuse names that would not work as a column, URL segment or filter key."""
    if not _NAME_RE.match(name) or "__" in name or name.endswith("_"):
        raise ValueError(
            f"{what} name {name!r} must be lower case letters, digits and single underscores"
        )


@dataclass(frozen=True)
class Field:
    """One scalar attribute of a model.

    Args:
        name: Attribute and column name.
        kind: Value type; ``array`` holds a reference to an n-dimensional array stored as a blob.
        required: The server refuses a create without it.
        default: Value used when a create omits the field.
        unit: Physical unit of the values, published with the schema (``"mV"``, ``"Hz"``).
        choices: The only values allowed, if given.
        index: Build a database index on the column.
        unique: No two objects of the model may share a value.
        max_length: Longest accepted string (``str`` only).
        doc: One line for ``GET /api/models`` and the client's help.
    """

    name: str
    kind: FieldKind = "str"
    required: bool = False
    default: Any = None
    unit: str | None = None
    choices: tuple[Any, ...] | None = None
    index: bool = False
    unique: bool = False
    max_length: int | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "field")
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "required": self.required,
            "default": self.default,
            "unit": self.unit,
            "choices": list(self.choices) if self.choices is not None else None,
            "index": self.index,
            "unique": self.unique,
            "max_length": self.max_length,
            "doc": self.doc,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Field:
        choices = data.get("choices")
        return cls(
            name=data["name"],
            kind=data["kind"],
            required=bool(data.get("required", False)),
            default=data.get("default"),
            unit=data.get("unit"),
            choices=tuple(choices) if choices is not None else None,
            index=bool(data.get("index", False)),
            unique=bool(data.get("unique", False)),
            max_length=data.get("max_length"),
            doc=data.get("doc", ""),
        )


@dataclass(frozen=True)
class Relation:
    """A many-to-one link from this model to a parent, set on this (the "many") side.

    Args:
        name: Attribute on the child (``experiment.subject``); the column is ``<name>_id``.
        target: The parent model, ``"pack/model"`` or a model name of the same pack.
        plural: Attribute on the parent listing its children (``subject.experiments``);
            defaults to the child's model name plus ``s``.
        required: A child must have a parent.
        on_delete: What deleting the parent does to the children.
        browse: A recursive get of the parent brings these children along. Off for links
            that tag many unrelated objects (a metadata section is not the owner of every
            recording described by it).
        doc: One line of help.
    """

    name: str
    target: str
    plural: str | None = None
    required: bool = False
    on_delete: OnDelete = "protect"
    browse: bool = True
    doc: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "relation")

    @property
    def column(self) -> str:
        return f"{self.name}_id"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "plural": self.plural,
            "required": self.required,
            "on_delete": self.on_delete,
            "browse": self.browse,
            "doc": self.doc,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Relation:
        return cls(
            name=data["name"],
            target=data["target"],
            plural=data.get("plural"),
            required=bool(data.get("required", False)),
            on_delete=data.get("on_delete", "protect"),
            browse=bool(data.get("browse", True)),
            doc=data.get("doc", ""),
        )


@dataclass(frozen=True)
class Model:
    """A kind of object: its fields, its parents, its indexes.

    Args:
        name: Lower-case model name, unique within its pack (``sample_type``).
        fields: Scalar attributes.
        relations: Parents of this model.
        class_name: Name of the client class (``SampleType``); derived from ``name`` if omitted.
        indexes: Extra composite indexes, each a tuple of field or relation names.
        unique_together: Field/relation name tuples whose combined value is unique.
        read_only: Clients may read but never create, change or delete through the API.
        checks: Rules across fields that the server applies to every stored state; each
            takes the object's column values (relations as ``<name>_id``) and raises
            ``InvalidInput`` naming the field at fault. Server-side only: not published.
        doc: One line of help.
    """

    name: str
    fields: tuple[Field, ...] = ()
    relations: tuple[Relation, ...] = ()
    class_name: str | None = None
    indexes: tuple[tuple[str, ...], ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    read_only: bool = False
    checks: tuple[Callable[[Mapping[str, Any]], None], ...] = field(default=(), compare=False)
    doc: str = ""
    pack: str = ""  # filled in by Pack

    def __post_init__(self) -> None:
        check_name(self.name, "model")
        seen: set[str] = set()
        members: list[Field | Relation] = [*self.fields, *self.relations]
        for member in members:
            if member.name in RESERVED_NAMES:
                raise ValueError(f"model {self.name!r}: {member.name!r} is a reserved name")
            if member.name in seen:
                raise ValueError(f"model {self.name!r}: {member.name!r} is declared twice")
            seen.add(member.name)
        columns = {f.name for f in self.fields} | {r.column for r in self.relations}
        if len(columns) != len(self.fields) + len(self.relations):
            raise ValueError(f"model {self.name!r}: a field clashes with a relation's column")
        for group in (*self.indexes, *self.unique_together):
            for name in group:
                if name not in seen:
                    raise ValueError(f"model {self.name!r}: index names unknown {name!r}")

    @property
    def key(self) -> str:
        """``pack/model``, the model part of every location."""
        return f"{self.pack}/{self.name}"

    @property
    def cls_name(self) -> str:
        return self.class_name or "".join(p.capitalize() for p in self.name.split("_"))

    @property
    def table_name(self) -> str:
        return f"{self.pack}_{self.name}"

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def relation(self, name: str) -> Relation | None:
        return next((r for r in self.relations if r.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "name": self.name,
            "key": self.key,
            "class_name": self.cls_name,
            "doc": self.doc,
            "read_only": self.read_only,
            "fields": [f.to_json() for f in self.fields],
            "relations": [r.to_json() for r in self.relations],
            "indexes": [list(i) for i in self.indexes],
            "unique_together": [list(u) for u in self.unique_together],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(
            name=data["name"],
            pack=data["pack"],
            class_name=data.get("class_name"),
            doc=data.get("doc", ""),
            read_only=bool(data.get("read_only", False)),
            fields=tuple(Field.from_json(f) for f in data.get("fields", [])),
            relations=tuple(Relation.from_json(r) for r in data.get("relations", [])),
            indexes=tuple(tuple(i) for i in data.get("indexes", [])),
            unique_together=tuple(tuple(u) for u in data.get("unique_together", [])),
        )


@dataclass(frozen=True)
class Pack:
    """A namespace of models, declared the way a lab would declare its own."""

    name: str
    models: tuple[Model, ...]
    doc: str = ""
    version: int = 1
    _by_name: dict[str, Model] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name, "pack")
        if self.name in RESERVED_PACK_NAMES:
            raise ValueError(f"pack name {self.name!r} is taken by the API ({self.name}/...)")
        bound = []
        for model in self.models:
            if model.name in self._by_name:
                raise ValueError(f"pack {self.name!r}: model {model.name!r} declared twice")
            # Models are declared without their pack; bind it here so each knows its key.
            bound_model = Model(**{**model.__dict__, "pack": self.name})
            self._by_name[model.name] = bound_model
            bound.append(bound_model)
        object.__setattr__(self, "models", tuple(bound))

    def model(self, name: str) -> Model | None:
        return self._by_name.get(name)

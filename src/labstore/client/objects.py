"""Model objects: one Python class per server model, built from ``GET /api/models``.

An object holds its field values as typed Python values (dates are ``datetime.date``, times
are aware UTC ``datetime``), its identity (``location``, ``version``, ...) once stored, and
its parents as locations that load on first access (from the session's cache first).
Children are read on the parent through the relation's plural (``subject.experiments``);
they are a tuple, because associations are made on the child (``experiment.subject = s``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Protocol

from labstore.errors import InvalidInput
from labstore.schema.registry import COMMON_FIELDS, Registry
from labstore.schema.types import Model
from labstore.schema.values import coerce_field, coerce_kind, to_json_value

META_NAMES = ("location", *(f.name for f in COMMON_FIELDS))
_COMMON_KINDS = {f.name: f.kind for f in COMMON_FIELDS}
# An object's state; a stub (see LabObject.stubs) has none of it until first used.
_STATE = frozenset({"_meta", "_values", "_pending", "_original"})
StubLoader = Callable[[str], dict[str, Any]]


class ObjectSource(Protocol):
    """What an object needs from its session to load relations lazily."""

    def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any: ...

    def select(self, model_name: str, raw_filters: dict[str, Any] | None = None) -> list[Any]: ...

    def children(self, location: str, plural: str) -> tuple[Any, ...]: ...


class LabObject:
    """Base of every model class; subclasses are made by :func:`build_model_class`.

    Raises:
        AttributeError: Setting an attribute the model does not have.
        InvalidInput: Setting a value its field cannot hold.
    """

    _model: ClassVar[Model]
    _prefix: ClassVar[str]  # "pack/model/": a location less its id
    _registry: ClassVar[Registry]
    _source: ClassVar[ObjectSource | None] = None
    __hash__ = None  # type: ignore[assignment]  # objects are mutable
    # A stub's id and loader (see stubs) in slots: making one then allocates no dict.
    __slots__ = ("__dict__", "__weakref__", "_loader", "_stub")
    _stub: str | None
    _loader: StubLoader | None
    # Per instance: identity from the server, field values, unsaved parents, values as stored.
    _meta: dict[str, Any]
    _values: dict[str, Any]
    _pending: dict[str, LabObject]
    _original: dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_meta", {})
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_pending", {})
        object.__setattr__(self, "_original", {})
        for field in self._model.fields:
            self._values[field.name] = field.default
        for rel in self._model.relations:
            self._values[rel.name] = None
        for name, value in fields.items():
            setattr(self, name, value)

    @classmethod
    def stubs(cls, ids: Iterable[str], loader: StubLoader) -> list[LabObject]:
        """Stored objects known by their ids alone, whose state ``loader(location)`` (the
        JSON form) gives on first use: a query answering many objects builds only these."""
        new, set_stub, set_loader = cls.__new__, _SET_STUB, _SET_LOADER
        out = []
        for ident in ids:  # a plain loop: this runs once per row of large answers
            obj = new(cls)
            set_stub(obj, ident)
            set_loader(obj, loader)
            out.append(obj)
        return out

    def __getattr__(self, name: str) -> Any:
        # Reached only when an attribute is missing: a stub slot never set (the object is
        # no stub), or the state of a stub, loaded now.
        if name in _STUB_SLOTS:
            return None
        stub, loader = self._stub, self._loader
        if stub is None or loader is None or name not in _STATE:
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        self._fill(loader(self._prefix + stub))
        return self.__dict__[name]

    # identity -----------------------------------------------------------------------------
    @property
    def location(self) -> str | None:
        """``pack/model/id`` once stored; ``None`` for an object the server has not seen."""
        stub = self._stub
        if stub is not None:
            return self._prefix + stub
        value = self._meta.get("location")
        return str(value) if value is not None else None

    @property
    def id(self) -> str | None:
        """Short random identifier, unique within the model."""
        stub = self._stub
        if stub is not None:
            return stub
        return self._meta.get("id")

    @property
    def version(self) -> int | None:
        """Grows on every change; the object's ETag."""
        return self._meta.get("version")

    @property
    def owner(self) -> str | None:
        """User name of the owner."""
        return self._meta.get("owner")

    @property
    def project(self) -> str | None:
        """The project the object belongs to (settable before storing or to move it)."""
        return self._meta.get("project")

    @property
    def created(self) -> dt.datetime | None:
        """Creation time, UTC."""
        return self._meta.get("created")

    @property
    def modified(self) -> dt.datetime | None:
        """Last change, UTC."""
        return self._meta.get("modified")

    @property
    def model_key(self) -> str:
        return self._model.key

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "project":
            self._meta["project"] = value if value is None else str(value)
            return
        if name in META_NAMES:
            raise AttributeError(f"{name!r} is set by the server and cannot be changed")
        if not hasattr(type(self), name) or name.startswith("_"):
            known = ", ".join(sorted(self.field_names()))
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} (fields: {known})"
            )
        object.__setattr__(self, name, value)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in cls._model.fields] + [r.name for r in cls._model.relations]

    # (de)serialisation --------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabObject:
        """An object from the server's JSON form."""
        obj = cls.__new__(cls)
        obj._fill(data)
        return obj

    def _fill(self, data: dict[str, Any]) -> None:
        meta: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for name in META_NAMES:
            kind = _COMMON_KINDS.get(name, "str")
            meta[name] = coerce_kind(kind, data.get(name), name, strict=False)  # type: ignore[arg-type]
        for field in self._model.fields:
            values[field.name] = coerce_kind(
                field.kind, data.get(field.name), field.name, strict=False
            )
        for rel in self._model.relations:
            values[rel.name] = data.get(rel.name)
        object.__setattr__(self, "_meta", meta)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_pending", {})
        object.__setattr__(self, "_original", dict(values))
        _SET_STUB(self, None)  # a stub's state is here now
        _SET_LOADER(self, None)

    def to_json(self, *, only_changed: bool = False) -> dict[str, Any]:
        """The fields as the server takes them (relations as locations)."""
        out: dict[str, Any] = {}
        for field in self._model.fields:
            value = self._values[field.name]
            if only_changed and self._original.get(field.name, object()) == value:
                continue
            out[field.name] = to_json_value(field.kind, value)
        for rel in self._model.relations:
            value = self._values[rel.name]
            if only_changed and self._original.get(rel.name, object()) == value:
                continue
            out[rel.name] = value
        if self._meta.get("project") is not None and (
            not only_changed
            or "project" not in self._original
            or self._original.get("project") != self._meta.get("project")
        ):
            out["project"] = self._meta["project"]
        return out

    def _json_form(self) -> dict[str, Any]:
        """The object as the server's JSON (identity, fields, relations as locations)."""
        data: dict[str, Any] = {"model": self._model.key}
        for name in META_NAMES:
            kind = _COMMON_KINDS.get(name, "str")
            data[name] = to_json_value(kind, self._meta.get(name))  # type: ignore[arg-type]
        data.update(self.to_json())
        data["project"] = self._meta.get("project")
        return data

    def changed(self) -> bool:
        return bool(self.to_json(only_changed=True)) or bool(self._pending)

    def copy(self) -> LabObject:
        """An independent copy (the same identity, values and pending parents)."""
        twin = type(self).__new__(type(self))
        object.__setattr__(twin, "_meta", dict(self._meta))
        object.__setattr__(twin, "_values", dict(self._values))
        object.__setattr__(twin, "_pending", dict(self._pending))
        object.__setattr__(twin, "_original", dict(self._original))
        return twin

    def pending_parents(self) -> Iterator[tuple[str, LabObject]]:
        """Parents set on this object that are not stored yet (``set(..., recursive=True)``)."""
        yield from self._pending.items()

    # presentation -------------------------------------------------------------------------
    def __repr__(self) -> str:
        parts = []
        if self.location:
            parts.append(f"location={self.location!r}")
        for name in self.field_names():
            value = self._values.get(name)
            if value is None or value == "":
                continue
            text = repr(value)
            parts.append(f"{name}={text if len(text) <= 40 else text[:37] + '...'}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabObject) or other._model.key != self._model.key:
            return NotImplemented
        return self.location == other.location and self._values == other._values


_STUB_SLOTS = frozenset({"_stub", "_loader"})
_SET_STUB = vars(LabObject)["_stub"].__set__  # the slots' own setters (no __setattr__ rules)
_SET_LOADER = vars(LabObject)["_loader"].__set__


def _field_property(model: Model, name: str) -> property:
    field = model.field(name)
    assert field is not None

    def getter(self: LabObject) -> Any:
        return self._values[name]

    def setter(self: LabObject, value: Any) -> None:
        path = f"{model.cls_name}.{name}"
        strict = field.kind in ("str", "text")
        self._values[name] = coerce_field(field, value, path, strict=strict)

    doc = field.doc + (f" [{field.unit}]" if field.unit else "")
    return property(getter, setter, doc=doc or None)


def _relation_property(model: Model, registry: Registry, name: str) -> property:
    target = registry.parent(model, name)

    def getter(self: LabObject) -> Any:
        if name in self._pending:
            return self._pending[name]
        location = self._values[name]
        if location is None:
            return None
        if self._source is None:
            return location
        return self._source.get(location)

    def setter(self: LabObject, value: Any) -> None:
        self._pending.pop(name, None)
        if value is None:
            self._values[name] = None
            return
        if isinstance(value, LabObject):
            if value._model.key != target.key:
                raise InvalidInput(
                    f"{model.cls_name}.{name}: expected a {target.cls_name}, "
                    f"got a {type(value).__name__}"
                )
            if value.location is None:
                self._pending[name] = value
                self._values[name] = None
                return
            value = value.location
        if not isinstance(value, str):
            raise InvalidInput(
                f"{model.cls_name}.{name}: expected a {target.cls_name} or "
                f"its location, got {value!r}"
            )
        self._values[name] = value if "/" in value else f"{target.key}/{value}"
        if not self._values[name].startswith(target.key + "/"):
            raise InvalidInput(f"{model.cls_name}.{name}: {value!r} is not a {target.key}")

    return property(getter, setter, doc=f"The parent {target.cls_name} (loaded on first use)")


def _children_property(child: Model, plural: str) -> property:
    def getter(self: LabObject) -> tuple[Any, ...]:
        if self.location is None or self._source is None:
            return ()
        return tuple(self._source.children(self.location, plural))

    return property(getter, doc=f"The {child.cls_name} objects below this one (cached)")


def build_model_class(
    model: Model, registry: Registry, source: ObjectSource | None
) -> type[LabObject]:
    """The Python class for ``model``, bound to the session that loads its relations."""
    namespace: dict[str, Any] = {
        "_model": model,
        "_prefix": f"{model.key}/",
        "_registry": registry,
        "_source": source,
        "__doc__": model.doc,
        "__module__": "labstore.models",
    }
    for field in model.fields:
        namespace[field.name] = _field_property(model, field.name)
    for rel in model.relations:
        namespace[rel.name] = _relation_property(model, registry, rel.name)
    for plural, link in registry.children(model).items():
        namespace[plural] = _children_property(link.child, plural)
    return type(model.cls_name, (LabObject,), namespace)

"""odML documents, sections and properties to batch entries, and back.

Values are stored as JSON in the property's dtype: dates and times as ISO 8601 text, tuples
as lists; odML converts them back through the stored ``dtype``. ``link`` and ``include`` are
stored as written and restored without resolving them (resolving would copy content in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import odml

from labstore.convert.batch import BatchBuilder
from labstore.errors import InvalidInput

PACK = "metadata"


def model_name(obj: Any) -> str:
    """The metadata model of an odML object.

    Raises:
        InvalidInput: Not an odML document, section or property.
    """
    if isinstance(obj, odml.doc.BaseDocument):
        return "document"
    if isinstance(obj, odml.section.BaseSection):
        return "section"
    if isinstance(obj, odml.property.BaseProperty):
        return "property"
    raise InvalidInput(f"cannot store a {type(obj).__name__} in the metadata pack")


def is_odml(obj: Any) -> bool:
    return isinstance(
        obj, odml.doc.BaseDocument | odml.section.BaseSection | odml.property.BaseProperty
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return str(value)  # odML reads "YYYY-MM-DD HH:MM:SS" back, not ISO's "T"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


def _position(obj: Any, siblings: Any) -> int:
    return next((i for i, item in enumerate(siblings or ()) if item is obj), 0)


class OdmlUpload:
    """Adds odML objects to a batch: one, or a whole tree when ``recursive``."""

    def __init__(self, builder: BatchBuilder, *, recursive: bool) -> None:
        self.builder = builder
        self.recursive = recursive

    def add(self, obj: Any) -> dict[str, str]:
        model = model_name(obj)
        if model == "document":
            return self._document(obj)
        parent = obj.parent
        if model == "section":
            return self._section(obj, parent, _position(obj, getattr(parent, "sections", ())))
        return self._property(obj, parent, _position(obj, getattr(parent, "properties", ())))

    def add_metadata(self, section: Any) -> dict[str, str]:
        """A section given as a Neo object's metadata, with its document if it has one."""
        if not isinstance(section, odml.section.BaseSection):
            raise InvalidInput(f"metadata: expected an odML Section, got {type(section).__name__}")
        root = section.document
        if root is not None and self.builder.ref_of(root) is None and not _stored(root):
            self._document(root)
        ref = self.builder.ref_of(section)
        return {"ref": ref} if ref is not None else self.add(section)

    def _link(self, parent: Any, what: str) -> Any:
        include = self.add if self.recursive else None
        return self.builder.link(parent, what, include)

    def _document(self, doc: Any) -> dict[str, str]:
        def describe() -> dict[str, Any]:
            return {
                "author": doc.author,
                "date": None if doc.date is None else doc.date.isoformat(),
                "doc_version": doc.version,
                "repository": doc.repository,
                "uuid": doc.id,
            }

        ref = self.builder.add(doc, f"{PACK}/document", describe)
        if self.recursive:
            for i, section in enumerate(doc.sections):
                self._section(section, doc, i)
        return ref

    def _section(self, section: Any, parent: Any, position: int) -> dict[str, str]:
        def describe() -> dict[str, Any]:
            on_document = isinstance(parent, odml.doc.BaseDocument)
            return {
                "name": section.name,
                "type": section.type,
                "definition": section.definition,
                "reference": section.reference,
                "repository": section._repository,  # its own, not the one it inherits
                "link": section._link,
                "include": section._include,
                "sec_cardinality": _json_value(section.sec_cardinality),
                "prop_cardinality": _json_value(section.prop_cardinality),
                "position": position,
                "uuid": section.id,
                "document": self._link(parent, "section.document") if on_document else None,
                "section": None if on_document else self._link(parent, "section.section"),
            }

        ref = self.builder.add(section, f"{PACK}/section", describe)
        if self.recursive:
            for i, prop in enumerate(section.properties):
                self._property(prop, section, i)
            for i, child in enumerate(section.sections):
                self._section(child, section, i)
        return ref

    def _property(self, prop: Any, section: Any, position: int) -> dict[str, str]:
        def describe() -> dict[str, Any]:
            return {
                "name": prop.name,
                "values": _json_value(list(prop.values)),
                "dtype": prop.dtype,
                "unit": prop.unit,
                "uncertainty": _json_value(prop.uncertainty),
                "definition": prop.definition,
                "reference": prop.reference,
                "value_origin": prop.value_origin,
                "dependency": prop.dependency,
                "dependency_value": prop.dependency_value,
                "val_cardinality": _json_value(prop.val_cardinality),
                "position": position,
                "uuid": prop.id,
                "section": self.builder.link(section, "property.section", None),
            }

        return self.builder.add(prop, f"{PACK}/property", describe)


def _stored(obj: Any) -> bool:
    return bool(getattr(obj, "location", None))


def _cardinality(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class OdmlAssembly:
    """odML objects from stored records; the first record is the root."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.built: dict[str, Any] = {}

    def root(self, location: str | None = None) -> Any:
        """The object at ``location`` (default: the first record), built with its subtree."""
        if not self.built:
            self._build()
        return self.built[location or self.records[0]["location"]]

    def _build(self) -> None:
        by_model: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            by_model.setdefault(record["model"].split("/")[1], []).append(record)

        def ordered(model: str) -> list[dict[str, Any]]:
            return sorted(by_model.get(model, []), key=lambda r: r.get("position") or 0)

        for record in by_model.get("document", []):
            self.built[record["location"]] = _document(record)
        sections = ordered("section")
        for record in sections:
            self.built[record["location"]] = _section(record)
        # Parents before children, each list in stored order.
        for record in sections:
            parent = self.built.get(record.get("document") or record.get("section") or "")
            if parent is not None:
                parent.append(self.built[record["location"]])
        for record in ordered("property"):
            made = _property(record)
            self.built[record["location"]] = made
            section = self.built.get(record["section"])
            if section is not None:
                section.append(made)


def _located(made: Any, record: Mapping[str, Any]) -> Any:
    made.location = record["location"]
    made.stored_version = record.get("version")  # not .version: odML documents have one
    return made


def _document(record: Mapping[str, Any]) -> Any:
    return _located(
        odml.Document(
            author=record.get("author"),
            date=record.get("date"),
            version=record.get("doc_version"),
            repository=record.get("repository"),
            oid=record.get("uuid"),
        ),
        record,
    )


def _section(record: Mapping[str, Any]) -> Any:
    section = odml.Section(
        name=record["name"],
        type=record.get("type") or "n.s.",
        definition=record.get("definition"),
        reference=record.get("reference"),
        repository=record.get("repository"),
        oid=record.get("uuid"),
        sec_cardinality=_cardinality(record.get("sec_cardinality")),
        prop_cardinality=_cardinality(record.get("prop_cardinality")),
    )
    section._link = record.get("link")
    section._include = record.get("include")
    return _located(section, record)


def _property(record: Mapping[str, Any]) -> Any:
    return _located(
        odml.Property(
            name=record["name"],
            values=record.get("values"),
            dtype=record.get("dtype"),
            unit=record.get("unit"),
            uncertainty=record.get("uncertainty"),
            definition=record.get("definition"),
            reference=record.get("reference"),
            value_origin=record.get("value_origin"),
            dependency=record.get("dependency"),
            dependency_value=record.get("dependency_value"),
            oid=record.get("uuid"),
            val_cardinality=_cardinality(record.get("val_cardinality")),
        ),
        record,
    )

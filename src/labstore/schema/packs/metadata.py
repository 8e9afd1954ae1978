"""The ``metadata`` pack: odML documents, their (nested) sections and properties.

Any ``ephys`` object can point at a section as its ``metadata``, so recordings are found by
what their metadata says: ``s.select("block", {"metadata__properties__name": "species",
"metadata__properties__values__contains": "mouse"})``.
"""

from __future__ import annotations

from labstore.schema.types import Field, Model, Pack, Relation

_UUID = Field("uuid", max_length=64, index=True, doc="odML's own id of the object")

PACK = Pack(
    "metadata",
    doc="Metadata in the odML model",
    models=(
        Model(
            "document",
            doc="An odML document: the root of a tree of sections",
            fields=(
                Field("author", max_length=1000),
                Field("date", "date"),
                Field("doc_version", max_length=255, doc="odML's document version"),
                Field("repository", "text", doc="URL of the terminology"),
                _UUID,
            ),
        ),
        Model(
            "section",
            doc="A named, typed group of properties and subsections",
            fields=(
                Field("name", "text", required=True),
                Field("type", "text", default="n.s.", index=True),
                Field("definition", "text"),
                Field("reference", "text"),
                Field("repository", "text"),
                Field("link", "text"),
                Field("include", "text"),
                Field("sec_cardinality", "json"),
                Field("prop_cardinality", "json"),
                Field("position", "int", default=0, doc="Place among its siblings"),
                _UUID,
            ),
            relations=(
                Relation("document", "document", on_delete="cascade", doc="Top-level sections"),
                Relation("section", "section", on_delete="cascade", doc="The parent section"),
            ),
        ),
        Model(
            "property",
            class_name="Property",
            doc="A named list of values with dtype, unit and uncertainty",
            fields=(
                Field("name", "text", required=True),
                Field("values", "json", doc="The values (dates and times as ISO 8601 text)"),
                Field("dtype", max_length=64),
                Field("unit", max_length=255),
                Field("uncertainty", "json"),
                Field("definition", "text"),
                Field("reference", "text"),
                Field("value_origin", "text"),
                Field("dependency", "text"),
                Field("dependency_value", "text"),
                Field("val_cardinality", "json"),
                Field("position", "int", default=0, doc="Place among its siblings"),
                _UUID,
            ),
            relations=(
                Relation(
                    "section",
                    "section",
                    plural="properties",
                    on_delete="cascade",
                    required=True,
                ),
            ),
        ),
    ),
)

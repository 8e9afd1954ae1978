"""The ``inventory`` pack: Aquarium's samples, their types, containers and items."""

from labstore.schema.types import Field, Model, Pack, Relation

PACK = Pack(
    "inventory",
    doc="Lab inventory: sample types, samples, container kinds and physical items",
    models=(
        Model(
            "sample_type",
            doc="A kind of sample (Primer, Plasmid, Fragment, ...)",
            fields=(
                Field("name", required=True, unique=True, max_length=255),
                Field("description", "text"),
            ),
        ),
        Model(
            "sample",
            doc="A specimen of a sample type",
            fields=(
                Field("name", required=True, index=True, max_length=255),
                Field("description", "text"),
                Field("properties", "json", doc="Type-specific values"),
            ),
            relations=(Relation("sample_type", "sample_type", plural="samples", required=True),),
            unique_together=(("name", "sample_type"),),
        ),
        Model(
            "object_type",
            doc="A kind of container (1.5 mL tube, glycerol stock, 96-well plate)",
            fields=(
                Field("name", required=True, unique=True, max_length=255),
                Field("description", "text"),
                Field("unit", default="item", max_length=64),
                Field("min", "int", default=0),
                Field("max", "int", default=1),
                Field("prefix", max_length=64, doc="Storage area prefix, e.g. M20"),
            ),
            relations=(Relation("sample_type", "sample_type", plural="object_types"),),
        ),
        Model(
            "item",
            doc="A physical item: a sample in a container, kept somewhere",
            fields=(
                Field("storage", index=True, max_length=255, doc="Where it is kept (freezer slot)"),
                Field("quantity", "int", default=1),
                Field("in_use", "bool", default=False),
                Field("data", "json"),
            ),
            relations=(
                Relation("sample", "sample", plural="items"),
                Relation("object_type", "object_type", plural="items", required=True),
            ),
        ),
    ),
)

"""The ``experiment`` pack: labs, subjects, experiments (Alyx "sessions") and their datasets."""

from labstore.schema.types import Field, Model, Pack, Relation

QC_CHOICES = ("NOT_SET", "PASS", "WARNING", "FAIL", "CRITICAL")

PACK = Pack(
    "experiment",
    doc="Experiments and datasets, in the shape IBL's Alyx and ONE use",
    models=(
        Model(
            "lab",
            doc="A laboratory",
            fields=(
                Field("name", required=True, unique=True, max_length=255),
                Field("institution", max_length=255),
                Field("timezone", default="UTC", max_length=64),
            ),
        ),
        Model(
            "subject",
            doc="An animal or other subject of experiments",
            fields=(
                Field("nickname", required=True, index=True, max_length=255),
                Field("species", max_length=255),
                Field("strain", max_length=255),
                Field("sex", choices=("M", "F", "U"), default="U"),
                Field("birth_date", "date"),
                Field("description", "text"),
            ),
            relations=(Relation("lab", "lab", plural="subjects"),),
            unique_together=(("nickname", "lab"),),
        ),
        Model(
            "experiment",
            doc="One recording session of a subject (an Alyx session)",
            fields=(
                Field("date", "date", required=True, index=True),
                Field("number", "int", default=1, doc="Sequence number within the day"),
                Field("task_protocol", max_length=1000),
                Field("projects", "json", doc="Names of the projects the session serves"),
                Field("start_time", "datetime"),
                Field("end_time", "datetime"),
                Field("narrative", "text"),
                Field("qc", choices=QC_CHOICES, default="NOT_SET"),
            ),
            relations=(
                Relation("subject", "subject", plural="experiments", required=True),
                Relation("lab", "lab", plural="experiments"),
            ),
            unique_together=(("subject", "date", "number"),),
        ),
        Model(
            "dataset",
            doc="A file of an experiment, by collection, revision and name",
            fields=(
                Field("collection", default="", max_length=1000),
                Field("revision", default="", max_length=255),
                Field("name", required=True, index=True, max_length=1000),
                Field("size", "int", unit="byte"),
                Field("hash", max_length=64),
                Field("qc", choices=QC_CHOICES, default="NOT_SET"),
                Field("default_revision", "bool", default=True),
            ),
            relations=(
                Relation(
                    "experiment",
                    "experiment",
                    plural="datasets",
                    required=True,
                    on_delete="cascade",
                ),
                Relation("file", "core/file", plural="datasets", on_delete="set_null"),
            ),
            indexes=(("experiment", "collection", "name"),),
        ),
    ),
)

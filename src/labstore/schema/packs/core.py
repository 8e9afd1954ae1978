"""The ``core`` pack: who (users, projects) and the files every other pack can point at."""

from labstore.schema.types import Field, Model, Pack

PACK = Pack(
    "core",
    doc="Users, projects and file records",
    models=(
        Model(
            "user",
            doc="A person who logs in; managed with `labstore user`, read-only through the API",
            read_only=True,
            fields=(
                Field("username", required=True, unique=True, max_length=150),
                Field("full_name", max_length=300),
                Field("email", max_length=300),
                Field("is_admin", "bool", default=False),
            ),
        ),
        Model(
            "project",
            doc="A group of users whose friendly objects they all see",
            read_only=True,
            fields=(
                Field("name", required=True, unique=True, max_length=150),
                Field("description", "text"),
            ),
        ),
        Model(
            "file",
            doc="A stored file: its bytes are a blob addressed by sha256",
            fields=(
                Field("name", required=True, max_length=1000),
                Field("size", "int", unit="byte"),
                Field("sha256", index=True, max_length=64, doc="Hex digest of the content"),
                Field("content_type", default="application/octet-stream", max_length=255),
                Field("description", "text"),
            ),
        ),
    ),
)

"""SQLAlchemy tables built from the packs: one table a model, the same on server and client.

A model's table is named ``<pack>_<model>``; it has the common columns (id, version, owner,
project, created, modified), one column per field and ``<relation>_id`` per parent. The server
adds its private tables (credentials, tokens, memberships) with ``server_tables=True``, and
indexes shaped for its access rule (see :data:`ACCESS_COLUMNS`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from labstore.query.compile import column_name
from labstore.schema.registry import Registry
from labstore.schema.types import Field, Model
from labstore.store.types import UTCDateTime, text_type

ID_LENGTH = 32
NAME_LENGTH = 150

# Names for constraints and indexes, so migrations are reproducible on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def column_type(field: Field) -> TypeEngine[Any]:
    kinds: dict[str, TypeEngine[Any]] = {
        "int": BigInteger(),
        "float": Float(),
        "bool": Boolean(),
        "datetime": UTCDateTime(),
        "date": Date(),
        # none_as_null: a JSON field set to None is SQL NULL, so ``isnull`` finds it.
        "json": JSON(none_as_null=True),
        "array": JSON(none_as_null=True),
    }
    if field.kind in ("str", "text"):
        return text_type(field.max_length if field.kind == "str" else None)
    return kinds[field.kind]


# The columns the server's access rule reads (server/access.py). On the server every index a
# query may walk also carries them, so the rule is checked inside the index: a user who sees 10%
# of the rows then walks ten index entries per row returned, not ten table rows (measured by
# benchmarks/visibility.py). The client's replica holds only visible rows and needs none of this.
ACCESS_COLUMNS = ("access_group", "safety_level", "project", "owner")
MAX_INDEX_NAME = 63  # PostgreSQL's identifier limit


def index_name(table: str, columns: tuple[str, ...], suffix: str = "") -> str:
    """A stable index name within PostgreSQL's limit (long ones end in a short hash)."""
    name = f"ix_{table}_{'_'.join(columns)}{suffix}"
    if len(name) <= MAX_INDEX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_INDEX_NAME - 9]}_{digest}"


class StoreTables:
    """The tables of a store, by model.

    With ``lazy=True`` (the client's replica) a model's table is built when first asked for:
    an offline session opening an existing store then builds only the tables its queries
    touch, not the whole schema (tens of milliseconds with every pack). :meth:`build_all`
    builds the rest, before creating tables.
    """

    def __init__(
        self, registry: Registry, *, server_tables: bool = False, lazy: bool = False
    ) -> None:
        self.registry = registry
        self.server_tables = server_tables
        self.metadata = MetaData(naming_convention=NAMING_CONVENTION)
        self._by_key: dict[str, Table] = {}
        if not lazy:
            self.build_all()
        add_shared_tables(self.metadata)
        if server_tables:
            add_server_tables(self.metadata, self._by_key["core/user"])

    def __call__(self, model: Model) -> Table:
        table = self._by_key.get(model.key)
        if table is None:
            table = self._by_key[model.key] = self._model_table(model)
        return table

    def build_all(self) -> None:
        """Build every model's table (a lazy instance builds them on first use)."""
        for model in self.registry:
            self(model)

    def _model_table(self, model: Model) -> Table:
        columns: list[Column[Any]] = [
            Column("id", String(ID_LENGTH), primary_key=True),
            Column("version", BigInteger, nullable=False),
            Column("owner", text_type(NAME_LENGTH), nullable=False, index=True),
            Column("project", text_type(NAME_LENGTH), nullable=True, index=True),
            Column("created", UTCDateTime(), nullable=False, index=not self.server_tables),
            Column("modified", UTCDateTime(), nullable=False),
            # Access: 1 private, 2 friendly (its project), 3 public; shares are granted per
            # access group, which an object inherits from the parent it was created under.
            Column("safety_level", SmallInteger, nullable=False, server_default=text("2")),
            Column("access_group", String(ID_LENGTH), nullable=False, index=not self.server_tables),
        ]
        for field in model.fields:
            columns.append(
                Column(
                    field.name,
                    column_type(field),
                    nullable=True,
                    index=field.index and not self.server_tables,
                    unique=field.unique,
                )
            )
        for rel in model.relations:
            parent = self.registry.parent(model, rel.name)
            columns.append(
                Column(
                    rel.column,
                    String(ID_LENGTH),
                    ForeignKey(f"{parent.table_name}.id"),
                    nullable=not rel.required,
                    index=True,
                )
            )
        table = Table(model.table_name, self.metadata, *columns)
        groups = [tuple(column_name(model, n) for n in group) for group in model.indexes]
        if self.server_tables:
            self._access_indexes(model, table, groups)
        else:
            for group in groups:
                Index(None, *(table.c[name] for name in group))
        for group in model.unique_together:
            table.append_constraint(UniqueConstraint(*(column_name(model, n) for n in group)))
        return table

    def _access_indexes(self, model: Model, table: Table, groups: list[tuple[str, ...]]) -> None:
        """The server's indexes: each carries the access columns after its own."""
        leading: list[tuple[str, ...]] = [
            ("created", "id"),  # the default order, walked by first and deep pages
            ("safety_level", "project"),  # public objects, and friendly ones of a project
            *((field.name,) for field in model.fields if field.index),
            *groups,
        ]
        for columns in leading:
            extra = tuple(c for c in ACCESS_COLUMNS if c not in columns)
            Index(index_name(table.name, columns, "_acl"), *(table.c[c] for c in columns + extra))
        # Shares are granted per access group: counting what a user sees through them starts here.
        Index(index_name(table.name, ACCESS_COLUMNS), *(table.c[c] for c in ACCESS_COLUMNS))


MODEL_KEY_LENGTH = 64
IDEMPOTENCY_KEY_LENGTH = 255


def add_shared_tables(metadata: MetaData) -> None:
    """Tables about objects of any model, kept by the server and by the client's replica."""
    Table(
        "object_tag",
        metadata,
        Column("model", String(MODEL_KEY_LENGTH), primary_key=True),
        Column("object_id", String(ID_LENGTH), primary_key=True),
        Column("tag", text_type(NAME_LENGTH), primary_key=True),
        # The project a tag belongs to ('' for none): projects keep their own vocabularies.
        Column("scope", text_type(NAME_LENGTH), primary_key=True),
        Index("ix_object_tag_tag", "tag"),
    )
    Table(
        "folder",
        metadata,
        # The full path, project first: /neuro/raw/2024
        Column("path", text_type(1000), primary_key=True),
        Column("project", text_type(NAME_LENGTH), nullable=False, index=True),
        Column("owner", text_type(NAME_LENGTH), nullable=False),
        Column("created", UTCDateTime(), nullable=False),
    )
    Table(
        "path_entry",
        metadata,
        Column("model", String(MODEL_KEY_LENGTH), primary_key=True),
        Column("object_id", String(ID_LENGTH), primary_key=True),
        Column("folder", text_type(1000), nullable=False),
        Column("name", text_type(1000), nullable=False),
        UniqueConstraint("folder", "name"),
    )


def add_server_tables(metadata: MetaData, users: Table) -> None:
    """Tables only the server has: secrets and memberships never leave it."""
    Table(
        "auth_credential",
        metadata,
        Column("user_id", String(ID_LENGTH), ForeignKey(users.c.id), primary_key=True),
        Column("password_hash", String(255), nullable=False),
    )
    Table(
        "auth_token",
        metadata,
        Column("token_hash", String(64), primary_key=True),
        Column("user_id", String(ID_LENGTH), ForeignKey(users.c.id), nullable=False, index=True),
        Column("created", UTCDateTime(), nullable=False),
        Column("expires", UTCDateTime(), nullable=False),
        Column("revoked", Boolean, nullable=False, default=False),
    )
    Table(
        "access_share",
        metadata,
        Column("access_group", String(ID_LENGTH), primary_key=True),
        Column("kind", String(8), primary_key=True),  # "user" or "project"
        Column("principal", text_type(NAME_LENGTH), primary_key=True),
        Column("permissions", SmallInteger, nullable=False),  # bits: read write delete share
        # Carries the group, so reading a user's shared groups never touches the table.
        Index("ix_access_share_principal_group", "kind", "principal", "access_group"),
    )
    # The change feed: one row per object, at the sequence number of its latest change.
    # Sequence numbers come from change_counter inside the writing transaction, whose row
    # lock makes them follow commit order (see server/changes.py).
    Table(
        "change_log",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("model", String(MODEL_KEY_LENGTH), nullable=False),
        Column("object_id", String(ID_LENGTH), nullable=False),
        Index("ix_change_log_object", "model", "object_id"),
    )
    Table(
        "change_counter",
        metadata,
        Column("id", SmallInteger, primary_key=True, autoincrement=False),
        Column("value", BigInteger, nullable=False),
    )
    Table(
        "feed_epoch",
        metadata,
        # Grows when what a user may see changes wholesale (a membership): their replica
        # must then be rebuilt, which the feed tells them.
        Column("username", text_type(NAME_LENGTH), primary_key=True),
        Column("epoch", BigInteger, nullable=False),
    )
    Table(
        "deployment",
        metadata,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    add_blob_tables(metadata)
    # Idempotency keys: a write sent with ``Idempotency-Key`` is remembered with its answer, so
    # a retry gets that answer instead of a second object (see server/idempotency.py). The row
    # is inserted in the write's own transaction; ``status`` stays NULL until the answer is in.
    Table(
        "idempotency_key",
        metadata,
        Column("username", text_type(NAME_LENGTH), primary_key=True),
        Column("key", String(IDEMPOTENCY_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),  # sha256 of method, path, body
        Column("created", UTCDateTime(), nullable=False, index=True),
        Column("status", SmallInteger, nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
    )
    Table(
        "project_member",
        metadata,
        Column("project", text_type(NAME_LENGTH), primary_key=True),
        Column("username", text_type(NAME_LENGTH), primary_key=True, index=True),
        Column("role", String(16), nullable=False, default="member"),
    )


SHA256_LENGTH = 64


def add_blob_tables(metadata: MetaData) -> None:
    """The server's record of blobs (their bytes live in blob storage) and of uploads."""
    Table(
        "blob",
        metadata,
        Column("sha256", String(SHA256_LENGTH), primary_key=True),
        Column("size", BigInteger, nullable=False),
        Column("created", UTCDateTime(), nullable=False),
    )
    # Who sent a blob's bytes: they may read it before any object refers to it.
    Table(
        "blob_owner",
        metadata,
        Column("sha256", String(SHA256_LENGTH), ForeignKey("blob.sha256"), primary_key=True),
        Column("username", text_type(NAME_LENGTH), primary_key=True),
    )
    # Which object field refers to which blob: those who may read the object may read it.
    Table(
        "blob_ref",
        metadata,
        Column("model", String(MODEL_KEY_LENGTH), primary_key=True),
        Column("object_id", String(ID_LENGTH), primary_key=True),
        Column("field", String(NAME_LENGTH), primary_key=True),
        Column("sha256", String(SHA256_LENGTH), nullable=False, index=True),
    )
    # A chunked upload in progress: its chunks are staged until it completes or expires.
    Table(
        "upload",
        metadata,
        Column("id", String(ID_LENGTH), primary_key=True),
        Column("username", text_type(NAME_LENGTH), nullable=False, index=True),
        Column("sha256", String(SHA256_LENGTH), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("chunk_size", BigInteger, nullable=False),
        Column("created", UTCDateTime(), nullable=False),
        Column("expires", UTCDateTime(), nullable=False, index=True),
    )
    Table(
        "upload_chunk",
        metadata,
        Column(
            "upload_id",
            String(ID_LENGTH),
            ForeignKey("upload.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("number", BigInteger, primary_key=True, autoincrement=False),
        Column("sha256", String(SHA256_LENGTH), nullable=False),
        Column("size", BigInteger, nullable=False),
    )

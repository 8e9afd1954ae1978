"""blobs and uploads (issue 7, files)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

The record of stored blobs (their bytes live in blob storage), who sent each one, which object
fields refer to which blob, and chunked uploads in progress.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labstore.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERNAME = sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
    )
    op.create_table(
        "blob_owner",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("username", USERNAME, nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["blob.sha256"], name=op.f("fk_blob_owner_sha256")),
        sa.PrimaryKeyConstraint("sha256", "username", name=op.f("pk_blob_owner")),
    )
    op.create_table(
        "blob_ref",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=150), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("model", "object_id", "field", name=op.f("pk_blob_ref")),
    )
    op.create_index(op.f("ix_blob_ref_sha256"), "blob_ref", ["sha256"], unique=False)
    op.create_table(
        "upload",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", USERNAME, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunk_size", sa.BigInteger(), nullable=False),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires", labstore.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
    )
    op.create_index(op.f("ix_upload_expires"), "upload", ["expires"], unique=False)
    op.create_index(op.f("ix_upload_username"), "upload", ["username"], unique=False)
    op.create_table(
        "upload_chunk",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["upload.id"],
            name=op.f("fk_upload_chunk_upload_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "number", name=op.f("pk_upload_chunk")),
    )


def downgrade() -> None:
    op.drop_table("upload_chunk")
    op.drop_index(op.f("ix_upload_username"), table_name="upload")
    op.drop_index(op.f("ix_upload_expires"), table_name="upload")
    op.drop_table("upload")
    op.drop_index(op.f("ix_blob_ref_sha256"), table_name="blob_ref")
    op.drop_table("blob_ref")
    op.drop_table("blob_owner")
    op.drop_table("blob")

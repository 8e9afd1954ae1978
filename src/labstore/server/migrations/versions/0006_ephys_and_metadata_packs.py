"""ephys and metadata packs (issue 3): Neo objects and odML documents

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labstore.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metadata_document",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "author",
            sa.String(length=1000).with_variant(
                sa.String(length=1000, collation="C"), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column(
            "doc_version",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "repository",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "uuid",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_document")),
    )
    with op.batch_alter_table("metadata_document", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metadata_document_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_metadata_document_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_metadata_document_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_metadata_document_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_metadata_document_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_metadata_document_uuid_acl",
            ["uuid", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )

    op.create_table(
        "metadata_section",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "type", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "definition",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "reference", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "repository",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "link", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "include", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column("sec_cardinality", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("prop_cardinality", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column(
            "uuid",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("section_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["metadata_document.id"], name=op.f("fk_metadata_section_document_id")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["metadata_section.id"], name=op.f("fk_metadata_section_section_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_section")),
    )
    with op.batch_alter_table("metadata_section", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metadata_section_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_metadata_section_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_metadata_section_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_metadata_section_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_metadata_section_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_metadata_section_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_metadata_section_section_id"), ["section_id"], unique=False
        )
        batch_op.create_index(
            "ix_metadata_section_type_acl",
            ["type", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_metadata_section_uuid_acl",
            ["uuid", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_block",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("file_datetime", labstore.store.types.UTCDateTime(), nullable=True),
        sa.Column("rec_datetime", labstore.store.types.UTCDateTime(), nullable=True),
        sa.Column("index", sa.BigInteger(), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_block_metadata_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_block")),
    )
    with op.batch_alter_table("ephys_block", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_block_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_block_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_block_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_block_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_block_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_block_rec_datetime_acl",
            ["rec_datetime", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_block_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    op.create_table(
        "metadata_property",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column("values", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "dtype",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "unit",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("uncertainty", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "definition",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "reference", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "value_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "dependency",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "dependency_value",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("val_cardinality", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column(
            "uuid",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("section_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"], ["metadata_section.id"], name=op.f("fk_metadata_property_section_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_property")),
    )
    with op.batch_alter_table("metadata_property", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metadata_property_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_metadata_property_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_metadata_property_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_metadata_property_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_metadata_property_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_metadata_property_section_id"), ["section_id"], unique=False
        )
        batch_op.create_index(
            "ix_metadata_property_uuid_acl",
            ["uuid", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_group",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("allowed_types", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("block_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["block_id"], ["ephys_block.id"], name=op.f("fk_ephys_group_block_id")
        ),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_group_metadata_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_group")),
    )
    with op.batch_alter_table("ephys_group", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_group_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ephys_group_block_id"), ["block_id"], unique=False)
        batch_op.create_index(
            "ix_ephys_group_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_group_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_group_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_group_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_segment",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("file_datetime", labstore.store.types.UTCDateTime(), nullable=True),
        sa.Column("rec_datetime", labstore.store.types.UTCDateTime(), nullable=True),
        sa.Column("index", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("block_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["block_id"], ["ephys_block.id"], name=op.f("fk_ephys_segment_block_id")
        ),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_segment_metadata_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_segment")),
    )
    with op.batch_alter_table("ephys_segment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_segment_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ephys_segment_block_id"), ["block_id"], unique=False)
        batch_op.create_index(
            "ix_ephys_segment_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_segment_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_segment_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_segment_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_segment_rec_datetime_acl",
            ["rec_datetime", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_segment_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_analogsignal",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("signal", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("sampling_rate", sa.Float(), nullable=True),
        sa.Column(
            "sampling_rate_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("t_start", sa.Float(), nullable=True),
        sa.Column(
            "t_start_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_analogsignal_metadata_id")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["ephys_segment.id"], name=op.f("fk_ephys_analogsignal_segment_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_analogsignal")),
    )
    with op.batch_alter_table("ephys_analogsignal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_analogsignal_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_analogsignal_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_analogsignal_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_analogsignal_owner"), ["owner"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ephys_analogsignal_project"), ["project"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_analogsignal_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_analogsignal_segment_id"), ["segment_id"], unique=False
        )

    op.create_table(
        "ephys_epoch",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("times", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("durations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "duration_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("labels", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_epoch_metadata_id")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["ephys_segment.id"], name=op.f("fk_ephys_epoch_segment_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_epoch")),
    )
    with op.batch_alter_table("ephys_epoch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_epoch_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_epoch_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_epoch_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_epoch_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_epoch_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_epoch_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ephys_epoch_segment_id"), ["segment_id"], unique=False)

    op.create_table(
        "ephys_event",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("times", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("labels", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_event_metadata_id")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["ephys_segment.id"], name=op.f("fk_ephys_event_segment_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_event")),
    )
    with op.batch_alter_table("ephys_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_event_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_event_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_event_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_event_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_event_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_event_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ephys_event_segment_id"), ["segment_id"], unique=False)

    op.create_table(
        "ephys_imagesequence",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("image_data", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("sampling_rate", sa.Float(), nullable=True),
        sa.Column(
            "sampling_rate_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("spatial_scale", sa.Float(), nullable=True),
        sa.Column(
            "spatial_scale_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("t_start", sa.Float(), nullable=True),
        sa.Column(
            "t_start_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"],
            ["metadata_section.id"],
            name=op.f("fk_ephys_imagesequence_metadata_id"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["ephys_segment.id"], name=op.f("fk_ephys_imagesequence_segment_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_imagesequence")),
    )
    with op.batch_alter_table("ephys_imagesequence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_imagesequence_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_imagesequence_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_imagesequence_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_imagesequence_owner"), ["owner"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ephys_imagesequence_project"), ["project"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_imagesequence_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_imagesequence_segment_id"), ["segment_id"], unique=False
        )

    op.create_table(
        "ephys_irregularlysampledsignal",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("times", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "time_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("signal", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"],
            ["metadata_section.id"],
            name=op.f("fk_ephys_irregularlysampledsignal_metadata_id"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["ephys_segment.id"],
            name=op.f("fk_ephys_irregularlysampledsignal_segment_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_irregularlysampledsignal")),
    )
    with op.batch_alter_table("ephys_irregularlysampledsignal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_irregularlysampledsignal_access_group_safety__34062138",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_irregularlysampledsignal_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_irregularlysampledsignal_metadata_id"),
            ["metadata_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_irregularlysampledsignal_owner"), ["owner"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_irregularlysampledsignal_project"), ["project"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_irregularlysampledsignal_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_irregularlysampledsignal_segment_id"), ["segment_id"], unique=False
        )

    op.create_table(
        "ephys_spiketrain",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("times", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("t_start", sa.Float(), nullable=True),
        sa.Column(
            "t_start_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("t_stop", sa.Float(), nullable=True),
        sa.Column(
            "t_stop_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("waveforms", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "waveform_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("left_sweep", sa.Float(), nullable=True),
        sa.Column(
            "left_sweep_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("sampling_rate", sa.Float(), nullable=True),
        sa.Column(
            "sampling_rate_units",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_spiketrain_metadata_id")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["ephys_segment.id"], name=op.f("fk_ephys_spiketrain_segment_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_spiketrain")),
    )
    with op.batch_alter_table("ephys_spiketrain", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_spiketrain_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_spiketrain_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_spiketrain_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_spiketrain_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_spiketrain_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_spiketrain_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_spiketrain_segment_id"), ["segment_id"], unique=False
        )

    op.create_table(
        "ephys_channelview",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("index", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("array_annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("block_id", sa.String(length=32), nullable=True),
        sa.Column("analogsignal_id", sa.String(length=32), nullable=True),
        sa.Column("irregularlysampledsignal_id", sa.String(length=32), nullable=True),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["analogsignal_id"],
            ["ephys_analogsignal.id"],
            name=op.f("fk_ephys_channelview_analogsignal_id"),
        ),
        sa.ForeignKeyConstraint(
            ["block_id"], ["ephys_block.id"], name=op.f("fk_ephys_channelview_block_id")
        ),
        sa.ForeignKeyConstraint(
            ["irregularlysampledsignal_id"],
            ["ephys_irregularlysampledsignal.id"],
            name=op.f("fk_ephys_channelview_irregularlysampledsignal_id"),
        ),
        sa.ForeignKeyConstraint(
            ["metadata_id"], ["metadata_section.id"], name=op.f("fk_ephys_channelview_metadata_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_channelview")),
    )
    with op.batch_alter_table("ephys_channelview", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_channelview_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_channelview_analogsignal_id"), ["analogsignal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_channelview_block_id"), ["block_id"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_channelview_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_channelview_irregularlysampledsignal_id"),
            ["irregularlysampledsignal_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_channelview_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_channelview_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_ephys_channelview_project"), ["project"], unique=False)
        batch_op.create_index(
            "ix_ephys_channelview_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_regionofinterest",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column(
            "description",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "file_origin",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("annotations", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "shape", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column("x", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("y", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("radius", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("width", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("height", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("vertices", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("block_id", sa.String(length=32), nullable=True),
        sa.Column("imagesequence_id", sa.String(length=32), nullable=False),
        sa.Column("metadata_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["block_id"], ["ephys_block.id"], name=op.f("fk_ephys_regionofinterest_block_id")
        ),
        sa.ForeignKeyConstraint(
            ["imagesequence_id"],
            ["ephys_imagesequence.id"],
            name=op.f("fk_ephys_regionofinterest_imagesequence_id"),
        ),
        sa.ForeignKeyConstraint(
            ["metadata_id"],
            ["metadata_section.id"],
            name=op.f("fk_ephys_regionofinterest_metadata_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_regionofinterest")),
    )
    with op.batch_alter_table("ephys_regionofinterest", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_regionofinterest_access_group_safety_level_pr_fc0b182b",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_regionofinterest_block_id"), ["block_id"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_regionofinterest_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_regionofinterest_imagesequence_id"),
            ["imagesequence_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_regionofinterest_metadata_id"), ["metadata_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_regionofinterest_owner"), ["owner"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_regionofinterest_project"), ["project"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_regionofinterest_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    op.create_table(
        "ephys_group_member",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "project",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("modified", labstore.store.types.UTCDateTime(), nullable=False),
        sa.Column("safety_level", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("access_group", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("analogsignal_id", sa.String(length=32), nullable=True),
        sa.Column("irregularlysampledsignal_id", sa.String(length=32), nullable=True),
        sa.Column("spiketrain_id", sa.String(length=32), nullable=True),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("epoch_id", sa.String(length=32), nullable=True),
        sa.Column("imagesequence_id", sa.String(length=32), nullable=True),
        sa.Column("channelview_id", sa.String(length=32), nullable=True),
        sa.Column("regionofinterest_id", sa.String(length=32), nullable=True),
        sa.Column("member_group_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["analogsignal_id"],
            ["ephys_analogsignal.id"],
            name=op.f("fk_ephys_group_member_analogsignal_id"),
        ),
        sa.ForeignKeyConstraint(
            ["channelview_id"],
            ["ephys_channelview.id"],
            name=op.f("fk_ephys_group_member_channelview_id"),
        ),
        sa.ForeignKeyConstraint(
            ["epoch_id"], ["ephys_epoch.id"], name=op.f("fk_ephys_group_member_epoch_id")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ephys_event.id"], name=op.f("fk_ephys_group_member_event_id")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["ephys_group.id"], name=op.f("fk_ephys_group_member_group_id")
        ),
        sa.ForeignKeyConstraint(
            ["imagesequence_id"],
            ["ephys_imagesequence.id"],
            name=op.f("fk_ephys_group_member_imagesequence_id"),
        ),
        sa.ForeignKeyConstraint(
            ["irregularlysampledsignal_id"],
            ["ephys_irregularlysampledsignal.id"],
            name=op.f("fk_ephys_group_member_irregularlysampledsignal_id"),
        ),
        sa.ForeignKeyConstraint(
            ["member_group_id"],
            ["ephys_group.id"],
            name=op.f("fk_ephys_group_member_member_group_id"),
        ),
        sa.ForeignKeyConstraint(
            ["regionofinterest_id"],
            ["ephys_regionofinterest.id"],
            name=op.f("fk_ephys_group_member_regionofinterest_id"),
        ),
        sa.ForeignKeyConstraint(
            ["spiketrain_id"],
            ["ephys_spiketrain.id"],
            name=op.f("fk_ephys_group_member_spiketrain_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ephys_group_member")),
    )
    with op.batch_alter_table("ephys_group_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ephys_group_member_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_analogsignal_id"), ["analogsignal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_channelview_id"), ["channelview_id"], unique=False
        )
        batch_op.create_index(
            "ix_ephys_group_member_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_epoch_id"), ["epoch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_imagesequence_id"), ["imagesequence_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_irregularlysampledsignal_id"),
            ["irregularlysampledsignal_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_member_group_id"), ["member_group_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ephys_group_member_owner"), ["owner"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_project"), ["project"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_regionofinterest_id"),
            ["regionofinterest_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ephys_group_member_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ephys_group_member_spiketrain_id"), ["spiketrain_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ephys_group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_spiketrain_id"))
        batch_op.drop_index("ix_ephys_group_member_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_regionofinterest_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_member_group_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_irregularlysampledsignal_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_imagesequence_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_group_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_event_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_epoch_id"))
        batch_op.drop_index("ix_ephys_group_member_created_id_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_channelview_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_member_analogsignal_id"))
        batch_op.drop_index("ix_ephys_group_member_access_group_safety_level_project_owner")

    op.drop_table("ephys_group_member")
    with op.batch_alter_table("ephys_regionofinterest", schema=None) as batch_op:
        batch_op.drop_index("ix_ephys_regionofinterest_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_regionofinterest_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_regionofinterest_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_regionofinterest_metadata_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_regionofinterest_imagesequence_id"))
        batch_op.drop_index("ix_ephys_regionofinterest_created_id_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_regionofinterest_block_id"))
        batch_op.drop_index("ix_ephys_regionofinterest_access_group_safety_level_pr_fc0b182b")

    op.drop_table("ephys_regionofinterest")
    with op.batch_alter_table("ephys_channelview", schema=None) as batch_op:
        batch_op.drop_index("ix_ephys_channelview_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_metadata_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_irregularlysampledsignal_id"))
        batch_op.drop_index("ix_ephys_channelview_created_id_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_block_id"))
        batch_op.drop_index(batch_op.f("ix_ephys_channelview_analogsignal_id"))
        batch_op.drop_index("ix_ephys_channelview_access_group_safety_level_project_owner")

    op.drop_table("ephys_channelview")
    with op.batch_alter_table("ephys_spiketrain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_spiketrain_segment_id"))
        batch_op.drop_index("ix_ephys_spiketrain_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_spiketrain_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_spiketrain_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_spiketrain_metadata_id"))
        batch_op.drop_index("ix_ephys_spiketrain_created_id_acl")
        batch_op.drop_index("ix_ephys_spiketrain_access_group_safety_level_project_owner")

    op.drop_table("ephys_spiketrain")
    with op.batch_alter_table("ephys_irregularlysampledsignal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_irregularlysampledsignal_segment_id"))
        batch_op.drop_index("ix_ephys_irregularlysampledsignal_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_irregularlysampledsignal_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_irregularlysampledsignal_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_irregularlysampledsignal_metadata_id"))
        batch_op.drop_index("ix_ephys_irregularlysampledsignal_created_id_acl")
        batch_op.drop_index("ix_ephys_irregularlysampledsignal_access_group_safety__34062138")

    op.drop_table("ephys_irregularlysampledsignal")
    with op.batch_alter_table("ephys_imagesequence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_imagesequence_segment_id"))
        batch_op.drop_index("ix_ephys_imagesequence_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_imagesequence_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_imagesequence_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_imagesequence_metadata_id"))
        batch_op.drop_index("ix_ephys_imagesequence_created_id_acl")
        batch_op.drop_index("ix_ephys_imagesequence_access_group_safety_level_project_owner")

    op.drop_table("ephys_imagesequence")
    with op.batch_alter_table("ephys_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_event_segment_id"))
        batch_op.drop_index("ix_ephys_event_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_event_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_event_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_event_metadata_id"))
        batch_op.drop_index("ix_ephys_event_created_id_acl")
        batch_op.drop_index("ix_ephys_event_access_group_safety_level_project_owner")

    op.drop_table("ephys_event")
    with op.batch_alter_table("ephys_epoch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_epoch_segment_id"))
        batch_op.drop_index("ix_ephys_epoch_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_epoch_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_epoch_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_epoch_metadata_id"))
        batch_op.drop_index("ix_ephys_epoch_created_id_acl")
        batch_op.drop_index("ix_ephys_epoch_access_group_safety_level_project_owner")

    op.drop_table("ephys_epoch")
    with op.batch_alter_table("ephys_analogsignal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ephys_analogsignal_segment_id"))
        batch_op.drop_index("ix_ephys_analogsignal_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_analogsignal_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_analogsignal_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_analogsignal_metadata_id"))
        batch_op.drop_index("ix_ephys_analogsignal_created_id_acl")
        batch_op.drop_index("ix_ephys_analogsignal_access_group_safety_level_project_owner")

    op.drop_table("ephys_analogsignal")
    with op.batch_alter_table("ephys_segment", schema=None) as batch_op:
        batch_op.drop_index("ix_ephys_segment_safety_level_project_acl")
        batch_op.drop_index("ix_ephys_segment_rec_datetime_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_segment_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_segment_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_segment_metadata_id"))
        batch_op.drop_index("ix_ephys_segment_created_id_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_segment_block_id"))
        batch_op.drop_index("ix_ephys_segment_access_group_safety_level_project_owner")

    op.drop_table("ephys_segment")
    with op.batch_alter_table("ephys_group", schema=None) as batch_op:
        batch_op.drop_index("ix_ephys_group_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_group_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_group_metadata_id"))
        batch_op.drop_index("ix_ephys_group_created_id_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_group_block_id"))
        batch_op.drop_index("ix_ephys_group_access_group_safety_level_project_owner")

    op.drop_table("ephys_group")
    with op.batch_alter_table("metadata_property", schema=None) as batch_op:
        batch_op.drop_index("ix_metadata_property_uuid_acl")
        batch_op.drop_index(batch_op.f("ix_metadata_property_section_id"))
        batch_op.drop_index("ix_metadata_property_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_metadata_property_project"))
        batch_op.drop_index(batch_op.f("ix_metadata_property_owner"))
        batch_op.drop_index("ix_metadata_property_created_id_acl")
        batch_op.drop_index("ix_metadata_property_access_group_safety_level_project_owner")

    op.drop_table("metadata_property")
    with op.batch_alter_table("ephys_block", schema=None) as batch_op:
        batch_op.drop_index("ix_ephys_block_safety_level_project_acl")
        batch_op.drop_index("ix_ephys_block_rec_datetime_acl")
        batch_op.drop_index(batch_op.f("ix_ephys_block_project"))
        batch_op.drop_index(batch_op.f("ix_ephys_block_owner"))
        batch_op.drop_index(batch_op.f("ix_ephys_block_metadata_id"))
        batch_op.drop_index("ix_ephys_block_created_id_acl")
        batch_op.drop_index("ix_ephys_block_access_group_safety_level_project_owner")

    op.drop_table("ephys_block")
    with op.batch_alter_table("metadata_section", schema=None) as batch_op:
        batch_op.drop_index("ix_metadata_section_uuid_acl")
        batch_op.drop_index("ix_metadata_section_type_acl")
        batch_op.drop_index(batch_op.f("ix_metadata_section_section_id"))
        batch_op.drop_index("ix_metadata_section_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_metadata_section_project"))
        batch_op.drop_index(batch_op.f("ix_metadata_section_owner"))
        batch_op.drop_index(batch_op.f("ix_metadata_section_document_id"))
        batch_op.drop_index("ix_metadata_section_created_id_acl")
        batch_op.drop_index("ix_metadata_section_access_group_safety_level_project_owner")

    op.drop_table("metadata_section")
    with op.batch_alter_table("metadata_document", schema=None) as batch_op:
        batch_op.drop_index("ix_metadata_document_uuid_acl")
        batch_op.drop_index("ix_metadata_document_safety_level_project_acl")
        batch_op.drop_index(batch_op.f("ix_metadata_document_project"))
        batch_op.drop_index(batch_op.f("ix_metadata_document_owner"))
        batch_op.drop_index("ix_metadata_document_created_id_acl")
        batch_op.drop_index("ix_metadata_document_access_group_safety_level_project_owner")

    op.drop_table("metadata_document")

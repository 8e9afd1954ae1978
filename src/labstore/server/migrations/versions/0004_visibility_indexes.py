"""visibility indexes (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

The server's indexes carry the access columns (access_group, safety_level, project, owner)
after their own, and two new ones serve the access rule itself, so a user who sees a fraction of
the objects is answered from the indexes (see store/tables.py, server/access.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("core_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_file_access_group"))
        batch_op.drop_index(batch_op.f("ix_core_file_created"))
        batch_op.drop_index(batch_op.f("ix_core_file_sha256"))
        batch_op.create_index(
            "ix_core_file_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_file_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_file_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_file_sha256_acl",
            ["sha256", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )

    with op.batch_alter_table("core_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_project_access_group"))
        batch_op.drop_index(batch_op.f("ix_core_project_created"))
        batch_op.create_index(
            "ix_core_project_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_project_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_project_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_user_access_group"))
        batch_op.drop_index(batch_op.f("ix_core_user_created"))
        batch_op.create_index(
            "ix_core_user_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_user_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_core_user_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("experiment_dataset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_dataset_access_group"))
        batch_op.drop_index(batch_op.f("ix_experiment_dataset_created"))
        batch_op.drop_index(
            batch_op.f(
                "ix_experiment_dataset_experiment_id_experiment_dataset_collection_experiment_dataset_name"
            )
        )
        batch_op.drop_index(batch_op.f("ix_experiment_dataset_name"))
        batch_op.create_index(
            "ix_experiment_dataset_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_dataset_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_dataset_experiment_id_collection_name_acl",
            [
                "experiment_id",
                "collection",
                "name",
                "access_group",
                "safety_level",
                "project",
                "owner",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_dataset_name_acl",
            ["name", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_dataset_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("experiment_experiment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_experiment_access_group"))
        batch_op.drop_index(batch_op.f("ix_experiment_experiment_created"))
        batch_op.drop_index(batch_op.f("ix_experiment_experiment_date"))
        batch_op.create_index(
            "ix_experiment_experiment_access_group_safety_level_pro_97450a3c",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_experiment_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_experiment_date_acl",
            ["date", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_experiment_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("experiment_lab", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_lab_access_group"))
        batch_op.drop_index(batch_op.f("ix_experiment_lab_created"))
        batch_op.create_index(
            "ix_experiment_lab_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_lab_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_lab_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("experiment_subject", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_subject_access_group"))
        batch_op.drop_index(batch_op.f("ix_experiment_subject_created"))
        batch_op.drop_index(batch_op.f("ix_experiment_subject_nickname"))
        batch_op.create_index(
            "ix_experiment_subject_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_subject_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_subject_nickname_acl",
            ["nickname", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_experiment_subject_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("inventory_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_item_access_group"))
        batch_op.drop_index(batch_op.f("ix_inventory_item_created"))
        batch_op.drop_index(batch_op.f("ix_inventory_item_storage"))
        batch_op.create_index(
            "ix_inventory_item_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_item_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_item_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_item_storage_acl",
            ["storage", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )

    with op.batch_alter_table("inventory_object_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_object_type_access_group"))
        batch_op.drop_index(batch_op.f("ix_inventory_object_type_created"))
        batch_op.create_index(
            "ix_inventory_object_type_access_group_safety_level_pro_6717c76d",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_object_type_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_object_type_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("inventory_sample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_sample_access_group"))
        batch_op.drop_index(batch_op.f("ix_inventory_sample_created"))
        batch_op.drop_index(batch_op.f("ix_inventory_sample_name"))
        batch_op.create_index(
            "ix_inventory_sample_access_group_safety_level_project_owner",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_sample_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_sample_name_acl",
            ["name", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_sample_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )

    with op.batch_alter_table("inventory_sample_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_sample_type_access_group"))
        batch_op.drop_index(batch_op.f("ix_inventory_sample_type_created"))
        batch_op.create_index(
            "ix_inventory_sample_type_access_group_safety_level_pro_c82c4d7c",
            ["access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_sample_type_created_id_acl",
            ["created", "id", "access_group", "safety_level", "project", "owner"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inventory_sample_type_safety_level_project_acl",
            ["safety_level", "project", "access_group", "owner"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("inventory_sample_type", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_sample_type_safety_level_project_acl")
        batch_op.drop_index("ix_inventory_sample_type_created_id_acl")
        batch_op.drop_index("ix_inventory_sample_type_access_group_safety_level_pro_c82c4d7c")
        batch_op.create_index(
            batch_op.f("ix_inventory_sample_type_created"), ["created"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inventory_sample_type_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("inventory_sample", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_sample_safety_level_project_acl")
        batch_op.drop_index("ix_inventory_sample_name_acl")
        batch_op.drop_index("ix_inventory_sample_created_id_acl")
        batch_op.drop_index("ix_inventory_sample_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_inventory_sample_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_inventory_sample_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inventory_sample_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("inventory_object_type", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_object_type_safety_level_project_acl")
        batch_op.drop_index("ix_inventory_object_type_created_id_acl")
        batch_op.drop_index("ix_inventory_object_type_access_group_safety_level_pro_6717c76d")
        batch_op.create_index(
            batch_op.f("ix_inventory_object_type_created"), ["created"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inventory_object_type_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("inventory_item", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_item_storage_acl")
        batch_op.drop_index("ix_inventory_item_safety_level_project_acl")
        batch_op.drop_index("ix_inventory_item_created_id_acl")
        batch_op.drop_index("ix_inventory_item_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_inventory_item_storage"), ["storage"], unique=False)
        batch_op.create_index(batch_op.f("ix_inventory_item_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inventory_item_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("experiment_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_experiment_subject_safety_level_project_acl")
        batch_op.drop_index("ix_experiment_subject_nickname_acl")
        batch_op.drop_index("ix_experiment_subject_created_id_acl")
        batch_op.drop_index("ix_experiment_subject_access_group_safety_level_project_owner")
        batch_op.create_index(
            batch_op.f("ix_experiment_subject_nickname"), ["nickname"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_subject_created"), ["created"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_subject_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("experiment_lab", schema=None) as batch_op:
        batch_op.drop_index("ix_experiment_lab_safety_level_project_acl")
        batch_op.drop_index("ix_experiment_lab_created_id_acl")
        batch_op.drop_index("ix_experiment_lab_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_experiment_lab_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_experiment_lab_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("experiment_experiment", schema=None) as batch_op:
        batch_op.drop_index("ix_experiment_experiment_safety_level_project_acl")
        batch_op.drop_index("ix_experiment_experiment_date_acl")
        batch_op.drop_index("ix_experiment_experiment_created_id_acl")
        batch_op.drop_index("ix_experiment_experiment_access_group_safety_level_pro_97450a3c")
        batch_op.create_index(batch_op.f("ix_experiment_experiment_date"), ["date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_experiment_experiment_created"), ["created"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_experiment_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("experiment_dataset", schema=None) as batch_op:
        batch_op.drop_index("ix_experiment_dataset_safety_level_project_acl")
        batch_op.drop_index("ix_experiment_dataset_name_acl")
        batch_op.drop_index("ix_experiment_dataset_experiment_id_collection_name_acl")
        batch_op.drop_index("ix_experiment_dataset_created_id_acl")
        batch_op.drop_index("ix_experiment_dataset_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_experiment_dataset_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f(
                "ix_experiment_dataset_experiment_id_experiment_dataset_collection_experiment_dataset_name"
            ),
            ["experiment_id", "collection", "name"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_dataset_created"), ["created"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_dataset_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.drop_index("ix_core_user_safety_level_project_acl")
        batch_op.drop_index("ix_core_user_created_id_acl")
        batch_op.drop_index("ix_core_user_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_core_user_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_core_user_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("core_project", schema=None) as batch_op:
        batch_op.drop_index("ix_core_project_safety_level_project_acl")
        batch_op.drop_index("ix_core_project_created_id_acl")
        batch_op.drop_index("ix_core_project_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_core_project_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_core_project_access_group"), ["access_group"], unique=False
        )

    with op.batch_alter_table("core_file", schema=None) as batch_op:
        batch_op.drop_index("ix_core_file_sha256_acl")
        batch_op.drop_index("ix_core_file_safety_level_project_acl")
        batch_op.drop_index("ix_core_file_created_id_acl")
        batch_op.drop_index("ix_core_file_access_group_safety_level_project_owner")
        batch_op.create_index(batch_op.f("ix_core_file_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_core_file_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_core_file_access_group"), ["access_group"], unique=False
        )

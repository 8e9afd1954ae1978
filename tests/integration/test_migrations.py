"""Schema migrations on a real database, SQLite and PostgreSQL.

These tests take ``database_url`` without ``app`` (the app migrates on start), so each one
begins on an empty database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from labstore.errors import ConfigError
from labstore.server import create_app
from labstore.server.migrate import (
    current_revision,
    head_revision,
    schema_state,
    target_metadata,
    upgrade,
)
from labstore.store.engine import create_store_engine
from tests.conftest import fast_settings


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_store_engine(database_url)
    yield made
    made.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def set_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def test_a_fresh_database_is_empty_then_current(engine: Engine) -> None:
    assert table_names(engine) == set()
    assert current_revision(engine) is None
    assert schema_state(engine) == "empty"

    assert upgrade(engine) == "empty"

    assert schema_state(engine) == "current"
    assert current_revision(engine) == head_revision()
    expected = set(target_metadata().tables)
    assert {"auth_token", "auth_credential", "project_member", "experiment_lab"} <= expected
    assert table_names(engine) == expected | {"alembic_version"}


def test_a_second_upgrade_is_a_no_op(engine: Engine) -> None:
    assert upgrade(engine) == "empty"
    lab = target_metadata().tables["experiment_lab"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiment_lab (id, version, owner, created, modified, name) "
                "VALUES ('LAB0000001', 1, 'alice', '2024-01-01 00:00:00', '2024-01-01 00:00:00', "
                "'cortexlab')"
            )
        )

    assert upgrade(engine) == "current"
    assert upgrade(engine) == "current"

    assert schema_state(engine) == "current"
    with engine.connect() as conn:
        assert conn.execute(select(lab.c.name)).scalars().all() == ["cortexlab"]
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == [head_revision()]


def test_migrations_match_the_tables_the_packs_build(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the scripts build exactly what the code expects."""
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata())
    assert differences == [], "\n".join(str(d) for d in differences)

    # The comparison is live: a table the code does not know shows up as a difference.
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata())
    assert [(d[0], d[1].name) for d in differences] == [("remove_table", "stray")]


def test_a_newer_database_is_refused(engine: Engine) -> None:
    upgrade(engine)
    set_revision(engine, "9999zzzz")
    before = table_names(engine)

    assert schema_state(engine) == "newer"
    with pytest.raises(ConfigError) as raised:
        upgrade(engine)

    message = str(raised.value)
    assert "newer" in message and "9999zzzz" in message and head_revision() in message
    assert current_revision(engine) == "9999zzzz"
    assert table_names(engine) == before


def test_a_database_of_something_else_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
        conn.execute(text("INSERT INTO invoices (id, total) VALUES (1, 100)"))

    with pytest.raises(ConfigError, match="not a labstore database"):
        schema_state(engine)
    with pytest.raises(ConfigError, match="not a labstore database"):
        upgrade(engine)

    assert table_names(engine) == {"invoices"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT total FROM invoices")).scalar_one() == 100


def test_the_app_refuses_a_newer_database(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    upgrade(engine)
    set_revision(engine, "9999zzzz")
    with pytest.raises(ConfigError, match="newer"):
        create_app(fast_settings(tmp_path, database_url))
    assert current_revision(engine) == "9999zzzz"


def test_the_app_refuses_a_database_of_something_else(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    with pytest.raises(ConfigError, match="not a labstore database"):
        create_app(fast_settings(tmp_path, database_url))
    assert table_names(engine) == {"invoices"}


def test_without_auto_migrate_the_app_wants_an_upgrade_first(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, database_url, auto_migrate=False)
    with pytest.raises(ConfigError, match="labstore db upgrade"):
        create_app(settings)
    assert table_names(engine) == set()

    upgrade(engine)
    app = create_app(settings)
    try:
        assert app.state.labstore.db.url == database_url
    finally:
        app.state.labstore.db.dispose()

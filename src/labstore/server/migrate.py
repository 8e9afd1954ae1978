"""Schema migrations: Alembic scripts shipped in the package, driven from code.

``serve`` upgrades an empty or older database on start and refuses one written by a newer
labstore, whose revision this code does not know.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

from labstore.errors import ConfigError
from labstore.schema.packs import builtin_registry
from labstore.store.tables import StoreTables

log = logging.getLogger("labstore.server.migrate")
SchemaState = Literal["empty", "older", "current", "newer"]
_SCRIPTS = Path(__file__).parent / "migrations"


def target_metadata() -> MetaData:
    """The schema the code expects: every built-in pack plus the server's own tables."""
    return StoreTables(builtin_registry(), server_tables=True).metadata


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    revision = current_revision(engine)
    if revision is None:
        if inspect(engine).get_table_names():
            raise ConfigError(
                "the database has tables but no labstore schema revision: "
                "it is not a labstore database"
            )
        return "empty"
    if revision == head_revision():
        return "current"
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    return "older" if revision in known else "newer"


def upgrade(engine: Engine) -> SchemaState:
    """Bring the database to this code's schema; returns the state it was found in.

    Raises:
        ConfigError: The database was written by a newer labstore, or is not ours.
    """
    state = schema_state(engine)
    if state == "newer":
        raise ConfigError(
            f"the database is at schema revision {current_revision(engine)}, newer than this "
            f"labstore knows (head {head_revision()}): upgrade labstore, or use a copy of the "
            "data made with this version"
        )
    if state in ("empty", "older"):
        log.info("upgrading database schema (%s) to %s", state, head_revision())
        config = _config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    return state


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new migration script for the difference between code and database (dev tool)."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)

"""``create_app(settings)``: the whole server, built on demand and never at import."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from labstore import __version__
from labstore.errors import ConfigError
from labstore.schema.packs import builtin_registry
from labstore.server import migrate
from labstore.server.auth import Accounts
from labstore.server.blobs import open_storage
from labstore.server.database import Database
from labstore.server.errors import install_error_handlers
from labstore.server.idempotency import IdempotencyMiddleware
from labstore.server.routes import (
    arrays,
    auth,
    batch,
    blobs,
    changes,
    objects,
    paths,
    projects,
    query,
    sharing,
    system,
    tags,
    uploads,
    web,
)
from labstore.server.settings import Settings
from labstore.server.state import AppState

log = logging.getLogger("labstore.server")


def build_state(settings: Settings) -> AppState:
    """Database, accounts and schema for ``settings``; migrates when allowed.

    Raises:
        ConfigError: The database is newer than this code, or not a labstore database.
    """
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    registry = builtin_registry()
    db = Database(
        settings.effective_database_url,
        registry,
        idempotency_key_hours=settings.idempotency_key_hours,
    )
    try:
        if settings.auto_migrate:
            migrate.upgrade(db.engine)
        elif (found := migrate.schema_state(db.engine)) != "current":
            raise ConfigError(f"the database schema is {found}: run `labstore db upgrade` first")
    except BaseException:
        db.dispose()
        raise
    accounts = Accounts(
        db,
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        lifetime_hours=settings.token_lifetime_hours,
    )
    return AppState(
        settings=settings,
        registry=registry,
        db=db,
        accounts=accounts,
        blobs=open_storage(settings),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The labstore ASGI app for ``settings`` (from the environment when omitted)."""
    settings = settings or Settings.load()
    state = build_state(settings)
    app = FastAPI(title="labstore", version=__version__, docs_url="/docs", redoc_url=None)
    app.state.labstore = state
    install_error_handlers(app)
    app.add_middleware(IdempotencyMiddleware, state=state)
    # Fixed paths first: objects' /api/{pack}/{model} would swallow /api/blobs/...
    routers = (
        system,
        auth,
        batch,
        blobs,
        uploads,
        changes,
        query,
        projects,
        sharing,
        paths,
        tags,
        arrays,
    )
    for module in (*routers, objects):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount("/static", web.static_files(), name="static")
    return app

"""``/api/{pack}/{model}/{id}/permissions`` and ``/shares``: who may see and change it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from labstore.server import sharing
from labstore.server.access import effective_permissions
from labstore.server.routes.objects import model_for
from labstore.server.state import JsonBody, ReaderDep, StateDep, WriterDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/{pack}/{name}/{ident}")


@router.get("/permissions")
def get_permissions(
    pack: str, name: str, ident: str, state: StateDep, writer: WriterDep
) -> dict[str, Any]:
    model = model_for(state, pack, name)
    with read_transaction(state.db.engine) as conn:
        row = writer.reader.row(conn, model, ident)._mapping
        return sharing.describe(conn, writer, model, row)


@router.put("/permissions")
def put_permissions(
    pack: str, name: str, ident: str, state: StateDep, writer: WriterDep, body: JsonBody
) -> dict[str, Any]:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        return sharing.set_permissions(conn, writer, model, ident, body)


@router.post("/shares")
def add_share(
    pack: str, name: str, ident: str, state: StateDep, writer: WriterDep, body: JsonBody
) -> dict[str, Any]:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        return sharing.share(conn, writer, model, ident, body)


@router.delete("/shares/{principal}")
def remove_share(
    pack: str, name: str, ident: str, principal: str, state: StateDep, writer: WriterDep
) -> dict[str, Any]:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        return sharing.unshare(conn, writer, model, ident, principal)


@router.get("/permissions/mine")
def my_permissions(
    pack: str, name: str, ident: str, state: StateDep, reader: ReaderDep
) -> dict[str, Any]:
    """What the caller may do to the object (the web UI offers only those changes)."""
    model = model_for(state, pack, name)
    with read_transaction(state.db.engine) as conn:
        row = reader.row(conn, model, ident)._mapping
        held = effective_permissions(conn, state.db.table("access_share"), reader.principal, row)
    return {"location": f"{model.key}/{ident}", "permissions": sorted(held)}

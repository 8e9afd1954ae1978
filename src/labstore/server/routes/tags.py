"""``/api/{pack}/{model}/{id}/tags``: list, add and remove an object's tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from labstore.server import tags
from labstore.server.routes.objects import model_for
from labstore.server.state import JsonBody, ReaderDep, StateDep, WriterDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/{pack}/{name}/{ident}")


@router.get("/tags")
def list_tags(
    pack: str, name: str, ident: str, state: StateDep, reader: ReaderDep
) -> list[dict[str, Any]]:
    model = model_for(state, pack, name)
    with read_transaction(state.db.engine) as conn:
        return tags.list_tags(conn, reader, model, ident)


@router.post("/tags")
def add_tags(
    pack: str, name: str, ident: str, state: StateDep, writer: WriterDep, body: JsonBody
) -> list[dict[str, Any]]:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        return tags.add_tags(conn, writer, model, ident, body)


@router.delete("/tags")
def remove_tags(
    pack: str, name: str, ident: str, state: StateDep, writer: WriterDep, body: JsonBody
) -> list[dict[str, Any]]:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        return tags.remove_tags(conn, writer, model, ident, body)

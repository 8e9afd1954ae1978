"""``/api/paths``: folders per project and where objects are filed in them.

Registered before the generic ``/api/{pack}/{model}`` routes (``paths`` is a reserved pack
name), so ``/api/paths/assign`` is never read as a model.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from labstore.server.paths import PathIndex, PathWriter
from labstore.server.state import JsonBody, ReaderDep, StateDep, WriterDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/paths")


def _params(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


@router.post("")
def create_paths(state: StateDep, writer: WriterDep, body: JsonBody) -> dict[str, Any]:
    with state.db.write() as conn:
        return PathWriter(writer).create(conn, body)


@router.post("/assign")
def assign_paths(state: StateDep, writer: WriterDep, body: JsonBody) -> dict[str, Any]:
    with state.db.write() as conn:
        return PathWriter(writer).assign(conn, body)


@router.post("/remove")
def remove_paths(state: StateDep, writer: WriterDep, body: JsonBody) -> dict[str, Any]:
    with state.db.write() as conn:
        return PathWriter(writer).remove(conn, body)


@router.get("/ls")
def ls_path(request: Request, state: StateDep, reader: ReaderDep) -> dict[str, Any]:
    with read_transaction(state.db.engine) as conn:
        return PathIndex(reader).ls(conn, _params(request))


@router.get("/stat")
def stat_path(request: Request, state: StateDep, reader: ReaderDep) -> dict[str, Any]:
    params = _params(request)
    index = PathIndex(reader)
    with read_transaction(state.db.engine) as conn:
        return index.stat_params(conn, params)


@router.post("/lookup")
def lookup_paths(state: StateDep, reader: ReaderDep, body: JsonBody) -> dict[str, str | None]:
    with read_transaction(state.db.engine) as conn:
        return PathIndex(reader).lookup(conn, body)

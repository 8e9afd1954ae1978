"""``/api/{pack}/{model}``: list, count, create, get, replace, patch and delete objects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from labstore.errors import InvalidInput, NotFound
from labstore.query.filters import parse_filters, parse_order
from labstore.schema.types import Model
from labstore.server.state import JsonBody, ReaderDep, StateDep, WriterDep
from labstore.server.writes import parse_if_match
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api")
_PAGING = frozenset({"order_by", "limit", "cursor"})


def model_for(state: StateDep, pack: str, name: str) -> Model:
    key = f"{pack}/{name}"
    if key not in state.registry:
        raise NotFound(f"unknown model {key!r}", {"known": sorted(m.key for m in state.registry)})
    return state.registry.model(key)


def _filters(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in _PAGING:
            out.setdefault(key, []).append(value)
    return out


def page_limit(raw: str | None, *, default: int, maximum: int) -> int:
    """The ``limit`` query parameter, checked; ``default`` when absent."""
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidInput(
            f"limit: expected a whole number, got {raw!r}", {"path": "limit"}
        ) from None
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit: must be between 1 and {maximum}", {"path": "limit"})
    return limit


def _object_response(obj: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(obj, status_code=status, headers={"ETag": f'"{obj["version"]}"'})


@router.get("/{pack}/{name}")
def list_objects(pack: str, name: str, request: Request, state: StateDep, reader: ReaderDep) -> Any:
    model = model_for(state, pack, name)
    node = parse_filters(state.registry, model, _filters(request))
    order = parse_order(state.registry, model, request.query_params.get("order_by"))
    limit = page_limit(
        request.query_params.get("limit"),
        default=state.settings.page_size,
        maximum=state.settings.max_page_size,
    )
    with read_transaction(state.db.engine) as conn:
        page = reader.page(
            conn, model, node, order, limit=limit, cursor=request.query_params.get("cursor")
        )
    return {"items": page.items, "next": page.next}


@router.get("/{pack}/{name}/count")
def count_objects(
    pack: str, name: str, request: Request, state: StateDep, reader: ReaderDep
) -> Any:
    model = model_for(state, pack, name)
    node = parse_filters(state.registry, model, _filters(request))
    with read_transaction(state.db.engine) as conn:
        return {"count": reader.count(conn, model, node)}


@router.post("/{pack}/{name}", status_code=201)
def create_object(pack: str, name: str, state: StateDep, writer: WriterDep, body: JsonBody) -> Any:
    model = model_for(state, pack, name)
    with state.db.write() as conn:
        obj = writer.create(conn, model, body)
    response = _object_response(obj, 201)
    response.headers["Location"] = f"/api/{obj['location']}"
    return response


@router.get("/{pack}/{name}/{ident}")
def get_object(
    pack: str, name: str, ident: str, request: Request, state: StateDep, reader: ReaderDep
) -> Any:
    model = model_for(state, pack, name)
    recursive = request.query_params.get("recursive", "").lower() in ("1", "true", "yes")
    with read_transaction(state.db.engine) as conn:
        row = reader.row(conn, model, ident)
        if recursive:
            objects = reader.subtree(conn, model, row._mapping, state.settings.max_subtree)
            return {"objects": objects}
    etag = f'"{row.version}"'
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return _object_response(reader.to_json(model, row._mapping))


def _update(
    pack: str,
    name: str,
    ident: str,
    request: Request,
    state: StateDep,
    writer: WriterDep,
    body: Any,
    *,
    partial: bool,
) -> Any:
    model = model_for(state, pack, name)
    if_match = parse_if_match(request.headers.get("if-match"))
    with state.db.write() as conn:
        obj = writer.update(conn, model, ident, body, partial=partial, if_match=if_match)
    return _object_response(obj)


@router.put("/{pack}/{name}/{ident}")
def replace_object(
    pack: str,
    name: str,
    ident: str,
    request: Request,
    state: StateDep,
    writer: WriterDep,
    body: JsonBody,
) -> Any:
    return _update(pack, name, ident, request, state, writer, body, partial=False)


@router.patch("/{pack}/{name}/{ident}")
def patch_object(
    pack: str,
    name: str,
    ident: str,
    request: Request,
    state: StateDep,
    writer: WriterDep,
    body: JsonBody,
) -> Any:
    return _update(pack, name, ident, request, state, writer, body, partial=True)


@router.delete("/{pack}/{name}/{ident}", status_code=204)
def delete_object(
    pack: str, name: str, ident: str, request: Request, state: StateDep, writer: WriterDep
) -> Response:
    model = model_for(state, pack, name)
    if_match = parse_if_match(request.headers.get("if-match"))
    with state.db.write() as conn:
        writer.delete(conn, model, ident, if_match=if_match)
    return Response(status_code=204)

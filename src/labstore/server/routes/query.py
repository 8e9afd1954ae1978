"""``POST /api/query`` (and ``/count``): the JSON query language; its schema at ``GET``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from labstore.query.jsonquery import ParsedQuery, parse_query
from labstore.query.schema import query_schema
from labstore.server.state import JsonBody, ReaderDep, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/query")


def _parse(state: StateDep, body: Any) -> ParsedQuery:
    return parse_query(state.registry, body, max_limit=state.settings.max_page_size)


@router.get("/schema")
def schema() -> dict[str, Any]:
    return query_schema()


@router.post("")
def run_query(state: StateDep, reader: ReaderDep, body: JsonBody) -> dict[str, Any]:
    parsed = _parse(state, body)
    with read_transaction(state.db.engine) as conn:
        return reader.query(conn, parsed, limit=state.settings.max_page_size)


@router.post("/count")
def count_query(state: StateDep, reader: ReaderDep, body: JsonBody) -> dict[str, int]:
    parsed = _parse(state, body)
    with read_transaction(state.db.engine) as conn:
        return {"count": reader.count(conn, parsed.model, parsed.node)}

"""``GET /api/changes?since=CURSOR&limit=N``: the change feed of the caller's view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from labstore.server import changes
from labstore.server.reads import Reader
from labstore.server.routes.objects import page_limit
from labstore.server.state import CurrentUser, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api")
MAX_FEED_PAGE = 5000


@router.get("/changes")
def change_feed(request: Request, state: StateDep, user: CurrentUser) -> dict[str, Any]:
    limit = page_limit(request.query_params.get("limit"), default=1000, maximum=MAX_FEED_PAGE)
    with read_transaction(state.db.engine) as conn:
        return changes.read_feed(
            conn, Reader(state.db, user), request.query_params.get("since"), limit
        )

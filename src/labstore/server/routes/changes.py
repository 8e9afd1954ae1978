"""``GET /api/changes?since=CURSOR&limit=N``: the change feed of the caller's view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from labstore.errors import InvalidInput
from labstore.server import changes
from labstore.server.reads import Reader
from labstore.server.state import CurrentUser, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api")
MAX_FEED_PAGE = 5000


@router.get("/changes")
def change_feed(request: Request, state: StateDep, user: CurrentUser) -> dict[str, Any]:
    raw_limit = request.query_params.get("limit", "1000")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise InvalidInput(
            f"limit: expected a whole number, got {raw_limit!r}", {"path": "limit"}
        ) from None
    if not 1 <= limit <= MAX_FEED_PAGE:
        raise InvalidInput(f"limit: must be between 1 and {MAX_FEED_PAGE}", {"path": "limit"})
    with read_transaction(state.db.engine) as conn:
        return changes.read_feed(
            conn, Reader(state.db, user), request.query_params.get("since"), limit
        )

"""``POST /api/batch``: a tree of new or changed objects in one transaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from labstore.server.batch import apply_batch
from labstore.server.state import JsonBody, StateDep, WriterDep

router = APIRouter(prefix="/api")


@router.post("/batch")
def batch(state: StateDep, writer: WriterDep, body: JsonBody) -> Any:
    project = body.get("project") if isinstance(body, dict) else None
    with state.db.write() as conn:
        return apply_batch(
            conn,
            writer,
            body,
            max_batch=state.settings.max_batch,
            default_project=project if isinstance(project, str) else None,
        )

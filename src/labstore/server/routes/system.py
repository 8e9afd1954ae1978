"""Health and schema: ``/api/ping`` and ``/api/models`` need no login."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response

from labstore import __version__
from labstore.server.state import StateDep

router = APIRouter()


@router.get("/api/ping")
def ping() -> dict[str, Any]:
    return {"pong": True, "version": __version__, "time": dt.datetime.now(dt.UTC).isoformat()}


@router.get("/api/models")
def models(state: StateDep, request: Request, response: Response) -> Any:
    body = state.registry.to_json()
    etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16] + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return body

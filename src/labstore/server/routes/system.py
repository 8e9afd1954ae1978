"""Health and schema: ``/api/ping`` and ``/api/models`` need no login."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

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


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home() -> str:
    return (
        "<!doctype html><title>labstore</title><h1>labstore</h1>"
        "<p>This is a labstore server. Scientists reach it with "
        "<code>labstore.Session</code>; the API is described at <a href='/docs'>/docs</a>.</p>"
    )

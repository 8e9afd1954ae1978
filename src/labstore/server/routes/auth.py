"""Logging in and out, and who am I."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from labstore.errors import InvalidInput
from labstore.server.state import AppState, CurrentUser, JsonBody, StateDep, request_token
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api")


def log_in(state: AppState, body: Any) -> tuple[str, dt.datetime]:
    """A new token for ``{"username", "password"}``: the API's and the web UI's login.

    Raises:
        InvalidInput: The body is not that shape.
        AuthenticationError: The name or password is wrong.
    """
    if not isinstance(body, dict):
        raise InvalidInput('body: expected {"username": ..., "password": ...}', {"path": "body"})
    for key in ("username", "password"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise InvalidInput(f"{key}: required, a string", {"path": key})
    with state.db.write() as conn:
        return state.accounts.login(conn, body["username"], body["password"])


@router.post("/auth/token")
def issue_token(state: StateDep, body: JsonBody) -> dict[str, Any]:
    token, expires = log_in(state, body)
    return {"token": token, "expires": expires.isoformat().replace("+00:00", "Z")}


@router.delete("/auth/token", status_code=204)
def revoke_token(state: StateDep, user: CurrentUser, request: Request) -> None:
    token = request_token(request)
    assert token is not None  # CurrentUser has checked it
    with state.db.write() as conn:
        state.accounts.revoke(conn, token)


@router.get("/me")
def me(state: StateDep, user: CurrentUser) -> dict[str, Any]:
    users = state.db.tables(state.registry.model("core/user"))
    with read_transaction(state.db.engine) as conn:
        row = conn.execute(users.select().where(users.c.id == user.id)).mappings().one()
    return {
        "username": user.username,
        "location": f"core/user/{user.id}",
        "full_name": row["full_name"] or "",
        "email": row["email"] or "",
        "is_admin": user.is_admin,
        "projects": sorted(user.projects),
        "admin_of": sorted(user.admin_of),
    }

"""``/api/projects``: projects and their members.

Site administrators and project administrators (of any project) create projects; the creator
becomes the new project's administrator. A project's administrators manage its members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import Connection, select

from labstore.errors import InvalidInput, NotFound, PermissionDenied
from labstore.server import admin
from labstore.server.auth import Principal
from labstore.server.state import AppState, CurrentUser, JsonBody, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/projects")
ROLES = ("member", "admin")


def _project(state: AppState, conn: Connection, name: str) -> dict[str, Any]:
    projects = state.db.tables(state.registry.model("core/project"))
    row = conn.execute(select(projects).where(projects.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no project {name!r}")
    return {
        "name": row["name"],
        "description": row["description"] or "",
        "location": f"core/project/{row['id']}",
        "owner": row["owner"],
    }


def _may_manage(user: Principal, project: str) -> None:
    if not (user.is_admin or project in user.admin_of):
        raise PermissionDenied(f"only administrators of project {project!r} manage its members")


@router.post("", status_code=201)
def create_project(state: StateDep, user: CurrentUser, body: JsonBody) -> dict[str, Any]:
    if not (user.is_admin or user.admin_of):
        raise PermissionDenied(
            "only site administrators and project administrators create projects"
        )
    if not isinstance(body, Mapping) or not isinstance(body.get("name"), str):
        raise InvalidInput(
            'body: expected {"name": ..., "members": [...], "admins": [...]}', {"path": "name"}
        )
    members = _names(body.get("members", []), "members")
    admins = [*_names(body.get("admins", []), "admins"), user.username]
    description = body.get("description", "")
    if not isinstance(description, str):
        raise InvalidInput("description: expected a string", {"path": "description"})
    with state.db.write() as conn:
        admin.add_project(
            state,
            conn,
            body["name"],
            owner=user.username,
            members=members,
            admins=admins,
            description=description,
        )
        return {
            **_project(state, conn, body["name"]),
            "members": admin.list_members(state, conn, body["name"]),
        }


def _names(raw: Any, path: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        raise InvalidInput(f"{path}: expected a list of user names", {"path": path})
    return list(raw)


@router.get("/{name}")
def get_project(name: str, state: StateDep, user: CurrentUser) -> dict[str, Any]:
    with read_transaction(state.db.engine) as conn:
        return {**_project(state, conn, name), "members": admin.list_members(state, conn, name)}


@router.put("/{name}/members/{username}")
def put_member(
    name: str, username: str, state: StateDep, user: CurrentUser, body: JsonBody
) -> dict[str, Any]:
    role = body.get("role", "member") if isinstance(body, Mapping) else None
    if role not in ROLES:
        raise InvalidInput("role: expected 'member' or 'admin'", {"path": "role"})
    with state.db.write() as conn:
        _project(state, conn, name)
        _may_manage(user, name)
        admin.add_member(state, conn, name, username, admin=role == "admin")
        return {**_project(state, conn, name), "members": admin.list_members(state, conn, name)}


@router.delete("/{name}/members/{username}", status_code=204)
def delete_member(name: str, username: str, state: StateDep, user: CurrentUser) -> Response:
    with state.db.write() as conn:
        _project(state, conn, name)
        _may_manage(user, name)
        admin.remove_member(state, conn, name, username)
    return Response(status_code=204)

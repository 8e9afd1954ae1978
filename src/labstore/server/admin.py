"""Administration done on the server's own database: users, projects, memberships."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from labstore.errors import Conflict, InvalidInput
from labstore.schema.types import check_name
from labstore.server import changes
from labstore.server.state import AppState
from labstore.store.records import fresh_row, new_id


def add_project(
    state: AppState,
    conn: Connection,
    name: str,
    *,
    owner: str,
    members: Iterable[str] = (),
    admins: Iterable[str] = (),
    description: str = "",
) -> str:
    """Create a project with its members; returns its id.

    Raises:
        InvalidInput: A bad project name, or a member who is not a user.
        Conflict: The project exists already.
    """
    try:
        check_name(name.replace("-", "_"), "project")
    except ValueError as exc:
        raise InvalidInput(str(exc), {"path": "name"}) from None
    projects = state.db.tables(state.registry.model("core/project"))
    if conn.execute(select(projects.c.id).where(projects.c.name == name)).first():
        raise Conflict(f"project {name!r} exists already")
    project_id = new_id()
    conn.execute(
        projects.insert().values(
            fresh_row(project_id, owner, name, name=name, description=description)
        )
    )
    changes.record(conn, "core/project", [project_id])
    for username in sorted(set(members) | set(admins)):
        add_member(state, conn, name, username, admin=username in set(admins))
    return project_id


def add_member(
    state: AppState, conn: Connection, project: str, username: str, *, admin: bool = False
) -> None:
    users = state.db.tables(state.registry.model("core/user"))
    if not conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise InvalidInput(f"no user {username!r}", {"path": "member"})
    members = state.db.table("project_member")
    conn.execute(
        members.delete().where(members.c.project == project, members.c.username == username)
    )
    conn.execute(
        members.insert().values(
            project=project, username=username, role="admin" if admin else "member"
        )
    )
    changes.bump_epoch(conn, state.db, username)


def remove_member(state: AppState, conn: Connection, project: str, username: str) -> None:
    members = state.db.table("project_member")
    conn.execute(
        members.delete().where(members.c.project == project, members.c.username == username)
    )
    changes.bump_epoch(conn, state.db, username)


def list_members(state: AppState, conn: Connection, project: str) -> list[dict[str, str]]:
    members = state.db.table("project_member")
    rows = conn.execute(
        select(members.c.username, members.c.role)
        .where(members.c.project == project)
        .order_by(members.c.username)
    ).all()
    return [{"username": r.username, "role": r.role} for r in rows]

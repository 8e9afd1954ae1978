"""Who may see and change which object.

The rule for now: an administrator sees and changes everything; other users see and change
objects they own and objects of projects they belong to; users and projects themselves are
visible to every logged-in user (names only: secrets live in the server's own tables).
Every read path builds its SQL through :func:`visibility`, so a query can never reach a
row this function would hide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, true

from labstore.errors import PermissionDenied
from labstore.query.compile import Visible
from labstore.schema.types import Model
from labstore.server.auth import Principal

_DIRECTORY_MODELS = frozenset({"core/user", "core/project"})


def visibility(principal: Principal) -> Visible:
    """The condition restricting every table a query of ``principal`` touches."""

    def visible(model: Model, table: Table) -> ColumnElement[bool]:
        if principal.is_admin or model.key in _DIRECTORY_MODELS:
            return true()
        clauses = [table.c.owner == principal.username]
        if principal.projects:
            clauses.append(table.c.project.in_(sorted(principal.projects)))
        return or_(*clauses)

    return visible


def can_write(principal: Principal, row: Mapping[Any, Any]) -> bool:
    if principal.is_admin or row["owner"] == principal.username:
        return True
    return row["project"] is not None and row["project"] in principal.projects


def check_write(principal: Principal, model: Model, row: Mapping[Any, Any]) -> None:
    """Raises PermissionDenied unless ``principal`` may change ``row``."""
    if not can_write(principal, row):
        raise PermissionDenied(
            f"{principal.username} may read but not change {model.key}/{row['id']}"
        )


def check_project(principal: Principal, project: str | None) -> None:
    """Raises PermissionDenied unless ``principal`` may put objects in ``project``."""
    if project is None or principal.is_admin or project in principal.projects:
        return
    raise PermissionDenied(f"{principal.username} is not a member of project {project!r}")

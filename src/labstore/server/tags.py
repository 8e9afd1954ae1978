"""Tags on objects: free words, each in the scope of one project or in none.

A tag is a row of ``object_tag`` (model, object id, tag, scope); the scope is a project's name,
or ``""`` for a tag that belongs to no project, so projects keep their own vocabularies.
Reading an object's tags needs only to see it; adding or removing them needs ``write`` on it,
and a project scope needs membership of that project. Objects are found by their tags with
the ``tags`` virtual filter (``tags__contains="x"``) of every query. Deleting an object
deletes its tags (see :meth:`Writer._delete_tree`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select

from labstore.errors import InvalidInput
from labstore.schema.types import Model
from labstore.server import changes
from labstore.server.access import check_project, require
from labstore.server.inserts import insert_missing
from labstore.server.reads import Reader
from labstore.server.writes import Writer
from labstore.store.tables import NAME_LENGTH

MAX_TAG_LENGTH = NAME_LENGTH
MAX_TAGS_PER_REQUEST = 1000
NO_SCOPE = ""


def _text(raw: Any, path: str, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(f"{path}: expected a non-empty {what}, got {raw!r}", {"path": path})
    if len(raw) > MAX_TAG_LENGTH:
        raise InvalidInput(
            f"{path}: a {what} has at most {MAX_TAG_LENGTH} characters, not {len(raw)}",
            {"path": path},
        )
    if "\x00" in raw:
        raise InvalidInput(f"{path}: a {what} may not hold NUL characters", {"path": path})
    return raw


def parse_body(body: Any) -> tuple[list[str], str]:
    """The tags (deduplicated, in order) and the scope a request names.

    Raises:
        InvalidInput: Not ``{"tags": [...], "project": NAME or null}``, or a bad tag.
    """
    if not isinstance(body, Mapping) or not set(body) <= {"tags", "project"}:
        raise InvalidInput(
            'body: expected {"tags": ["..."], "project": NAME (optional)}', {"path": "body"}
        )
    raw = body.get("tags")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("tags: expected a non-empty list of tags", {"path": "tags"})
    if len(raw) > MAX_TAGS_PER_REQUEST:
        raise InvalidInput(
            f"tags: at most {MAX_TAGS_PER_REQUEST} tags per request", {"path": "tags"}
        )
    tags = list(dict.fromkeys(_text(t, f"tags[{i}]", "tag") for i, t in enumerate(raw)))
    project = body.get("project")
    scope = NO_SCOPE if project is None else _text(project, "project", "project name")
    return tags, scope


def _check_scope(conn: Connection, writer: Writer, scope: str) -> None:
    """A scoped tag needs an existing project the caller belongs to (admins: any)."""
    if scope == NO_SCOPE:
        return
    projects = writer.db.tables(writer.registry.model("core/project"))
    if conn.execute(select(projects.c.id).where(projects.c.name == scope)).first() is None:
        raise InvalidInput(f"project: no project {scope!r}", {"path": "project"})
    check_project(writer.principal, scope)


def list_tags(conn: Connection, reader: Reader, model: Model, ident: str) -> list[dict[str, Any]]:
    """The tags of a visible object: ``[{"tag", "project"}]``, by project then tag.

    Raises:
        NotFound: No such object, or one the caller may not see.
    """
    reader.row(conn, model, ident)
    table = reader.db.table("object_tag")
    rows = conn.execute(
        select(table.c.tag, table.c.scope)
        .where(table.c.model == model.key, table.c.object_id == ident)
        .order_by(table.c.scope, table.c.tag)
    ).all()
    return [{"tag": tag, "project": scope or None} for tag, scope in rows]


def _writable(
    conn: Connection, writer: Writer, model: Model, ident: str, body: Any
) -> tuple[list[str], str]:
    tags, scope = parse_body(body)
    row = writer.reader.row(conn, model, ident)._mapping
    require(conn, writer.shares, writer.principal, model, row, "write")
    _check_scope(conn, writer, scope)
    return tags, scope


def add_tags(
    conn: Connection, writer: Writer, model: Model, ident: str, body: Any
) -> list[dict[str, Any]]:
    """Tag an object; tags it has already are kept as they are. Returns all its tags.

    Raises:
        InvalidInput: A bad body, tag or project.
        NotFound: No such object, or one the caller may not see.
        PermissionDenied: No ``write`` on the object, or not a member of the project.
    """
    tags, scope = _writable(conn, writer, model, ident, body)
    insert_missing(
        conn,
        writer.db.table("object_tag"),
        [{"model": model.key, "object_id": ident, "tag": t, "scope": scope} for t in tags],
    )
    changes.record(conn, model.key, [ident])  # its tags travel with it in the change feed
    return list_tags(conn, writer.reader, model, ident)


def remove_tags(
    conn: Connection, writer: Writer, model: Model, ident: str, body: Any
) -> list[dict[str, Any]]:
    """Untag an object in one scope; removing a tag it does not have is no error.

    Raises:
        InvalidInput: A bad body, tag or project.
        NotFound: No such object, or one the caller may not see.
        PermissionDenied: No ``write`` on the object, or not a member of the project.
    """
    tags, scope = _writable(conn, writer, model, ident, body)
    table = writer.db.table("object_tag")
    conn.execute(
        delete(table).where(
            table.c.model == model.key,
            table.c.object_id == ident,
            table.c.scope == scope,
            table.c.tag.in_(tags),
        )
    )
    changes.record(conn, model.key, [ident])
    return list_tags(conn, writer.reader, model, ident)

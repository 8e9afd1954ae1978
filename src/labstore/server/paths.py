"""Folders per project, and where objects are filed in them.

Paths are absolute and start with a project: ``/neuro/raw/2024`` is the folder ``2024`` in
``raw`` of project ``neuro``. A folder is a row of ``folder``; an object is filed by a row of
``path_entry`` naming its folder and its name there (an object has at most one path, and a
name is taken once per folder, by an object or a sub-folder).

Who sees what:

- folders belong to their project: its members (and site administrators) see, create and
  remove them; anyone else is told the folder does not exist;
- an object's path is part of the object: whoever may see the object may see its path
  (``stat``, ``lookup``), and ``ls`` lists only the objects the caller may see;
- filing an object (``assign``) or unfiling it needs ``write`` on it and access to the folder.

Removing a folder never deletes objects: it unfiles what was under it. Deleting an object
deletes its path entry (see :meth:`Writer._delete_tree`). The reads are ``store/paths.py``'s,
shared with the client's replica; this module adds the caller's rules and the writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, or_, select
from sqlalchemy.exc import IntegrityError

from labstore.errors import Conflict, LabstoreError, NotFound, PermissionDenied
from labstore.schema.types import Model
from labstore.server import changes
from labstore.server.access import require
from labstore.server.auth import Principal
from labstore.server.inserts import insert_missing
from labstore.server.reads import Reader
from labstore.server.writes import Writer
from labstore.store.paths import (
    PathView,
    bad,
    body_list,
    entry_dict,
    join,
    like_prefix,
    parent_of,
    parse_location,
    parse_name,
    parse_path,
    prefixes,
    project_of,
    segment_fault,
)
from labstore.store.records import utcnow

# Fields whose value names an object in a folder when no name is given, in order.
NAME_FIELDS = ("name", "nickname")


def _placed(exc: LabstoreError, where: str) -> LabstoreError:
    """The same error, its message and details anchored at ``where`` in the request."""
    return type(exc)(f"{where}: {exc.message}", {**exc.details, "path": where})


# -- reading ----------------------------------------------------------------------------------
def may_see_folders(principal: Principal, project: str) -> bool:
    """Folders belong to their project: its members and site administrators see them."""
    return principal.is_admin or project in principal.projects


class PathIndex(PathView):
    """The folder tree and path entries as one principal sees them."""

    def __init__(self, reader: Reader) -> None:
        projects = None if reader.principal.is_admin else reader.principal.projects
        super().__init__(reader.db.tables, visible=reader.visible, projects=projects)
        self.reader = reader
        self.principal = reader.principal


# -- writing ----------------------------------------------------------------------------------
class PathWriter(PathIndex):
    """Changes to the folder tree and to where objects are filed, by one principal."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(writer.reader)
        self.writer = writer

    def _check_folder_access(self, conn: Connection, project: str, where: str) -> None:
        projects = self.reader.db.tables(self.registry.model("core/project"))
        if conn.execute(select(projects.c.id).where(projects.c.name == project)).first() is None:
            raise bad(where, f"no project {project!r} (a path starts with its project)")
        if not may_see_folders(self.principal, project):
            raise PermissionDenied(
                f"{where}: {self.principal.username} is not a member of project {project!r}",
                {"path": where},
            )

    def _name_taken_by_object(self, conn: Connection, folder: str, name: str) -> bool:
        stmt = select(self.entries.c.object_id).where(
            self.entries.c.folder == folder, self.entries.c.name == name
        )
        return conn.execute(stmt).first() is not None

    def create(self, conn: Connection, body: Any) -> dict[str, Any]:
        """Create folders and the folders above them; existing ones are fine.

        Raises:
            InvalidInput: A bad path, or one whose project does not exist.
            PermissionDenied: The caller is not a member of a path's project.
            Conflict: An object is filed under the name a folder would take.
        """
        raw = body_list(body, "paths", '{"paths": ["/project/folder", ...]}')
        paths = [parse_path(p, f"paths[{i}]") for i, p in enumerate(raw)]
        created: list[str] = []
        stamp = utcnow()
        for i, path in enumerate(paths):
            where = f"paths[{i}]"
            self._check_folder_access(conn, project_of(path), where)
            for prefix in prefixes(path):
                if self.folder_exists(conn, prefix):
                    continue
                parent, name = parent_of(prefix)
                if self._name_taken_by_object(conn, parent, name):
                    raise Conflict(
                        f"{where}: {parent!r} holds an object named {name!r}; a folder cannot "
                        "take its name",
                        {"path": where, "folder": parent, "name": name},
                    )
                row = {
                    "path": prefix,
                    "project": project_of(prefix),
                    "owner": self.principal.username,
                    "created": stamp,
                }
                insert_missing(conn, self.folders, [row])
                created.append(prefix)
        changes.record_folders(conn, self.writer.db, (project_of(p) for p in created))
        return {"created": created}

    def assign(self, conn: Connection, body: Any) -> dict[str, Any]:
        """File each object in a folder (moving it if it was filed elsewhere).

        Raises:
            InvalidInput: A bad assignment, location, path or name.
            NotFound: No such object or folder (or one the caller may not see).
            PermissionDenied: No ``write`` on an object.
            Conflict: The folder already holds another object or a folder of that name.
        """
        raw = body_list(
            body, "assignments", '{"assignments": [{"location", "path", "name" (optional)}]}'
        )
        checked: list[tuple[str, Any, str, str | None]] = []
        for i, item in enumerate(raw):  # every shape first: a bad one changes nothing
            where = f"assignments[{i}]"
            if not isinstance(item, Mapping) or not set(item) <= {"location", "path", "name"}:
                raise bad(where, 'expected {"location", "path", "name" (optional)}')
            if "location" not in item:
                raise bad(f"{where}.location", "required: the object to file")
            path = parse_path(item.get("path"), f"{where}.path")
            name = None
            if item.get("name") is not None:
                name = parse_name(item["name"], f"{where}.name")
            checked.append((where, item["location"], path, name))
        return {"assigned": [self._assign_one(conn, *entry) for entry in checked]}

    def _assign_one(
        self, conn: Connection, where: str, location: Any, folder: str, name: str | None
    ) -> dict[str, Any]:
        model, key, ident = parse_location(self.registry, location, f"{where}.location")
        try:
            row = self.reader.row(conn, model, ident)._mapping
            require(conn, self.writer.shares, self.principal, model, row, "write")
        except (NotFound, PermissionDenied) as exc:
            raise _placed(exc, f"{where}.location") from None
        if not self.visible_folder(conn, folder):
            raise NotFound(f"{where}.path: no folder {folder!r}", {"path": f"{where}.path"})
        name = name or _default_name(model, row)
        taken = conn.execute(
            select(self.entries.c.model, self.entries.c.object_id).where(
                self.entries.c.folder == folder, self.entries.c.name == name
            )
        ).first()
        if taken is not None and tuple(taken) != (key, ident):
            raise Conflict(
                f"{where}: {folder!r} already holds an object named {name!r}",
                {"path": f"{where}.name", "folder": folder, "name": name},
            )
        if self.folder_exists(conn, join(folder, name)):
            raise Conflict(
                f"{where}: {folder!r} already has a folder named {name!r}",
                {"path": f"{where}.name", "folder": folder, "name": name},
            )
        entries = self.entries
        conn.execute(delete(entries).where(entries.c.model == key, entries.c.object_id == ident))
        changes.record(conn, key, [ident])  # its path travels with it in the change feed
        try:
            conn.execute(
                entries.insert().values(model=key, object_id=ident, folder=folder, name=name)
            )
        except IntegrityError:  # a concurrent request filed another object there first
            raise Conflict(
                f"{where}: {folder!r} already holds an object named {name!r}",
                {"path": f"{where}.name", "folder": folder, "name": name},
            ) from None
        return entry_dict(key, ident, folder, name)

    def remove(self, conn: Connection, body: Any) -> dict[str, Any]:
        """Remove folders (empty ones, or everything under them when recursive) and unfile
        objects named by their paths; objects themselves are never deleted.

        Raises:
            InvalidInput: A bad body or path.
            NotFound: Nothing the caller may see at a path.
            PermissionDenied: No ``write`` on an object to unfile.
            Conflict: A folder is not empty and ``recursive`` is false.
        """
        raw = body_list(body, "paths", '{"paths": [...], "recursive": false}', extra=("recursive",))
        recursive = body.get("recursive", False)
        if not isinstance(recursive, bool):
            raise bad("recursive", "expected true or false")
        paths = {parse_path(p, f"paths[{i}]"): i for i, p in reversed(list(enumerate(raw)))}
        removed: list[str] = []
        unfiled: list[str] = []
        # Deepest first, so removing a folder and the folders in it works in any order.
        for path in sorted(paths, key=lambda p: -p.count("/")):
            where = f"paths[{paths[path]}]"
            if self.visible_folder(conn, path):
                removed.extend(self._remove_folder(conn, path, where, recursive=recursive))
            else:
                unfiled.append(self._unfile(conn, path, where))
        return {"removed": removed, "unfiled": unfiled}

    def _remove_folder(
        self, conn: Connection, path: str, where: str, *, recursive: bool
    ) -> list[str]:
        folders, entries = self.folders, self.entries
        below = folders.c.path.like(like_prefix(path), escape="\\")
        entries_below = or_(
            entries.c.folder == path, entries.c.folder.like(like_prefix(path), escape="\\")
        )
        if not recursive:
            # Entries of objects the caller cannot see count too (without saying what).
            busy = (
                conn.execute(select(folders.c.path).where(below)).first()
                or conn.execute(select(entries.c.object_id).where(entries.c.folder == path)).first()
            )
            if busy is not None:
                raise Conflict(
                    f"{where}: {path!r} is not empty; remove it with recursive=true to remove "
                    "its folders and unfile its objects",
                    {"path": where},
                )
        gone = sorted(conn.execute(select(folders.c.path).where(below)).scalars())
        unfiled = conn.execute(select(entries.c.model, entries.c.object_id).where(entries_below))
        for key, ident in unfiled.all():
            changes.record(conn, key, [ident])
        changes.record_folders(conn, self.writer.db, [project_of(path)])
        conn.execute(delete(entries).where(entries_below))
        conn.execute(delete(folders).where(or_(folders.c.path == path, below)))
        return [path, *gone]

    def _unfile(self, conn: Connection, path: str, where: str) -> str:
        entry = self.entry_at(conn, path)
        if entry is None:
            raise NotFound(f"{where}: nothing at {path!r}", {"path": where})
        key, ident, _, _ = entry
        model = self.registry.model(key)
        try:
            row = self.reader.row(conn, model, ident)._mapping
            require(conn, self.writer.shares, self.principal, model, row, "write")
        except (NotFound, PermissionDenied) as exc:
            raise _placed(exc, where) from None
        entries = self.entries
        conn.execute(delete(entries).where(entries.c.model == key, entries.c.object_id == ident))
        changes.record(conn, key, [ident])
        return path


def _default_name(model: Model, row: Mapping[Any, Any]) -> str:
    """An object's name in a folder when none is given: its name (or nickname) if that is a
    usable name there, else its id."""
    for field in NAME_FIELDS:
        value = row[field] if model.field(field) is not None else None
        if isinstance(value, str) and "/" not in value and segment_fault(value) is None:
            return value
    return str(row["id"])

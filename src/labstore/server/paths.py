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
deletes its path entry (see :meth:`Writer._delete_tree`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, literal, not_, or_, select
from sqlalchemy.exc import IntegrityError

from labstore.errors import Conflict, InvalidInput, LabstoreError, NotFound, PermissionDenied
from labstore.schema.types import Model
from labstore.server.access import require
from labstore.server.auth import Principal
from labstore.server.inserts import insert_missing
from labstore.server.reads import Reader
from labstore.server.writes import Writer
from labstore.store.records import split_location, utcnow

ROOT = "/"
FOLDER = "folder"  # the resource_type of folders; objects have their model's key
MAX_PATH_LENGTH = 1000  # the width of the folder column
MAX_SEGMENT_LENGTH = 255
MAX_ITEMS = 1000  # paths, assignments or locations per request
LS_PARAMETERS = ("path", "resource_type", "name", "name__icontains")
# Fields whose value names an object in a folder when no name is given, in order.
NAME_FIELDS = ("name", "nickname")


# -- checking input ---------------------------------------------------------------------------
def _bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", {"path": where})


def _segment_fault(segment: str) -> str | None:
    """What is wrong with one segment of a path (or a name in a folder), if anything."""
    if not segment:
        return "has an empty segment"
    if segment in (".", ".."):
        return "may not contain '.' or '..' segments"
    if len(segment) > MAX_SEGMENT_LENGTH:
        return f"has a segment longer than {MAX_SEGMENT_LENGTH} characters"
    return None


def parse_path(raw: Any, where: str, *, root: bool = False) -> str:
    """The canonical form of an absolute path (a trailing ``/`` is dropped).

    Args:
        raw: The path as given.
        where: Where it was given (``paths[2]``), named in errors.
        root: Whether ``/`` itself is acceptable.

    Raises:
        InvalidInput: Not a string, relative, too long, with NUL, empty, ``.`` or ``..``
            segments, or the root where a folder is needed.
    """
    if not isinstance(raw, str) or not raw:
        raise _bad(where, f"expected an absolute path like '/project/folder', got {raw!r}")
    if "\x00" in raw:
        raise _bad(where, f"{raw!r} holds a NUL character")
    if len(raw) > MAX_PATH_LENGTH:
        raise _bad(where, f"a path has at most {MAX_PATH_LENGTH} characters, not {len(raw)}")
    if not raw.startswith("/"):
        raise _bad(where, f"{raw!r} is relative: a path starts with '/' and its project")
    if raw == ROOT:
        if root:
            return ROOT
        raise _bad(where, "'/' is not a folder: a path starts with its project, e.g. '/neuro'")
    text = raw[:-1] if raw.endswith("/") else raw  # '/neuro/raw/' names '/neuro/raw'
    for segment in text[1:].split("/"):
        fault = _segment_fault(segment)
        if fault is not None:
            raise _bad(where, f"{raw!r} {fault}")
    return text


def parse_name(raw: Any, where: str) -> str:
    """A name in a folder: one segment.

    Raises:
        InvalidInput: Not a usable name.
    """
    if not isinstance(raw, str):
        raise _bad(where, f"expected a name, got {raw!r}")
    if "\x00" in raw:
        raise _bad(where, f"{raw!r} holds a NUL character")
    if "/" in raw:
        raise _bad(where, f"{raw!r}: a name may not contain '/'")
    fault = _segment_fault(raw)
    if fault is not None:
        raise _bad(where, f"{raw!r} is not a usable name (it {fault.removeprefix('has ')})")
    return raw


def _list(body: Any, key: str, example: str, *, extra: Iterable[str] = ()) -> list[Any]:
    if not isinstance(body, Mapping) or not set(body) <= {key, *extra} or key not in body:
        raise _bad("body", f"expected {example}")
    items = body[key]
    if not isinstance(items, list) or not items:
        raise _bad(key, "expected a non-empty list")
    if len(items) > MAX_ITEMS:
        raise _bad(key, f"at most {MAX_ITEMS} items per request")
    return items


def parent_of(path: str) -> tuple[str, str]:
    """``("/neuro/raw", "2024")`` for ``/neuro/raw/2024``; the parent of a project is ``/``."""
    parent, _, name = path.rpartition("/")
    return parent or ROOT, name


def project_of(path: str) -> str:
    return path.split("/")[1]


def _prefixes(path: str) -> list[str]:
    """The folder and every folder above it, top first."""
    parts = path.split("/")[1:]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}"


def _like_prefix(path: str) -> str:
    """A LIKE pattern matching everything below ``path`` (escaped with a backslash)."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _placed(exc: LabstoreError, where: str) -> LabstoreError:
    """The same error, its message and details anchored at ``where`` in the request."""
    return type(exc)(f"{where}: {exc.message}", {**exc.details, "path": where})


# -- reading ----------------------------------------------------------------------------------
def may_see_folders(principal: Principal, project: str) -> bool:
    """Folders belong to their project: its members and site administrators see them."""
    return principal.is_admin or project in principal.projects


def _folder_dict(path: str) -> dict[str, Any]:
    return {"resource_type": FOLDER, "name": parent_of(path)[1], "path": path}


def _entry_dict(key: str, ident: str, folder: str, name: str) -> dict[str, Any]:
    return {
        "resource_type": key,
        "name": name,
        "path": _join(folder, name),
        "location": f"{key}/{ident}",
    }


class PathIndex:
    """The folder tree and path entries as one principal sees them."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.registry = reader.registry
        self.principal = reader.principal
        self.folders: Table = reader.db.table("folder")
        self.entries: Table = reader.db.table("path_entry")

    def folder_exists(self, conn: Connection, path: str) -> bool:
        found = conn.execute(select(self.folders.c.path).where(self.folders.c.path == path))
        return found.first() is not None

    def visible_folder(self, conn: Connection, path: str) -> bool:
        return may_see_folders(self.principal, project_of(path)) and self.folder_exists(conn, path)

    def visible_ids(self, conn: Connection, model: Model, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the principal may see."""
        table = self.reader.db.tables(model)
        wanted = sorted(set(ids))
        seen: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            seen.update(
                conn.execute(
                    select(table.c.id).where(
                        table.c.id.in_(chunk), self.reader.visible(model, table)
                    )
                ).scalars()
            )
        return seen

    def visible_entries(
        self, conn: Connection, rows: Sequence[Any]
    ) -> list[tuple[str, str, str, str]]:
        """(model key, id, folder, name) of the path entries whose objects are visible."""
        by_model: dict[str, list[Any]] = {}
        for row in rows:
            by_model.setdefault(row.model, []).append(row)
        out: list[tuple[str, str, str, str]] = []
        for key, found in by_model.items():
            if key not in self.registry:  # a model no longer served: nothing to show
                continue
            seen = self.visible_ids(conn, self.registry.model(key), (r.object_id for r in found))
            out.extend((key, r.object_id, r.folder, r.name) for r in found if r.object_id in seen)
        return out

    def entry_at(self, conn: Connection, path: str) -> tuple[str, str, str, str] | None:
        """The visible object filed at ``path``, if any."""
        folder, name = parent_of(path)
        rows = conn.execute(
            select(self.entries).where(self.entries.c.folder == folder, self.entries.c.name == name)
        ).all()
        found = self.visible_entries(conn, rows)
        return found[0] if found else None

    def subfolders(self, conn: Connection, path: str) -> list[str]:
        """The folders directly in ``path`` (``/`` lists the projects' folders)."""
        table = self.folders
        if path == ROOT:
            stmt = select(table.c.path).where(table.c.path == literal("/") + table.c.project)
            if not self.principal.is_admin:
                stmt = stmt.where(table.c.project.in_(sorted(self.principal.projects)))
        else:
            pattern = _like_prefix(path)
            stmt = select(table.c.path).where(
                table.c.path.like(pattern, escape="\\"),
                not_(table.c.path.like(pattern + "/%", escape="\\")),
            )
        # The check in Python guards the LIKE, whatever a database's collation thinks.
        return sorted(p for p in conn.execute(stmt).scalars() if parent_of(p)[0] == path)

    def stat(self, conn: Connection, raw: Any, where: str = "path") -> dict[str, Any]:
        """What is at a path: a folder or an object.

        Raises:
            InvalidInput: A bad path.
            NotFound: Nothing the caller may see is there.
        """
        path = parse_path(raw, where, root=True)
        if path == ROOT:
            return {"resource_type": FOLDER, "name": "", "path": ROOT}
        if self.visible_folder(conn, path):
            return _folder_dict(path)
        entry = self.entry_at(conn, path)
        if entry is None:
            raise NotFound(f"{where}: nothing at {path!r}", {"path": where})
        return _entry_dict(*entry)

    def stat_params(self, conn: Connection, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """:meth:`stat` of the ``path`` query parameter.

        Raises:
            InvalidInput: A parameter other than one ``path``, or a bad path.
            NotFound: Nothing the caller may see is there.
        """
        _check_params(params, ("path",), "stat")
        return self.stat(conn, params["path"][0])

    def ls(self, conn: Connection, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The folders and visible objects in a folder, optionally filtered.

        Raises:
            InvalidInput: An unknown or repeated parameter, a bad path or resource type.
            NotFound: No folder the caller may see at the path.
        """
        _check_params(params, LS_PARAMETERS, "ls")
        path = parse_path(params["path"][0], "path", root=True)
        kind = self._resource_type(params.get("resource_type"))
        if path != ROOT and not self.visible_folder(conn, path):
            raise NotFound(f"path: no folder {path!r}", {"path": "path"})
        items = [_folder_dict(p) for p in self.subfolders(conn, path)]
        if path != ROOT:
            rows = conn.execute(select(self.entries).where(self.entries.c.folder == path)).all()
            entries = sorted(self.visible_entries(conn, rows), key=lambda e: e[3])
            items += [_entry_dict(*e) for e in entries]
        if kind is not None:
            items = [i for i in items if i["resource_type"] == kind]
        if "name" in params:
            items = [i for i in items if i["name"] == params["name"][0]]
        if "name__icontains" in params:
            needle = params["name__icontains"][0].casefold()
            items = [i for i in items if needle in i["name"].casefold()]
        return {"path": path, "items": items}

    def _resource_type(self, values: Sequence[str] | None) -> str | None:
        if values is None:
            return None
        if values[0] == FOLDER:
            return FOLDER
        try:
            return self.registry.model(values[0]).key
        except NotFound:
            raise _bad(
                "resource_type",
                f"expected 'folder' or a model like 'experiment/dataset', got {values[0]!r}",
            ) from None

    def lookup(self, conn: Connection, body: Any) -> dict[str, str | None]:
        """The path of each visible object (``None``: not filed, or not visible, or absent).

        Raises:
            InvalidInput: Not ``{"locations": [...]}``, or a malformed location.
        """
        raw = _list(body, "locations", '{"locations": ["pack/model/id", ...]}')
        wanted: list[tuple[str, str]] = []
        for i, location in enumerate(raw):
            wanted.append(_location(self.reader, location, f"locations[{i}]")[1:])
        out: dict[str, str | None] = {f"{key}/{ident}": None for key, ident in wanted}
        by_model: dict[str, list[str]] = {}
        for key, ident in wanted:
            by_model.setdefault(key, []).append(ident)
        for key, ids in by_model.items():
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    select(self.entries).where(
                        self.entries.c.model == key,
                        self.entries.c.object_id.in_(ids[start : start + 500]),
                    )
                ).all()
                for model_key, ident, folder, name in self.visible_entries(conn, rows):
                    out[f"{model_key}/{ident}"] = _join(folder, name)
        return out


def _check_params(params: Mapping[str, Sequence[str]], known: Sequence[str], what: str) -> None:
    for key, values in params.items():
        if key not in known:
            raise _bad(key, f"unknown parameter; {what} takes {', '.join(known)}")
        if len(values) != 1:
            raise _bad(key, "given more than once")
    if "path" not in params:
        raise _bad("path", "required: the folder or object, e.g. '/neuro/raw'")


def _location(reader: Reader, raw: Any, where: str) -> tuple[Model, str, str]:
    """(model, its key, id) of a location given in a request.

    Raises:
        InvalidInput: Not a location, or of an unknown model.
    """
    if not isinstance(raw, str):
        raise _bad(where, f"expected a location like 'experiment/subject/ID', got {raw!r}")
    try:
        key, ident = split_location(raw)
    except ValueError as exc:
        raise _bad(where, str(exc)) from None
    if key not in reader.registry:
        raise _bad(where, f"{raw!r} names no known model")
    return reader.registry.model(key), key, ident


# -- writing ----------------------------------------------------------------------------------
class PathWriter(PathIndex):
    """Changes to the folder tree and to where objects are filed, by one principal."""

    def __init__(self, writer: Writer) -> None:
        super().__init__(writer.reader)
        self.writer = writer

    def _check_folder_access(self, conn: Connection, project: str, where: str) -> None:
        projects = self.reader.db.tables(self.registry.model("core/project"))
        if conn.execute(select(projects.c.id).where(projects.c.name == project)).first() is None:
            raise _bad(where, f"no project {project!r} (a path starts with its project)")
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
        raw = _list(body, "paths", '{"paths": ["/project/folder", ...]}')
        paths = [parse_path(p, f"paths[{i}]") for i, p in enumerate(raw)]
        created: list[str] = []
        stamp = utcnow()
        for i, path in enumerate(paths):
            where = f"paths[{i}]"
            self._check_folder_access(conn, project_of(path), where)
            for prefix in _prefixes(path):
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
        return {"created": created}

    def assign(self, conn: Connection, body: Any) -> dict[str, Any]:
        """File each object in a folder (moving it if it was filed elsewhere).

        Raises:
            InvalidInput: A bad assignment, location, path or name.
            NotFound: No such object or folder (or one the caller may not see).
            PermissionDenied: No ``write`` on an object.
            Conflict: The folder already holds another object or a folder of that name.
        """
        raw = _list(
            body, "assignments", '{"assignments": [{"location", "path", "name" (optional)}]}'
        )
        checked: list[tuple[str, Any, str, str | None]] = []
        for i, item in enumerate(raw):  # every shape first: a bad one changes nothing
            where = f"assignments[{i}]"
            if not isinstance(item, Mapping) or not set(item) <= {"location", "path", "name"}:
                raise _bad(where, 'expected {"location", "path", "name" (optional)}')
            if "location" not in item:
                raise _bad(f"{where}.location", "required: the object to file")
            path = parse_path(item.get("path"), f"{where}.path")
            name = None
            if item.get("name") is not None:
                name = parse_name(item["name"], f"{where}.name")
            checked.append((where, item["location"], path, name))
        return {"assigned": [self._assign_one(conn, *entry) for entry in checked]}

    def _assign_one(
        self, conn: Connection, where: str, location: Any, folder: str, name: str | None
    ) -> dict[str, Any]:
        model, key, ident = _location(self.reader, location, f"{where}.location")
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
        if self.folder_exists(conn, _join(folder, name)):
            raise Conflict(
                f"{where}: {folder!r} already has a folder named {name!r}",
                {"path": f"{where}.name", "folder": folder, "name": name},
            )
        entries = self.entries
        conn.execute(delete(entries).where(entries.c.model == key, entries.c.object_id == ident))
        try:
            conn.execute(
                entries.insert().values(model=key, object_id=ident, folder=folder, name=name)
            )
        except IntegrityError:  # a concurrent request filed another object there first
            raise Conflict(
                f"{where}: {folder!r} already holds an object named {name!r}",
                {"path": f"{where}.name", "folder": folder, "name": name},
            ) from None
        return _entry_dict(key, ident, folder, name)

    def remove(self, conn: Connection, body: Any) -> dict[str, Any]:
        """Remove folders (empty ones, or everything under them when recursive) and unfile
        objects named by their paths; objects themselves are never deleted.

        Raises:
            InvalidInput: A bad body or path.
            NotFound: Nothing the caller may see at a path.
            PermissionDenied: No ``write`` on an object to unfile.
            Conflict: A folder is not empty and ``recursive`` is false.
        """
        raw = _list(body, "paths", '{"paths": [...], "recursive": false}', extra=("recursive",))
        recursive = body.get("recursive", False)
        if not isinstance(recursive, bool):
            raise _bad("recursive", "expected true or false")
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
        below = folders.c.path.like(_like_prefix(path), escape="\\")
        entries_below = or_(
            entries.c.folder == path, entries.c.folder.like(_like_prefix(path), escape="\\")
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
        return path


def _default_name(model: Model, row: Mapping[Any, Any]) -> str:
    """An object's name in a folder when none is given: its name (or nickname) if that is a
    usable name there, else its id."""
    for field in NAME_FIELDS:
        value = row[field] if model.field(field) is not None else None
        if isinstance(value, str) and "/" not in value and _segment_fault(value) is None:
            return value
    return str(row["id"])

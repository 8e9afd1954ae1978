"""Reading folders and path entries: one reader for the server and the client's replica.

Paths are absolute and start with a project (``/neuro/raw/2024``); a folder is a row of
``folder``, an object is filed by a row of ``path_entry`` (see ``server/paths.py`` for the
rules and the writes). :class:`PathView` answers ``ls``, ``stat`` and ``lookup`` on either
database: the server gives it the caller's visibility rule and projects, the replica (which
holds only what its user may see) gives it none, so both answer alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, literal, not_, select, true

from labstore.errors import InvalidInput, NotFound
from labstore.query.compile import Visible
from labstore.schema.registry import Registry
from labstore.schema.types import Model
from labstore.store.records import split_location
from labstore.store.tables import StoreTables

ROOT = "/"
FOLDER = "folder"  # the resource_type of folders; objects have their model's key
MAX_PATH_LENGTH = 1000  # the width of the folder column
MAX_SEGMENT_LENGTH = 255
MAX_ITEMS = 1000  # paths, assignments or locations per request
LS_PARAMETERS = ("path", "resource_type", "name", "name__icontains")


# -- checking input ---------------------------------------------------------------------------
def bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}", {"path": where})


def segment_fault(segment: str) -> str | None:
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
        raise bad(where, f"expected an absolute path like '/project/folder', got {raw!r}")
    if "\x00" in raw:
        raise bad(where, f"{raw!r} holds a NUL character")
    if len(raw) > MAX_PATH_LENGTH:
        raise bad(where, f"a path has at most {MAX_PATH_LENGTH} characters, not {len(raw)}")
    if not raw.startswith("/"):
        raise bad(where, f"{raw!r} is relative: a path starts with '/' and its project")
    if raw == ROOT:
        if root:
            return ROOT
        raise bad(where, "'/' is not a folder: a path starts with its project, e.g. '/neuro'")
    text = raw[:-1] if raw.endswith("/") else raw  # '/neuro/raw/' names '/neuro/raw'
    for segment in text[1:].split("/"):
        fault = segment_fault(segment)
        if fault is not None:
            raise bad(where, f"{raw!r} {fault}")
    return text


def parse_name(raw: Any, where: str) -> str:
    """A name in a folder: one segment.

    Raises:
        InvalidInput: Not a usable name.
    """
    if not isinstance(raw, str):
        raise bad(where, f"expected a name, got {raw!r}")
    if "\x00" in raw:
        raise bad(where, f"{raw!r} holds a NUL character")
    if "/" in raw:
        raise bad(where, f"{raw!r}: a name may not contain '/'")
    fault = segment_fault(raw)
    if fault is not None:
        raise bad(where, f"{raw!r} is not a usable name (it {fault.removeprefix('has ')})")
    return raw


def body_list(body: Any, key: str, example: str, *, extra: Iterable[str] = ()) -> list[Any]:
    if not isinstance(body, Mapping) or not set(body) <= {key, *extra} or key not in body:
        raise bad("body", f"expected {example}")
    items = body[key]
    if not isinstance(items, list) or not items:
        raise bad(key, "expected a non-empty list")
    if len(items) > MAX_ITEMS:
        raise bad(key, f"at most {MAX_ITEMS} items per request")
    return items


def parent_of(path: str) -> tuple[str, str]:
    """``("/neuro/raw", "2024")`` for ``/neuro/raw/2024``; the parent of a project is ``/``."""
    parent, _, name = path.rpartition("/")
    return parent or ROOT, name


def project_of(path: str) -> str:
    return path.split("/")[1]


def prefixes(path: str) -> list[str]:
    """The folder and every folder above it, top first."""
    parts = path.split("/")[1:]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}"


def like_prefix(path: str) -> str:
    """A LIKE pattern matching everything below ``path`` (escaped with a backslash)."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


# -- reading ----------------------------------------------------------------------------------
def folder_dict(path: str) -> dict[str, Any]:
    return {"resource_type": FOLDER, "name": parent_of(path)[1], "path": path}


def entry_dict(key: str, ident: str, folder: str, name: str) -> dict[str, Any]:
    return {
        "resource_type": key,
        "name": name,
        "path": join(folder, name),
        "location": f"{key}/{ident}",
    }


class PathView:
    """The folder tree and path entries as one reader sees them.

    Args:
        tables: The store's tables (the server's, or the replica's).
        visible: The reader's visibility rule (``None``: every stored object is visible).
        projects: The projects whose folders the reader sees (``None``: every project's).
    """

    def __init__(
        self,
        tables: StoreTables,
        *,
        visible: Visible | None = None,
        projects: Iterable[str] | None = None,
    ) -> None:
        self.registry = tables.registry
        self.table_for = tables
        self.visible = visible
        self.projects = None if projects is None else frozenset(projects)
        self.folders: Table = tables.metadata.tables["folder"]
        self.entries: Table = tables.metadata.tables["path_entry"]

    def sees_folders_of(self, project: str) -> bool:
        return self.projects is None or project in self.projects

    def folder_exists(self, conn: Connection, path: str) -> bool:
        found = conn.execute(select(self.folders.c.path).where(self.folders.c.path == path))
        return found.first() is not None

    def visible_folder(self, conn: Connection, path: str) -> bool:
        return self.sees_folders_of(project_of(path)) and self.folder_exists(conn, path)

    def visible_ids(self, conn: Connection, model: Model, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` name stored objects the reader may see."""
        table = self.table_for(model)
        scope = self.visible(model, table) if self.visible is not None else true()
        wanted = sorted(set(ids))
        seen: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            seen.update(
                conn.execute(select(table.c.id).where(table.c.id.in_(chunk), scope)).scalars()
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
            if self.projects is not None:
                stmt = stmt.where(table.c.project.in_(sorted(self.projects)))
        else:
            pattern = like_prefix(path)
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
            return folder_dict(path)
        entry = self.entry_at(conn, path)
        if entry is None:
            raise NotFound(f"{where}: nothing at {path!r}", {"path": where})
        return entry_dict(*entry)

    def stat_params(self, conn: Connection, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """:meth:`stat` of the ``path`` query parameter.

        Raises:
            InvalidInput: A parameter other than one ``path``, or a bad path.
            NotFound: Nothing the caller may see is there.
        """
        check_params(params, ("path",), "stat")
        return self.stat(conn, params["path"][0])

    def ls(self, conn: Connection, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The folders and visible objects in a folder, optionally filtered.

        Raises:
            InvalidInput: An unknown or repeated parameter, a bad path or resource type.
            NotFound: No folder the caller may see at the path.
        """
        check_params(params, LS_PARAMETERS, "ls")
        path = parse_path(params["path"][0], "path", root=True)
        kind = self._resource_type(params.get("resource_type"))
        if path != ROOT and not self.visible_folder(conn, path):
            raise NotFound(f"path: no folder {path!r}", {"path": "path"})
        items = [folder_dict(p) for p in self.subfolders(conn, path)]
        if path != ROOT:
            rows = conn.execute(select(self.entries).where(self.entries.c.folder == path)).all()
            entries = sorted(self.visible_entries(conn, rows), key=lambda e: e[3])
            items += [entry_dict(*e) for e in entries]
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
            raise bad(
                "resource_type",
                f"expected 'folder' or a model like 'experiment/dataset', got {values[0]!r}",
            ) from None

    def lookup(self, conn: Connection, body: Any) -> dict[str, str | None]:
        """The path of each visible object (``None``: not filed, or not visible, or absent).

        Raises:
            InvalidInput: Not ``{"locations": [...]}``, or a malformed location.
        """
        raw = body_list(body, "locations", '{"locations": ["pack/model/id", ...]}')
        wanted: list[tuple[str, str]] = []
        for i, location in enumerate(raw):
            wanted.append(parse_location(self.registry, location, f"locations[{i}]")[1:])
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
                    out[f"{model_key}/{ident}"] = join(folder, name)
        return out


def check_params(params: Mapping[str, Sequence[str]], known: Sequence[str], what: str) -> None:
    for key, values in params.items():
        if key not in known:
            raise bad(key, f"unknown parameter; {what} takes {', '.join(known)}")
        if len(values) != 1:
            raise bad(key, "given more than once")
    if "path" not in params:
        raise bad("path", "required: the folder or object, e.g. '/neuro/raw'")


def parse_location(registry: Registry, raw: Any, where: str) -> tuple[Model, str, str]:
    """(model, its key, id) of a location given in a request.

    Raises:
        InvalidInput: Not a location, or of an unknown model.
    """
    if not isinstance(raw, str):
        raise bad(where, f"expected a location like 'experiment/subject/ID', got {raw!r}")
    try:
        key, ident = split_location(raw)
    except ValueError as exc:
        raise bad(where, str(exc)) from None
    if key not in registry:
        raise bad(where, f"{raw!r} names no known model")
    return registry.model(key), key, ident


# -- writing ----------------------------------------------------------------------------------

"""Organising objects: tags, folders (paths) and links — the Session methods of Orion's page.

:class:`OrganizeMixin` is a base of :class:`~labstore.client.session.Session`; its methods use
only the session's request, location and local-store helpers, named by the
:class:`_SessionCore` protocol. The reads (``list_tags``, ``ls_path``, ``stat_path``,
``get_paths``) follow the session's mode like every query: answered from the local store,
which the change feed fills with tags, paths and folders, they run the server's own path
reader on the replica.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import httpx

from labstore.client import links
from labstore.client.links import Link
from labstore.client.neo_odml import is_outside_object
from labstore.client.objects import LabObject
from labstore.client.store import LocalStore
from labstore.errors import InvalidInput, NotFound

Entity = LabObject | str


class _SessionCore(Protocol):
    """The parts of a Session the mixin builds on."""

    @property
    def url(self) -> str: ...

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

    def _location_of(self, entity: Entity, what: str) -> str: ...

    def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any: ...

    @property
    def local_store(self) -> LocalStore | None: ...

    def _answer_locally(self, query_type: str | None) -> bool: ...


def _store(session: _SessionCore, query_type: str | None) -> LocalStore | None:
    """The local store when this call answers from it (synced first if the mode says so)."""
    return session.local_store if session._answer_locally(query_type) else None


def _as_params(path: str, query_params: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """A request's query parameters, as the server's path reader takes them."""
    params = {key: [str(value)] for key, value in dict(query_params or {}).items()}
    return {**params, "path": [path]}


def _tags_body(tags: Iterable[str], project: Any, what: str) -> dict[str, Any]:
    body: dict[str, Any] = {"tags": list(tags)}
    if isinstance(project, LabObject) and project.model_key == "core/project":
        project = getattr(project, "name", None)
    if project is not None and not isinstance(project, str):
        raise InvalidInput(f"{what}: project must be a project's name or Project object")
    if project is not None:
        body["project"] = project
    return body


def _locate(session: _SessionCore, entity: Any, what: str) -> str:
    """The location of an object or of a location given as text."""
    if not isinstance(entity, LabObject | str) and not is_outside_object(entity):
        raise InvalidInput(f"{what}: expected an object or a location, got {type(entity).__name__}")
    return session._location_of(entity, what)


def _path_text(path: Any, what: str) -> str:
    if not isinstance(path, str):
        raise InvalidInput(f"{what}: expected a path like '/project/folder', got {path!r}")
    return path


class OrganizeMixin:
    """Tags, paths and links on a :class:`Session`."""

    # tags -----------------------------------------------------------------------------------
    def tag(
        self: _SessionCore, entity: Entity, *tags: str, project: Any = None
    ) -> list[dict[str, Any]]:
        """Tag an object; tags it carries already are kept.

        Args:
            entity: The object (or its location).
            tags: The tags (text of 1 to 150 characters).
            project: The project (name or object) whose vocabulary the tags belong to;
                ``None`` for tags of no project.

        Returns:
            Every tag of the object now, as ``{"tag", "project"}`` dicts.

        Raises:
            InvalidInput: No tags, a bad tag, or an unknown project.
            NotFound: No such object, or one you may not see.
            PermissionDenied: Tagging needs ``write`` on the object (and membership of
                ``project``).
        """
        location = _locate(self, entity, "tag")
        answer: list[dict[str, Any]] = self._request(
            "POST", f"/api/{location}/tags", json=_tags_body(tags, project, "tag")
        ).json()
        return answer

    def untag(
        self: _SessionCore, entity: Entity, *tags: str, project: Any = None
    ) -> list[dict[str, Any]]:
        """Remove tags of one project (or of none) from an object; absent tags are no error.

        Returns:
            Every tag of the object now, as ``{"tag", "project"}`` dicts.

        Raises:
            InvalidInput: No tags, a bad tag, or an unknown project.
            NotFound: No such object, or one you may not see.
            PermissionDenied: Untagging needs ``write`` on the object.
        """
        location = _locate(self, entity, "untag")
        answer: list[dict[str, Any]] = self._request(
            "DELETE", f"/api/{location}/tags", json=_tags_body(tags, project, "untag")
        ).json()
        return answer

    def list_tags(
        self: _SessionCore, entity: Entity, query_type: str | None = None
    ) -> list[dict[str, Any]]:
        """The tags of an object: ``[{"tag": "good", "project": "neuro" or None}, ...]``.

        Args:
            entity: The object (or its location).
            query_type: ``local``, ``remote``, ``auto`` or ``refresh`` for this call.

        Raises:
            NotFound: No such object, or one you may not see (or, locally, not stored).
        """
        location = _locate(self, entity, "list_tags")
        store = _store(self, query_type)
        if store is not None:
            found = store.tags_of(location)
            if found is None:
                raise NotFound(f"{location} is not in the local store")
            return found
        answer: list[dict[str, Any]] = self._request("GET", f"/api/{location}/tags").json()
        return answer

    # paths ----------------------------------------------------------------------------------
    def create_paths(self: _SessionCore, *paths: str) -> list[str]:
        """Create folders (and the folders above them); existing ones are fine.

        Args:
            paths: Absolute paths starting with a project: ``"/neuro/raw/2024"``.

        Returns:
            The folders that did not exist before.

        Raises:
            InvalidInput: A bad path, or one whose project does not exist.
            PermissionDenied: You are not a member of a path's project.
            Conflict: An object is filed under the name a folder would take.
        """
        body = {"paths": [_path_text(p, "create_paths") for p in paths]}
        created: list[str] = self._request("POST", "/api/paths", json=body).json()["created"]
        return created

    def assign_paths(self: _SessionCore, *assignments: Mapping[str, Any]) -> list[dict[str, Any]]:
        """File objects in folders; an object filed elsewhere moves.

        Args:
            assignments: Dicts with ``location`` (or ``entity``: an object or its location),
                ``path`` (an existing folder) and optionally ``name`` (default: the object's
                ``name`` or ``nickname``, else its id).

        Returns:
            Where each object is now, as :meth:`stat_path` describes it.

        Raises:
            InvalidInput: A bad assignment, path or name.
            NotFound: No such object or folder (or one you may not see).
            PermissionDenied: Filing needs ``write`` on the object.
            Conflict: The folder holds another object (or a folder) of that name already.
        """
        entries = []
        for i, item in enumerate(assignments):
            where = f"assign_paths: assignment {i}"
            if not isinstance(item, Mapping):
                raise InvalidInput(f"{where}: expected a dict with location, path and name")
            if ("location" in item) == ("entity" in item):
                raise InvalidInput(f"{where}: give either location or entity")
            entry = {k: v for k, v in item.items() if k not in ("entity", "location")}
            target = item["location"] if "location" in item else item["entity"]
            entry["location"] = _locate(self, target, where)
            entries.append(entry)
        answer = self._request("POST", "/api/paths/assign", json={"assignments": entries})
        assigned: list[dict[str, Any]] = answer.json()["assigned"]
        return assigned

    def ls_path(
        self: _SessionCore,
        path: str,
        query_params: Mapping[str, Any] | None = None,
        query_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """The folders and objects in a folder (``"/"`` lists your projects' folders).

        Args:
            path: The folder.
            query_params: Filters: ``resource_type`` (``"folder"`` or a model), ``name``,
                ``name__icontains``.
            query_type: ``local``, ``remote``, ``auto`` or ``refresh`` for this call.

        Returns:
            Dicts with ``resource_type`` (``"folder"`` or the model), ``name``, ``path`` and,
            for objects, ``location``: folders first, then objects, each by name. Only
            objects you may see are listed.

        Raises:
            InvalidInput: A bad path or filter.
            NotFound: No folder you may see at ``path``.
        """
        store = _store(self, query_type)
        if store is not None:
            local = _as_params(_path_text(path, "ls_path"), query_params)
            listed: list[dict[str, Any]] = store.paths(lambda view, c: view.ls(c, local)["items"])
            return listed
        params = {"path": _path_text(path, "ls_path"), **dict(query_params or {})}
        items: list[dict[str, Any]] = self._request("GET", "/api/paths/ls", params=params).json()[
            "items"
        ]
        return items

    def stat_path(self: _SessionCore, path: str, query_type: str | None = None) -> dict[str, Any]:
        """What is at a path: a folder or an object, described as by :meth:`ls_path`.

        Args:
            path: The path.
            query_type: ``local``, ``remote``, ``auto`` or ``refresh`` for this call.

        Raises:
            InvalidInput: A bad path.
            NotFound: Nothing you may see is there.
        """
        store = _store(self, query_type)
        if store is not None:
            text = _path_text(path, "stat_path")
            return store.paths(lambda view, c: view.stat(c, text))
        params = {"path": _path_text(path, "stat_path")}
        found: dict[str, Any] = self._request("GET", "/api/paths/stat", params=params).json()
        return found

    def get_paths(
        self: _SessionCore, *items: Entity, query_type: str | None = None
    ) -> dict[str, str | None]:
        """The path of each object: ``{location: path}``; ``None`` for an object that is not
        filed, or that you may not see.

        Args:
            items: Objects or their locations.
            query_type: ``local``, ``remote``, ``auto`` or ``refresh`` for this call.

        Raises:
            InvalidInput: An object that was never stored, or a malformed location.
        """
        locations = [_locate(self, item, "get_paths") for item in items]
        if not locations:
            return {}
        store = _store(self, query_type)
        if store is not None:
            body = {"locations": locations}
            return store.paths(lambda view, c: view.lookup(c, body))
        found: dict[str, str | None] = self._request(
            "POST", "/api/paths/lookup", json={"locations": locations}
        ).json()
        return found

    def remove_paths(self: _SessionCore, *paths: str, recursive: bool = False) -> list[str]:
        """Remove folders, or unfile the objects at object paths; objects are never deleted.

        Args:
            paths: Folders, or paths of filed objects.
            recursive: Also remove what a folder holds (its folders; its objects are unfiled).

        Returns:
            The folders removed.

        Raises:
            InvalidInput: A bad path.
            NotFound: Nothing you may see at a path.
            PermissionDenied: Unfiling an object needs ``write`` on it.
            Conflict: A folder is not empty and ``recursive`` is false.
        """
        body = {"paths": [_path_text(p, "remove_paths") for p in paths], "recursive": recursive}
        removed: list[str] = self._request("POST", "/api/paths/remove", json=body).json()["removed"]
        return removed

    # links ----------------------------------------------------------------------------------
    def create_link(self: _SessionCore, entity: Entity) -> dict[str, Any]:
        """A JSON-serialisable link to an object of this session's server.

        Returns:
            ``{"labstore_link": 1, "server", "location", "model"}``; :meth:`get_link` reads it.

        Raises:
            InvalidInput: The object was never stored.
        """
        return links.link_dict(self.url, _locate(self, entity, "create_link"))

    def get_link(self: _SessionCore, link_dict: Any) -> Link:
        """The :class:`Link` a serialised link describes; ``.get()`` loads its object with
        this session's permissions.

        Raises:
            InvalidInput: Not a link (a missing key, another version, a bad location) or a
                link to another server.
        """
        return Link.parse(link_dict, self, self.url)

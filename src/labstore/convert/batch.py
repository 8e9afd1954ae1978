"""Entries of a ``POST /api/batch`` body, gathered from a tree of outside objects.

Objects already stored are named by location; new ones get a temporary reference
(``{"ref": "n3"}``) that other entries use for their relations, so the server stores the
whole tree in one transaction whatever the order of the entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labstore.errors import InvalidInput


class BatchBuilder:
    """Collects one entry per object, each object once however often it is reached."""

    def __init__(self, *, avoid_collisions: bool = False) -> None:
        self.avoid_collisions = avoid_collisions
        self.entries: list[dict[str, Any]] = []
        self._refs: dict[int, str] = {}
        self.objects: dict[str, Any] = {}  # ref -> the object it stands for

    def ref_of(self, obj: Any) -> str | None:
        return self._refs.get(id(obj))

    def add(
        self,
        obj: Any,
        model: str,
        describe: Callable[[], dict[str, Any]],
    ) -> dict[str, str]:
        """The reference of ``obj``, adding its entry (from ``describe()``) on first sight."""
        known = self._refs.get(id(obj))
        if known is not None:
            return {"ref": known}
        ref = f"n{len(self.entries)}"
        self._refs[id(obj)] = ref
        self.objects[ref] = obj
        entry: dict[str, Any] = {"ref": ref, "data": {}}
        location = getattr(obj, "location", None)
        if location:
            entry["location"] = location
            version = getattr(obj, "stored_version", None)
            if self.avoid_collisions and version is not None:
                entry["if_match"] = version  # the server refuses if it moved on since
        else:
            entry["model"] = model
        self.entries.append(entry)  # before describing: children refer back to it
        entry["data"] = describe()
        return {"ref": ref}

    def append(self, model: str, data: dict[str, Any]) -> dict[str, str]:
        """A new object that stands for no outside object (a group's membership row)."""
        ref = f"n{len(self.entries)}"
        self.entries.append({"ref": ref, "model": model, "data": data})
        return {"ref": ref}

    def link(
        self,
        parent: Any,
        what: str,
        include: Callable[[Any], dict[str, str]] | None = None,
    ) -> Any:
        """A relation value: a reference within the batch, or a stored parent's location.

        Args:
            parent: The object the relation points at, or ``None``.
            what: Names the relation in the error.
            include: Adds an unstored parent to the batch; without it, one is an error.

        Raises:
            InvalidInput: The parent is neither stored nor part of this upload.
        """
        if parent is None:
            return None
        ref = self._refs.get(id(parent))
        if ref is not None:
            return {"ref": ref}
        location = getattr(parent, "location", None)
        if location:
            return location
        if include is None:
            raise InvalidInput(
                f"{what}: the {type(parent).__name__} it points at is not stored yet; set() it "
                "first, or set() the whole tree with recursive=True"
            )
        return include(parent)

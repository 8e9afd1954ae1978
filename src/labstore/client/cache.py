"""The session's object cache: objects by location, and which children each parent has.

It answers ``get`` and lazy relations without a request (G-Node's caching rule) and gives
``refresh`` the version to revalidate with ``If-None-Match``. The children index is filled by
queries that asked for them (``__return__``, ``prefetch``) and by lazy loads, and is dropped for
a parent whenever one of its children is stored or deleted through the session.
"""

from __future__ import annotations

import threading
from typing import Any


class ObjectCache:
    """Thread-safe map of location to the object's JSON form, and parent to children."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, Any]] = {}
        self._children: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    def get(self, location: str) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(location)

    def put(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._objects[data["location"]] = data

    def remove(self, location: str) -> None:
        with self._lock:
            self._objects.pop(location, None)
            for key in [k for k, kids in self._children.items() if location in kids]:
                del self._children[key]
            for key in [k for k in self._children if k[0] == location]:
                del self._children[key]

    def children(self, location: str, plural: str) -> list[dict[str, Any]] | None:
        """The cached children, or ``None`` when they are unknown or not all cached."""
        with self._lock:
            known = self._children.get((location, plural))
            if known is None:
                return None
            found = [self._objects.get(child) for child in known]
        if any(item is None for item in found):
            return None
        return [item for item in found if item is not None]

    def put_children(self, location: str, plural: str, children: list[str]) -> None:
        with self._lock:
            self._children[(location, plural)] = list(children)

    def forget_children(self, location: str, plural: str) -> None:
        with self._lock:
            self._children.pop((location, plural), None)

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()
            self._children.clear()

    def __len__(self) -> int:
        return len(self._objects)

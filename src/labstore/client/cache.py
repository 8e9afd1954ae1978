"""The session's object cache: objects by location, as the server last sent them.

It answers ``get`` without a request (G-Node's caching rule) and gives ``refresh`` the version
to revalidate with ``If-None-Match``. It lives in memory for the session's lifetime.
"""

from __future__ import annotations

import threading
from typing import Any


class ObjectCache:
    """Thread-safe map of location to the object's JSON form."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, Any]] = {}
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

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()

    def __len__(self) -> int:
        return len(self._objects)

"""``Session.rest()``: raw REST calls with ONE's response cache, and ``with_cache()``.

Answers of ``rest(..., "list" | "read" | "count")`` are kept for ``rest_cache_expiry`` (24 h by
default) in ``rest_cache.sqlite3`` beside the session's local store (in memory without a
cache_dir). That file belongs to one user on one server, so one user's answers never serve
another. ``no_cache=True``, ``with session.no_cache():`` and ``Session(..., cache_rest=None)``
bypass it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labstore.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

ACTIONS = ("list", "read", "count")


class RestCache:
    """Response bodies by request key, with the time they were stored."""

    def __init__(self, path: Path | None) -> None:
        self._memory: dict[str, tuple[dt.datetime, Any]] = {}
        self._path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS rest_cache (key TEXT PRIMARY KEY, "
                    "stored TEXT NOT NULL, body TEXT NOT NULL)"
                )

    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        return sqlite3.connect(self._path, timeout=30)

    def get(self, key: str, max_age: dt.timedelta) -> Any | None:
        now = dt.datetime.now(dt.UTC)
        if self._path is None:
            with self._lock:
                found = self._memory.get(key)
            return found[1] if found and now - found[0] <= max_age else None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT stored, body FROM rest_cache WHERE key = ?", (key,)
            ).fetchone()
        if row is None or now - dt.datetime.fromisoformat(row[0]) > max_age:
            return None
        return json.loads(row[1])

    def put(self, key: str, body: Any) -> None:
        now = dt.datetime.now(dt.UTC)
        if self._path is None:
            with self._lock:
                self._memory[key] = (now, body)
            return
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO rest_cache (key, stored, body) VALUES (?, ?, ?)",
                (key, now.isoformat(), json.dumps(body)),
            )

    def clear(self) -> None:
        self._memory.clear()
        if self._path is not None and self._path.exists():
            with self._connect() as conn:
                conn.execute("DELETE FROM rest_cache")


class RestMixin:
    """``rest``, ``rest_cache_expiry`` and ``no_cache`` of a Session."""

    rest_cache_expiry: dt.timedelta = dt.timedelta(hours=24)
    _rest_enabled: bool = True
    _rest_bypass: bool = False
    _rest_cache: RestCache | None = None
    _options: dict[str, Any]

    # Provided by Session.
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _store_file(self) -> Path | None:
        raise NotImplementedError

    def _listing(self, path: str, params: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _rest_store(self) -> RestCache:
        if self._rest_cache is None:
            store = self._store_file() if self._options.get("location") else None
            self._rest_cache = RestCache(store.with_name("rest_cache.sqlite3") if store else None)
        return self._rest_cache

    @contextmanager
    def no_cache(self) -> Iterator[None]:
        """Within this block no REST answer is read from or written to the cache."""
        before = self._rest_bypass
        self._rest_bypass = True
        try:
            yield
        finally:
            self._rest_bypass = before

    def rest(self, path: str, action: str = "list", no_cache: bool = False, **params: Any) -> Any:
        """A REST call on ``/api/<path>``, answered from the REST cache when fresh.

        Args:
            path: A model (``"experiment/experiment"``), as in ``/api/<path>``.
            action: ``list`` (every page, as a list of dicts), ``read`` (one object: pass
                ``id=``) or ``count``.
            no_cache: Ask the server even if a fresh answer is cached, and do not keep it.
            **params: Filters (``lab__name="cortexlab"``) for list and count.

        Raises:
            InvalidInput: An unknown action, or ``read`` without ``id``.
        """
        if action not in ACTIONS:
            raise InvalidInput(f"rest: action must be one of {', '.join(ACTIONS)}")
        path = path.strip("/")
        if action == "read":
            if "id" not in params:
                raise InvalidInput("rest: action 'read' needs id=...")
            url, query = f"/api/{path}/{params.pop('id')}", sorted(params.items())
        elif action == "count":
            url, query = f"/api/{path}/count", sorted(params.items())
        else:
            url, query = f"/api/{path}", sorted(params.items())
        use_cache = self._rest_enabled and not self._rest_bypass and not no_cache
        key = hashlib.sha256(json.dumps([url, query, action], default=str).encode()).hexdigest()
        if use_cache:
            cached = self._rest_store().get(key, self.rest_cache_expiry)
            if cached is not None:
                return cached
        body = self._fetch(url, query, action)
        if use_cache:
            self._rest_store().put(key, body)
        return body

    def _fetch(self, url: str, query: list[tuple[str, Any]], action: str) -> Any:
        if action != "list":
            return self._request("GET", url, params=query).json()
        return list(self._listing(url, query))

"""ONE's modes for the Session: when to answer from the local store, and keeping it in step.

``local`` never touches the network; ``remote`` always asks the server; ``auto`` answers from
the store, syncing first when it is older than ``cache_expiry`` (and, when the server cannot
be reached, warns and answers from what it has); ``refresh`` syncs before every query. Every
query method takes ``query_type=`` to use another mode for one call.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labstore.client.results import LazyResultList, ResultList
from labstore.client.store import LocalStore, store_path
from labstore.errors import ConfigError, Conflict, InvalidInput, NotFound, OfflineError

if TYPE_CHECKING:
    import httpx

    from labstore.client.objects import LabObject
    from labstore.query.jsonquery import ParsedQuery
    from labstore.schema.registry import Registry
    from labstore.schema.types import Model

log = logging.getLogger("labstore.client.offline")
MODES = ("remote", "auto", "local", "refresh")
FEED_PAGE = 5000


class OfflineMixin:
    """The local-store half of :class:`~labstore.client.session.Session`."""

    mode: str
    cache_expiry: dt.timedelta = dt.timedelta(hours=24)
    _local_store: LocalStore | None = None
    _me: str | None = None
    _options: dict[str, Any]

    # Provided by Session (declared here for type checking; Session's own win in the MRO).
    @property
    def registry(self) -> Registry:
        raise NotImplementedError

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def get_user_profile(self) -> dict[str, Any]:
        raise NotImplementedError

    def _class_for(self, model: Model) -> type[LabObject]:
        raise NotImplementedError

    @property
    def offline(self) -> bool:
        """Whether this session works without the server (``mode == "local"``)."""
        return self.mode == "local"

    def _store_file(self) -> Path | None:
        cache_dir = self._options.get("cache_dir")
        if not cache_dir:
            return None
        location, username = self._options.get("location"), self._options.get("username")
        if location:
            return store_path(Path(cache_dir), location, username or "")
        found = sorted(Path(cache_dir).expanduser().glob("*/*/store.sqlite3"))
        if len(found) != 1:
            raise ConfigError(
                f"{cache_dir} holds {len(found)} local stores; name the server and user "
                "(options location and username) to choose one"
            )
        return found[0]

    @property
    def local_store(self) -> LocalStore | None:
        """The replica in ``cache_dir`` (``None`` when the session has no cache_dir)."""
        if self._local_store is None:
            path = self._store_file()
            if path is None:
                return None
            registry = None if self.offline else self.registry
            try:
                self._local_store = LocalStore.open(path, registry)
            except LookupError as exc:
                raise ConfigError(str(exc)) from None
        return self._local_store

    def _answer_locally(self, query_type: str | None) -> bool:
        """Whether this call answers from the store (syncing it first when the mode says)."""
        mode = query_type or self.mode
        if mode not in MODES:
            raise InvalidInput(f"query_type must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "remote":
            if self.offline:
                raise ConfigError("query_type='remote' is not possible in a local session")
            return False
        if self.local_store is None:
            if mode == "local":
                raise ConfigError("answering locally needs a cache_dir")
            return False
        if mode == "refresh" or (mode == "auto" and self.cache_info["expired"]):
            try:
                self.refresh_cache("refresh")
            except OfflineError as exc:
                if mode == "refresh":
                    raise
                warnings.warn(
                    f"the server cannot be reached ({exc.message}); answering from the local store",
                    stacklevel=3,
                )
        return True

    def _local_results(self, parsed: ParsedQuery, *, limit: int | None = None) -> ResultList:
        """The objects answering a query from the local store: the query reads only their
        ids; the list makes them when first used, as stubs, and each stub loads its state on
        first use (all of them at once)."""
        store = self.local_store
        assert store is not None
        ids = store.query_ids(parsed, limit=limit)
        cls = self._class_for(parsed.model)

        def make(ids: Sequence[str]) -> list[LabObject]:
            return cls.stubs(ids, _Hydrator(store, parsed.model, ids))

        return LazyResultList(ids, make)

    def refresh_cache(self, mode: str = "refresh") -> dt.datetime | None:
        """Bring the local store in step with the server through the change feed.

        Only what changed since the last sync is sent (the first sync sends everything).
        ``mode="auto"`` syncs only when the store is older than ``cache_expiry``; ``"local"``
        does nothing.

        Returns:
            When the store was last loaded (UTC), or None if it never was.

        Raises:
            OfflineError: The server cannot be reached.
            ConfigError: The session has no cache_dir, or is local.
        """
        store = self.local_store
        if store is None:
            raise ConfigError("refresh_cache needs a cache_dir")
        if mode == "local" or (mode == "auto" and not self.cache_info["expired"]):
            return _parse_time(store.get_meta("loaded_time"))
        if self.offline:
            raise ConfigError("a local session never syncs; open one with a location")
        user_id = self._user_id()
        cursor = store.get_meta("cursor")
        while True:
            params: dict[str, Any] = {"limit": FEED_PAGE}
            if cursor:
                params["since"] = cursor
            try:
                page = self._request("GET", "/api/changes", params=params).json()
            except (Conflict, InvalidInput) as exc:
                if not exc.details.get("resync"):
                    raise
                log.warning("rebuilding the local store: %s", exc.message)
                store.clear()
                cursor = None
                continue
            store.apply(page, cursor=page["next"])
            store.remember_tokens(user_id, (o["location"] for o in page["objects"]))
            cursor = page["next"]
            if not page["more"]:
                break
        return _parse_time(store.get_meta("loaded_time"))

    def _user_id(self) -> str:
        """The session user's id (it keys removal tokens); asked once per session."""
        if self._me is None:
            self._me = str(self.get_user_profile()["location"]).rsplit("/", 1)[1]
        return self._me

    @property
    def cache_info(self) -> dict[str, Any]:
        """``created_time``, ``loaded_time``, ``expired`` and object ``counts`` of the store."""
        store = self.local_store
        if store is None:
            return {"created_time": None, "loaded_time": None, "expired": True, "counts": {}}
        loaded = _parse_time(store.get_meta("loaded_time"))
        expired = loaded is None or dt.datetime.now(dt.UTC) - loaded > self.cache_expiry
        return {
            "created_time": _parse_time(store.get_meta("created_time")),
            "loaded_time": loaded,
            "expired": expired,
            "counts": store.counts(),
        }


class _Hydrator:
    """The state of one answer's objects, read from the store when the first is used."""

    def __init__(self, store: LocalStore, model: Model, ids: Sequence[str]) -> None:
        self.store, self.model, self.ids = store, model, ids
        self._found: dict[str, dict[str, Any]] | None = None

    def __call__(self, location: str) -> dict[str, Any]:
        if self._found is None:
            self._found = self.store.objects(self.model, self.ids)
        data = self._found.pop(location.rsplit("/", 1)[1], None)  # each object loads once
        if data is None:
            raise NotFound(f"{location} has left the local store since the query answered")
        return data


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None

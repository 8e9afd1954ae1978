"""``Session``: log in once, then store, fetch, select and delete objects.

Methods have no side effects on their arguments: ``set(obj)`` returns a new instance carrying
the stored state and ``location``; ``obj`` is left as it was.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import time
import webbrowser
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from labstore.client import config as cfg
from labstore.client.blobs import BlobClient
from labstore.client.cache import ObjectCache
from labstore.client.files import FilesMixin
from labstore.client.interfaces import ModelInterface
from labstore.client.neo_odml import (
    NeoOdmlMixin,
    is_outside_object,
    is_outside_record,
)
from labstore.client.objects import LabObject, build_model_class
from labstore.client.offline import MODES, OfflineMixin
from labstore.client.organize import OrganizeMixin
from labstore.client.rest import RestMixin
from labstore.client.results import ResultList
from labstore.client.retries import RetryPolicy
from labstore.client.store import read_registry
from labstore.client.transport import Transport
from labstore.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInput,
    LabstoreError,
    NotFound,
    OfflineError,
    VersionConflict,
)
from labstore.query.filters import parse_filters, parse_order
from labstore.query.jsonquery import ParsedQuery, parse_query
from labstore.query.schema import query_schema
from labstore.schema.registry import Registry
from labstore.schema.types import Model
from labstore.schema.values import to_json_value

log = logging.getLogger("labstore.client")
_PAGE = 1000


class Session(FilesMixin, NeoOdmlMixin, OrganizeMixin, OfflineMixin, RestMixin):
    """A logged-in connection to a labstore server.

    Args:
        options: ``location`` (server URL), ``username``, ``password``, ``cache_dir``, and
            optionally ``token``, ``profile``, ``project``, ``request_timeout`` (seconds per
            attempt), ``retry`` (``{status: retries}``; status 0 means no answer),
            ``backoff`` (``{status: (base_s, cap_s)}``), ``retry_timeout`` (seconds for all
            attempts of a request). Missing options come from ``LABSTORE_*`` environment
            variables, then the config file's profile.
        file_name: The config file (default: ``config.toml`` in the user config directory).
        persist_options: Write the options, except password and token, to the config file.
        mode: ``remote`` (the default with a location: every query asks the server),
            ``local`` (the default with only a cache_dir: never the network), ``auto`` or
            ``refresh`` (answer from the local store, synced when expired / every time).
        cache_rest: ``None`` turns the REST answer cache of ``rest()`` off.
        transport: An httpx transport to send requests through instead of the network.

    Raises:
        ConfigError: No server location, an unknown option, or an unreadable config file.
        AuthenticationError: The user name or password is wrong.
        OfflineError: The server cannot be reached to log in.
    """

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        file_name: str | Path | None = None,
        persist_options: bool = False,
        mode: str | None = None,
        *,
        cache_rest: str | None = "GET",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._options, self._config_file = cfg.resolve_options(options, file_name)
        location = self._options["location"]
        # A session with only a cache_dir works offline, as ONE's does.
        self.mode = mode or ("local" if not location and self._options["cache_dir"] else "remote")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not location and self.mode != "local":
            raise ConfigError(
                "no server location: pass options={'location': URL}, set LABSTORE_URL, or "
                "run `labstore login` to store one in the config file"
            )
        self._transport = Transport(
            location or "http://offline.invalid",
            policy=RetryPolicy.from_options(self._options),
            transport=transport,
        )
        if self.mode == "local":
            self._transport.refusal = "it is a local session: mode='local'"
        self._tokens = cfg.TokenStore(self._config_file.parent / "tokens.json")
        self._cache = ObjectCache()
        self._registry: Registry | None = None
        self._classes: dict[str, type[LabObject]] = {}
        self._interfaces: dict[str, ModelInterface] = {}
        self._current_project: LabObject | None = None
        self._project_resolved = False
        self.closed = False
        self._rest_enabled = cache_rest is not None
        self._owns_store = True
        if self.mode != "local":
            self._authenticate()
        if persist_options:
            cfg.persist_options(self._options, self._config_file)

    # set-up -----------------------------------------------------------------------------
    def _authenticate(self) -> None:
        username, password = self._options["username"], self._options["password"]
        if password:
            if not username:
                raise ConfigError("a password was given without a username")
            self.retrieve_token(username, password)
        elif self._options["token"]:
            self._transport.token = str(self._options["token"])
        else:
            self._transport.token = self._tokens.get(username, self.url)

    @classmethod
    def from_profile(cls, name: str, file_name: str | Path | None = None, **kwargs: Any) -> Session:
        """A session from a stored profile of the config file.

        Raises:
            ConfigError: The profile does not exist.
        """
        cfg.get_profile_config(name, file_name)  # fail early, naming the known profiles
        return cls({"profile": name}, file_name=file_name, **kwargs)

    @property
    def options(self) -> dict[str, Any]:
        """The options in use (a copy; the password and token are left out)."""
        return {k: v for k, v in self._options.items() if k not in cfg.SECRET_OPTIONS}

    @property
    def url(self) -> str:
        """The server's location."""
        return self._transport.base_url

    @property
    def blobs(self) -> BlobClient:
        """Blobs of this session's server: ``put``, ``read`` (by range), ``download``."""
        cache_dir = self._options.get("cache_dir")
        return BlobClient(self._transport, Path(cache_dir) if cache_dir else None)

    @property
    def config_file(self) -> Path:
        return self._config_file

    def __repr__(self) -> str:
        who = self._options.get("username") or "anonymous"
        return f"<Session {who}@{self.url} mode={self.mode}{' closed' if self.closed else ''}>"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections of the session; it cannot be used afterwards."""
        if not self.closed:
            self._transport.close()
            if self._local_store is not None and self._owns_store:
                self._local_store.close()
            self.closed = True

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.closed:
            raise ConfigError("this session is closed; create a new one")
        return self._transport.request(method, path, **kwargs)

    # identity ---------------------------------------------------------------------------
    def retrieve_token(self, username: str, password: str) -> str:
        """Log in with a password; the token is used from now on and kept for next time.

        Raises:
            AuthenticationError: Wrong user name or password.
        """
        answer = self._request(
            "POST",
            "/api/auth/token",
            json={"username": username, "password": password},
            auth=False,
        ).json()
        token = str(answer["token"])
        self._transport.token = token
        self._options["username"] = username
        self._options["password"] = password  # in memory only, for is_authenticated(reconnect)
        self._tokens.put(username, self.url, token, answer.get("expires"))
        return token

    def logout(self) -> None:
        """Revoke the session's token on the server and forget it locally."""
        if self._transport.token:
            try:
                self._request("DELETE", "/api/auth/token")
            finally:
                self._tokens.forget(self._options["username"], self.url)
                self._transport.token = None

    def is_authenticated(self, reconnect: bool = False) -> bool:
        """Whether the server accepts this session's credentials.

        Args:
            reconnect: If not, log in again with the password given to this session.
        """
        try:
            self._request("GET", "/api/me")
            return True
        except AuthenticationError:
            username, password = self._options["username"], self._options["password"]
            if reconnect and username and password:
                self.retrieve_token(username, password)
                return True
            return False

    def logged_in(self) -> bool:
        """Whether the session is logged in (its user can be fetched)."""
        return self.current_user is not None

    def get_user_profile(self) -> dict[str, Any]:
        """Who this session acts as: user name, e-mail, admin flag, projects.

        Raises:
            AuthenticationError: The session is not logged in.
        """
        profile: dict[str, Any] = self._request("GET", "/api/me").json()
        return profile

    @property
    def current_user(self) -> LabObject | None:
        """The ``User`` this session acts as, or ``None`` if not logged in or unreachable."""
        try:
            user: LabObject = self.get(self.get_user_profile()["location"])
            return user
        except LabstoreError:
            return None

    def get_current_project(self) -> LabObject | None:
        """The project new objects go to: the ``project`` option, or the user's only project.

        Raises:
            NotFound: The ``project`` option names a project that does not exist.
        """
        if self._project_resolved:
            return self._current_project
        name = self._options.get("project")
        if not name:
            projects = self.get_user_profile().get("projects", [])
            name = projects[0] if len(projects) == 1 else None
        if name:
            found: list[LabObject] = self.select("core/project", {"name": name})
            if not found:
                raise NotFound(f"project {name!r} does not exist (option 'project')")
            self._current_project = found[0]
        # Resolved once per session (also when there is none): set() asks on every create.
        self._project_resolved = True
        return self._current_project

    # utilities --------------------------------------------------------------------------
    def ping(self, num: int = 5) -> int | None:
        """Time ``num`` round trips to the server; returns the mean in milliseconds."""
        if num < 1:
            raise InvalidInput("ping: num must be at least 1")
        times = []
        for _ in range(num):
            start = time.perf_counter()
            self._request("GET", "/api/ping", auth=False)
            times.append(time.perf_counter() - start)
        mean_ms = round(1000 * sum(times) / len(times))
        log.info("%d pings to %s: %d ms on average", num, self.url, mean_ms)
        return mean_ms

    def open(self, entity: LabObject | str | None = None) -> str:
        """Open ``entity``'s page of the web UI (or its home page) in the user's browser.

        The browser logs in by itself (the web UI's own login), so no token leaves this
        process.

        Returns:
            The URL opened.

        Raises:
            ConfigError: The session has no server (a local session).
            InvalidInput: ``entity`` is not a stored object or a location.
        """
        if not self._options["location"]:
            raise ConfigError("open: this local session has no server whose web UI to open")
        url = self.url.rstrip("/") + "/"
        if entity is not None:
            url += "objects/" + self._location_of(entity, "open")
        if not webbrowser.open(url):
            log.warning("no browser could be started; open %s yourself", url)
        return url

    def with_cache(
        self,
        using_requests: bool | None = None,
        using_models: bool = False,
        timeout: float | None = None,
        verbose: bool | None = None,
    ) -> Session:
        """A derived session sharing this one's login, schema and local store.

        Args:
            using_requests: ``False``: any request raises ``ForbiddenRequest`` naming it.
            using_models: Share this session's object cache (otherwise it starts empty).
            timeout: Request timeout (seconds) of the derived session.
            verbose: Log each request of the derived session.
        """
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._options = dict(self._options)
        refusal = "it was made with with_cache(using_requests=False)"
        twin._transport = self._transport.derive(
            timeout=timeout, refusal=refusal if using_requests is False else None
        )
        if using_requests is None and not self._transport.allow_requests:
            twin._transport.refusal = self._transport.refusal
        if verbose is not None:
            twin._transport.verbose = verbose
        if timeout is not None:
            twin._options["request_timeout"] = float(timeout)
        twin._cache = self._cache if using_models else ObjectCache()
        twin._classes = {}
        twin._interfaces = {}
        twin._owns_store = False
        return twin

    def set_timeout(self, seconds: float) -> None:
        """Set the timeout of every following request."""
        self._options["request_timeout"] = float(seconds)
        self._transport.set_timeout(float(seconds))

    # schema -----------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """The server's models (fetched once per session)."""
        if self._registry is None:
            if self.offline:
                store = self.local_store
                assert store is not None  # local sessions have a cache_dir
                self._registry = store.registry
            else:
                try:
                    answer = self._request("GET", "/api/models").json()
                    self._registry = Registry.from_json(answer)
                except OfflineError:
                    # auto mode falls back on the store, which keeps the server's models
                    path = self._store_file() if self.mode == "auto" else None
                    stored = read_registry(path) if path is not None and path.exists() else None
                    if stored is None:
                        raise
                    self._registry = stored
        return self._registry

    @property
    def models(self) -> list[str]:
        """The class names of every model (``Block``, ``Sample``, ...)."""
        return sorted(m.cls_name for m in self.registry)

    def _class_for(self, model: Model) -> type[LabObject]:
        if model.key not in self._classes:
            self._classes[model.key] = build_model_class(model, self.registry, self)
        return self._classes[model.key]

    def model_interface(self, name: str) -> ModelInterface:
        """The interface of a model, by class name, model name or ``pack/model``.

        Raises:
            NotFound: No such model.
        """
        model = self.registry.model(name)
        if model.key not in self._interfaces:
            self._interfaces[model.key] = ModelInterface(self, model, self._class_for(model))
        return self._interfaces[model.key]

    def __getattr__(self, name: str) -> ModelInterface:
        # Only model class names reach here (``s.Sample``); anything else is a plain typo.
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        try:
            return self.model_interface(name)
        except NotFound:
            raise AttributeError(
                f"no model {name!r} on {self.url}; models: {', '.join(self.models)}"
            ) from None

    def _object(self, data: dict[str, Any]) -> Any:
        if is_outside_record(data):  # a Neo or odML object
            return self._outside_object(data)
        cls = self._class_for(self.registry.model(data["model"]))
        return cls.from_json(data)

    def _model_of(self, location: str) -> Model:
        parts = location.strip("/").split("/")
        if len(parts) != 3 or not all(parts):
            raise InvalidInput(f"{location!r} is not a location of the form pack/model/id")
        return self.registry.model(f"{parts[0]}/{parts[1]}")

    # reading ----------------------------------------------------------------------------
    def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any:
        """The object at ``location``, from the cache when it is there.

        Args:
            location: ``pack/model/id``.
            refresh: Ask the server whether the cached copy is still current (a 304 keeps it).
            recursive: Also bring every object below it into the cache.

        Raises:
            NotFound: No such object, or one you may not see.
        """
        self._model_of(location)
        if recursive and not self.offline:
            objects = self._request("GET", f"/api/{location}", params={"recursive": 1}).json()
            for data in objects["objects"]:
                self._cache.put(data)
            if self.local_store is not None:  # the subtree goes to the store too
                self.local_store.put(objects["objects"])
                self.local_store.remember_tokens(
                    self._user_id(), (d["location"] for d in objects["objects"])
                )
            if is_outside_record(objects["objects"][0]):
                return self._outside_tree(objects["objects"])
            return self._object(objects["objects"][0])
        cached = self._cache.get(location)
        if cached is None and self.local_store is not None:
            cached = self.local_store.get(location)
        if cached is not None and not refresh:
            return self._object(cached)
        if self.offline:
            if cached is None:
                raise NotFound(f"{location} is not in the local store")
            return self._object(cached)
        headers = {"If-None-Match": f'"{cached["version"]}"'} if cached else {}
        response = self._request("GET", f"/api/{location}", headers=headers)
        if response.status_code == 304 and cached is not None:
            return self._object(cached)
        data = response.json()
        self._cache.put(data)
        return self._object(data)

    def select(
        self,
        model_name: str,
        raw_filters: dict[str, Any] | None = None,
        query_type: str | None = None,
    ) -> ResultList:
        """Every object of a model matching the filters, asked of the server.

        Args:
            model_name: ``"subject"``, ``"Subject"`` or ``"experiment/subject"``.
            raw_filters: Django-style filters, e.g. ``{"nickname__icontains": "zm"}``.

        Raises:
            NotFound: Unknown model.
            QueryValidationError: A filter names an unknown field or lookup.
        """
        model = self.registry.model(model_name)
        if self._answer_locally(query_type):
            node = parse_filters(self.registry, model, _text_values(raw_filters or {}))
            parsed = ParsedQuery(model, node, parse_order(self.registry, model, None))
            return self._local_results(parsed)
        found = ResultList()
        for data in self._listing(f"/api/{model.key}", _filter_params(dict(raw_filters or {}))):
            self._cache.put(data)
            found.append(self._object(data))
        return found

    def _listing(self, path: str, params: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every item of a GET listing, following its cursors page by page."""
        cursor: str | None = None
        while True:
            page_params = [*params, ("limit", _PAGE), *([("cursor", cursor)] if cursor else [])]
            page = self._request("GET", path, params=page_params).json()
            yield from page["items"]
            cursor = page.get("next")
            if not cursor:
                return

    @property
    def query_schema(self) -> dict[str, Any]:
        """The JSON Schema of queries (see ``docs/query-language.md``)."""
        return query_schema()

    def query(
        self, data: Mapping[str, Any], use_cache: bool = False, query_type: str | None = None
    ) -> ResultList:
        """Run a JSON query; returns objects (plain dicts with ``__json__``).

        Related objects named in ``__return__`` come in the same answer and go to the cache,
        so reading those relations afterwards makes no request. Without a ``limit`` every
        page is fetched.

        Args:
            data: The query, e.g. ``{"__model__": "Sample", "__query__": {"name": "x"}}``.
            use_cache: Answer from the local store (as ``query_type="local"``).
            query_type: ``local``, ``remote``, ``auto`` or ``refresh`` for this call.

        Raises:
            QueryValidationError: The query is invalid; ``path`` is the JSON path of the fault.
        """
        body = _encode(data)
        parsed = parse_query(self.registry, body)
        if self._answer_locally("local" if use_cache else query_type):
            local = self._local_results(parsed)
            return ResultList(o._json_form() for o in local) if parsed.as_json else local
        limit = parsed.limit
        results = ResultList(self._run_query(body, parsed.model, parsed.returns, limit=limit))
        if parsed.as_json:
            return ResultList(self._cache.get(o.location) for o in results)
        return results

    def _run_query(
        self,
        body: dict[str, Any],
        model: Model,
        returns: Mapping[str, Any],
        *,
        limit: int | None,
    ) -> Iterator[LabObject]:
        options = dict(body.get("__options__") or {})
        served = 0
        while True:
            page_size = _PAGE if limit is None else min(_PAGE, limit - served)
            if page_size <= 0:
                return
            answer = self._request(
                "POST", "/api/query", json={**body, "__options__": {**options, "limit": page_size}}
            ).json()
            self._absorb(model, answer, returns)
            for data in answer["items"]:
                served += 1
                yield self._object(data)
            if not answer.get("next"):
                return
            # Later pages continue from the cursor; the offset applied to the first only.
            options = {k: v for k, v in options.items() if k != "offset"}
            options["cursor"] = answer["next"]

    def _absorb(self, model: Model, answer: dict[str, Any], returns: Mapping[str, Any]) -> None:
        """Cache an answer's objects, and index children it was asked to include."""
        for data in [*answer["items"], *answer.get("included", [])]:
            self._cache.put(data)
        by_model: dict[str, list[dict[str, Any]]] = {}
        for data in answer.get("included", []):
            by_model.setdefault(data["model"], []).append(data)
        self._index_children(model, answer["items"], returns, by_model)

    def _index_children(
        self,
        model: Model,
        objects: list[dict[str, Any]],
        returns: Mapping[str, Any],
        included: dict[str, list[dict[str, Any]]],
    ) -> None:
        for name, sub in returns.items():
            if model.relation(name) is not None:
                target = self.registry.parent(model, name)
                wanted = {o[name] for o in objects if o.get(name)}
                reached = [d for d in included.get(target.key, []) if d["location"] in wanted]
            else:
                link = self.registry.children(model)[name]
                target = link.child
                reached = []
                for parent in objects:
                    kids = [
                        d
                        for d in included.get(target.key, [])
                        if d.get(link.relation.name) == parent["location"]
                    ]
                    self._cache.put_children(
                        parent["location"], name, [k["location"] for k in kids]
                    )
                    reached.extend(kids)
            if sub:
                self._index_children(target, reached, sub, included)

    def prefetch(self, objects: Iterable[LabObject], relations: Any) -> list[LabObject]:
        """Load the given relations of many objects at once (one request per model).

        Afterwards reading those relations (``sample.sample_type``, ``subject.experiments``)
        answers from the cache, with no request per object.

        Args:
            objects: Stored objects, of one model or several.
            relations: As ``__return__``: a name, a list of names, or a tree of them.

        Returns:
            The same objects, as a list.
        """
        items = list(objects)
        by_model: dict[str, list[str]] = {}
        for obj in items:
            if obj.location is None:
                raise InvalidInput("prefetch: an object was never stored")
            by_model.setdefault(obj.model_key, []).append(str(obj.id))
        for key, ids in by_model.items():
            for start in range(0, len(ids), _PAGE):
                self.query(
                    {
                        "__model__": key,
                        "__query__": {"id": ids[start : start + _PAGE]},
                        "__return__": relations,
                    }
                )
        return items

    def children(self, location: str, plural: str) -> tuple[LabObject, ...]:
        """The children of ``location`` by their plural, from the cache when known."""
        model = self._model_of(location)
        link = self.registry.children(model)[plural]
        cached = self._cache.children(location, plural)
        if cached is not None:
            return tuple(self._object(data) for data in cached)
        found = self.select(link.child.key, {link.relation.name: location})
        self._cache.put_children(location, plural, [str(o.location) for o in found])
        return tuple(found)

    def _results(
        self,
        model: Model,
        query: Mapping[str, Any],
        *,
        limit: int | None = None,
        order: str | None = None,
        query_type: str | None = None,
    ) -> ResultList:
        """The objects of a model interface's query: from the store a list that makes them
        when first used; from the server every page of the answer."""
        body = _interface_body(model, query, order)
        if self._answer_locally(query_type):
            return self._local_results(parse_query(self.registry, body), limit=limit)
        return ResultList(self._run_query(body, model, {}, limit=limit))

    def _iterate(
        self, model: Model, query: Mapping[str, Any], *, query_type: str | None = None
    ) -> Iterator[LabObject]:
        """The objects of a model interface's query, fetched a page at a time from the
        server as the caller iterates."""
        body = _interface_body(model, query, None)
        if self._answer_locally(query_type):
            return iter(self._local_results(parse_query(self.registry, body)))
        return self._run_query(body, model, {}, limit=None)

    def _count(self, model: Model, query: Mapping[str, Any], query_type: str | None = None) -> int:
        body = {"__model__": model.key, "__query__": _encode(query)}
        if self._answer_locally(query_type):
            store = self.local_store
            assert store is not None
            return store.count(parse_query(self.registry, body))
        return int(self._request("POST", "/api/query/count", json=body).json()["count"])

    def refresh(self, entity: LabObject) -> LabObject:
        """A new instance of ``entity`` with the server's current state.

        Raises:
            InvalidInput: The entity was never stored.
            NotFound: It was deleted, or you may no longer see it.
        """
        if entity.location is None:
            raise InvalidInput("refresh: the object has no location; set() it first")
        result: LabObject = self.get(entity.location, refresh=True)
        return result

    def refresh_until(
        self,
        entity: LabObject,
        attribute: str,
        until_value: Any,
        timeout: float = 60,
        sleep_time: float = 1,
    ) -> LabObject:
        """Refresh ``entity`` until ``attribute`` equals ``until_value``; returns that state.

        Raises:
            TimeoutError: The value did not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            current = self.refresh(entity)
            if getattr(current, attribute) == until_value:
                return current
            if time.monotonic() + sleep_time > deadline:
                raise TimeoutError(
                    f"{entity.location}.{attribute} is {getattr(current, attribute)!r}, "
                    f"not {until_value!r}, after {timeout} s"
                )
            time.sleep(sleep_time)

    # writing ----------------------------------------------------------------------------
    def set(self, entity: Any, avoid_collisions: bool = False, recursive: bool = False) -> Any:
        """Store a new or changed object; returns a new instance with its ``location``.

        An object that has a location is updated (only the fields you changed are sent, so
        a concurrent change to other fields is kept); one without is created.

        Args:
            entity: The object; it is not modified.
            avoid_collisions: Refuse to overwrite if the server's version moved on since
                the object was fetched.
            recursive: Also store parents set on it that are not stored yet, all in one
                transaction. For a Neo or odML object: its whole tree (a block with its
                segments, groups and data; a document with its sections and properties),
                arrays uploaded first as blobs.

        Raises:
            Conflict: ``avoid_collisions`` and the object changed on the server meanwhile.
            InvalidInput: A field is missing or wrong, or a parent is not stored yet.
        """
        if is_outside_object(entity):
            return self._set_outside(entity, recursive, avoid_collisions)
        if not isinstance(entity, LabObject):
            raise InvalidInput(f"set: expected a labstore object, got {type(entity).__name__}")
        pending = list(entity.pending_parents())
        if pending:
            if not recursive:
                names = ", ".join(name for name, _ in pending)
                raise InvalidInput(
                    f"set: {names} of this {type(entity).__name__} is not stored yet; set() it "
                    "first or call set(obj, recursive=True)"
                )
            return self._set_tree(entity, avoid_collisions)
        if entity.location is None:
            data = self._request(
                "POST", f"/api/{entity.model_key}", json=self._payload(entity)
            ).json()
        else:
            data = self._update(entity, avoid_collisions)
        self._cache.put(data)
        model = self.registry.model(entity.model_key)
        self._forget_parents(model, entity._original, data)
        return self._object(data)

    def _forget_parents(self, model: Model, *states: Mapping[str, Any]) -> None:
        """Drop cached children lists of every parent these states of an object point at."""
        for rel in model.relations:
            parent = self.registry.parent(model, rel.name)
            plural = next(
                p
                for p, link in self.registry.children(parent).items()
                if link.child.key == model.key and link.relation.name == rel.name
            )
            for state in states:
                if state.get(rel.name):
                    self._cache.forget_children(str(state[rel.name]), plural)

    def _payload(self, entity: LabObject) -> dict[str, Any]:
        payload = entity.to_json()
        if "project" not in payload:
            project = self._default_project()
            if project is not None:
                payload["project"] = project
        return payload

    def _default_project(self) -> str | None:
        try:
            current = self.get_current_project()
        except AuthenticationError:
            return None
        return None if current is None else str(current.name)  # type: ignore[attr-defined]

    def _update(self, entity: LabObject, avoid_collisions: bool) -> dict[str, Any]:
        location = entity.location
        assert location is not None
        changes = entity.to_json(only_changed=True)
        headers = {"If-Match": f'"{entity.version}"'} if avoid_collisions else {}
        if changes:
            result: dict[str, Any] = self._request(
                "PATCH", f"/api/{location}", json=changes, headers=headers
            ).json()
            return result
        # Nothing to send: report the server's state, and a collision if asked to look.
        response = self._request("GET", f"/api/{location}")
        current: dict[str, Any] = response.json()
        if avoid_collisions and current["version"] != entity.version:
            raise VersionConflict(
                f"{location} is at version {current['version']}, not {entity.version}",
                {"current_version": current["version"], "location": location},
            )
        return current

    def _set_tree(self, entity: LabObject, avoid_collisions: bool) -> LabObject:
        entries: list[dict[str, Any]] = []
        refs: dict[int, str] = {}

        def add(obj: LabObject) -> dict[str, Any]:
            if id(obj) in refs:
                return {"ref": refs[id(obj)]}
            data = obj.to_json() if obj.location is None else obj.to_json(only_changed=True)
            for name, parent in obj.pending_parents():
                data[name] = add(parent)
            ref = f"r{len(entries)}"
            refs[id(obj)] = ref
            entry: dict[str, Any] = {"ref": ref, "data": data}
            if obj.location is None:
                entry["model"] = obj.model_key
                if "project" not in data and (project := self._default_project()):
                    data["project"] = project
            else:
                entry["location"] = obj.location
                if avoid_collisions:
                    entry["if_match"] = obj.version
            entries.append(entry)
            return {"ref": ref}

        root = add(entity)
        answer = self._request("POST", "/api/batch", json={"objects": entries}).json()
        for data in answer["objects"]:
            self._cache.put(data)
            self._forget_parents(self.registry.model(data["model"]), data)
        stored: LabObject = self._object(self._cache.get(answer["refs"][root["ref"]]) or {})
        return stored

    def delete(self, entity: LabObject | str) -> None:
        """Delete an object (or the object at a location) from the server.

        Raises:
            NotFound: It does not exist, or you may not see it.
            Conflict: Other objects still depend on it.
        """
        location = entity if isinstance(entity, str) else entity.location
        if location is None:
            raise InvalidInput("delete: the object was never stored")
        model = self._model_of(location)
        self._request("DELETE", f"/api/{location}")
        cached = self._cache.get(location)
        if cached is not None:
            self._forget_parents(model, cached)
        self._cache.remove(location)

    # access -------------------------------------------------------------------------------
    def _location_of(self, entity: LabObject | str, what: str) -> str:
        if not isinstance(entity, LabObject | str) and not is_outside_object(entity):
            raise InvalidInput(
                f"{what}: expected a labstore object or a location, got {type(entity).__name__}"
            )
        location = entity if isinstance(entity, str) else getattr(entity, "location", None)
        if location is None:
            raise InvalidInput(f"{what}: the object was never stored")
        self._model_of(location)
        return location

    def permissions(
        self, entity: LabObject | str, permissions: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Read, or replace, who may see an object.

        Args:
            entity: The object (or its location).
            permissions: ``{"safety_level": 1 private / 2 friendly / 3 public,
                "shared_with": {"bob": 1 read-only / 2 read-write, "project:neuro": 1}}``;
                either key may be left out. ``None`` only reads.

        Returns:
            The access now in force: ``safety_level``, ``shared_with``, ``shares`` (each grant
            with its permission names), ``owner``, ``project``, ``inherited_from``.

        Raises:
            PermissionDenied: Changing access needs the ``share`` permission.
        """
        location = self._location_of(entity, "permissions")
        if permissions is None:
            result: dict[str, Any] = self._request("GET", f"/api/{location}/permissions").json()
        else:
            result = self._request(
                "PUT", f"/api/{location}/permissions", json=dict(permissions)
            ).json()
        return result

    def share(
        self,
        entity: LabObject | str,
        share_with: str,
        permissions: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Grant a user, or every member of a project, permissions on an object.

        Args:
            entity: The object (or its location); objects created under it follow it.
            share_with: A user name or a project name (``"project:NAME"`` when both exist).
            permissions: A subset of ``read write delete share``; default read.

        Raises:
            PermissionDenied: Sharing needs the ``share`` permission.
            InvalidInput: No such user or project, or an unknown permission.
        """
        location = self._location_of(entity, "share")
        body: dict[str, Any] = {"with": share_with}
        if permissions is not None:
            body["permissions"] = sorted(permissions)
        result: dict[str, Any] = self._request("POST", f"/api/{location}/shares", json=body).json()
        return result

    def unshare(self, entity: LabObject | str, share_with: str) -> dict[str, Any]:
        """Withdraw a user's or project's grant on an object (absent grants are no error)."""
        location = self._location_of(entity, "unshare")
        result: dict[str, Any] = self._request(
            "DELETE", f"/api/{location}/shares/{share_with}"
        ).json()
        return result

    def clear_cache(self) -> None:
        """Forget every cached object and REST answer, and empty the local store; the next
        get() asks the server and the next sync is a full one."""
        self._cache.clear()
        self._rest_store().clear()
        if self._local_store is not None:
            self._local_store.clear()


def _text_values(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Filters as the server would receive them in a URL (what ``select`` sends)."""
    out: dict[str, Any] = {}
    for key, value in filters.items():
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        texts = [_param_value(v) for v in values]
        out[key] = texts if len(texts) != 1 else texts[0]
    return out


def _interface_body(model: Model, query: Mapping[str, Any], order: str | None) -> dict[str, Any]:
    """The JSON query a model interface's call asks (``s.Subject.where(...)`` and friends)."""
    body: dict[str, Any] = {"__model__": model.key, "__query__": _encode(query)}
    if order:
        body["__options__"] = {"order": order}
    return body


def _encode(value: Any) -> Any:
    """A query's values as JSON: objects become locations, times ISO 8601 text."""
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(v) for v in value]
    if isinstance(value, LabObject | dt.date):
        return _param_value(value)
    return value


def _filter_params(filters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Filters as URL parameters; lists become repeated parameters."""
    params: list[tuple[str, Any]] = []
    for key, value in filters.items():
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        for item in values:
            params.append((key, _param_value(item)))
    return params


def _param_value(value: Any) -> str:
    if isinstance(value, LabObject):
        if value.location is None:
            raise InvalidInput("a filter names an object that was never stored")
        return value.location
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return str(to_json_value("datetime", value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def login(
    location: str | None = None,
    username: str | None = None,
    *,
    file_name: str | Path | None = None,
    persist_options: bool = True,
    **kwargs: Any,
) -> Session:
    """Log in interactively: asks for the password without echoing it.

    The location and user name come from the arguments, the environment or the config file;
    they are asked for when none of those has them.
    """
    options, _ = cfg.resolve_options(
        {k: v for k, v in {"location": location, "username": username}.items() if v},
        file_name,
    )
    location = options["location"] or input("labstore server URL: ").strip()
    username = options["username"] or input("user name: ").strip()
    password = getpass.getpass(f"password for {username} at {location}: ")
    return Session(
        {"location": location, "username": username, "password": password},
        file_name=file_name,
        persist_options=persist_options,
        **kwargs,
    )

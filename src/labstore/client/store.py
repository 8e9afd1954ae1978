"""The local store: a SQLite replica of what one user may see on one server.

It lives at ``<cache_dir>/<server>/<user>/store.sqlite3``, so one user's answers never serve
another. Its tables are the server's (built by the shared ``store`` code from the server's
models, which it keeps, so it opens with no network); the change feed keeps it in step, and
queries run on it through the same compiler and executor as on the server. SQLite in WAL mode
with a busy timeout lets several processes share it; every sync applies a feed page in one
transaction, so a reader never sees half a page.

The feed also carries the tags and path entries of the objects it sends, and the folders of
the projects the user sees them in; the store keeps them in the server's own tables, so
``tags__contains`` filters, ``ls_path`` and ``get_paths`` work offline through the same code.

A store that is corrupt, written by a newer labstore, or made for another server is rebuilt
(it is a cache: the server has everything), with a warning saying why. A store of an older
format keeps what it has, and its next sync is a full one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import sqlalchemy.dialects.sqlite  # noqa: F401  (loaded with labstore, not on the first open)
from sqlalchemy import (
    Column,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Text,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import DatabaseError

from labstore.client.parents import KnownParents
from labstore.client.patterns import DistinctValues
from labstore.client.shapes import SlotSpec, bound_values, parameterize, slot_binds
from labstore.client.statements import StatementRunner
from labstore.query.ast import Node
from labstore.query.compile import Compiler
from labstore.query.jsonquery import ParsedQuery
from labstore.schema.registry import Registry
from labstore.schema.types import Model
from labstore.store.engine import create_store_engine, read_transaction, write_transaction
from labstore.store.paths import PathView
from labstore.store.records import json_to_row, row_to_json, split_location
from labstore.store.select import count_rows, count_statement, page_statement
from labstore.store.tables import StoreTables

log = logging.getLogger("labstore.client.store")
T = TypeVar("T")
CHUNK = 500
SHAPES = 500  # query shapes whose statements are kept
PROJECT = "core/project"
# 2: tags, path entries and folders are replicated (a format-1 store syncs in full once).
FORMAT_VERSION = 2
ORGANISATION_TABLES = ("object_tag", "path_entry")  # rows keyed by (model, object_id)
STORE_FILE = "store.sqlite3"
# Joins the ids of a query's answer (see query_ids); ids are base32 text, never holding it.
# A literal in the SQL: SQLite copies an expression such as char(31) once per row.
ID_SEPARATOR = "\x1f"
_ID_SEPARATOR_SQL = "'\x1f'"


def store_path(cache_dir: Path, location: str, username: str) -> Path:
    """Where the store of ``username`` at ``location`` lives under ``cache_dir``."""
    server = re.sub(r"[^A-Za-z0-9.-]+", "_", location.split("://", 1)[-1]).strip("_")
    return Path(cache_dir).expanduser() / server / (username or "anonymous") / STORE_FILE


def _meta_table(metadata: MetaData) -> Table:
    return Table(
        "store_meta",
        metadata,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )


def _token_table(metadata: MetaData) -> Table:
    # How the feed names objects that leave the view: token -> location (see server/changes).
    return Table(
        "removal_token",
        metadata,
        Column("token", String(32), primary_key=True),
        Column("location", String(200), nullable=False),
    )


def replica_indexes(tables: StoreTables) -> list[Index]:
    """Add the indexes only a replica has to its tables, and return them.

    One per relation: ``(parent column, created, id)``, partial on the parent column being
    set. Queries by parent (a subject's experiments, an experiment's datasets, a lab's
    experiments) in the default order then read the ids in order from the index alone: no
    table row, no sort. The server has other costs (the visibility rule) and keeps its own.
    """
    indexes = []
    for model in tables.registry:
        table = tables(model)
        for relation in model.relations:
            column = table.c[relation.column]
            name = _replica_index_name(model, relation.column)
            where = column.is_not(None)
            indexes.append(Index(name, column, table.c.created, table.c.id, sqlite_where=where))
    return indexes


def replica_index_names(registry: Registry) -> set[str]:
    return {_replica_index_name(m, r.column) for m in registry for r in m.relations}


def _replica_index_name(model: Model, column: str) -> str:
    return f"ix_replica_{model.table_name}_{column}"


class LocalStore:
    """One replica file; safe to use from several processes at once.

    Args:
        path: The file.
        registry: The server's models.
        look: What :func:`look` saw in the file just before (``None``: nothing yet); when it
            holds every table and index at the current format, opening writes nothing.
        reader: A read-only connection to the file for the store's queries (made if None).
    """

    def __init__(
        self,
        path: Path,
        registry: Registry,
        look: StoreLook | None = None,
        reader: sqlite3.Connection | None = None,
    ) -> None:
        self.path = path
        self.registry = registry
        self.tables = StoreTables(registry, lazy=True)
        self.meta = _meta_table(self.tables.metadata)
        self.tokens = _token_table(self.tables.metadata)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_store_engine(f"sqlite:///{path}", foreign_keys=False)
        self.compiler = Compiler(registry, self.tables)
        self.statements = StatementRunner(
            lambda: read_only_connection(path), self.engine.dialect, reader
        )
        self.patterns = DistinctValues(registry, self.tables, self.statements)
        self.parents = KnownParents(registry, self._parent_ids)
        # Statements by query shape (see client/shapes.py), most recently used last.
        self._shapes: OrderedDict[Hashable, tuple[Select[Any], list[tuple[str, SlotSpec]]]]
        self._shapes = OrderedDict()
        self._lock = threading.Lock()
        wanted = {
            *self.tables.metadata.tables,
            *(model.table_name for model in registry),
            *replica_index_names(registry),
        }
        if look is None or look.format != str(FORMAT_VERSION) or not wanted <= look.names:
            self._set_up()

    def _set_up(self) -> None:
        """Create what is missing, and the metadata, in one transaction.

        Under the write lock: processes opening a new store at once take turns instead of
        failing on a lock upgrade, which SQLite refuses at once rather than waiting; and a
        reader sees either no store or a whole one.
        """
        self.tables.build_all()
        with write_transaction(self.engine) as conn:
            self.tables.metadata.create_all(conn)
            for index in replica_indexes(self.tables):  # older stores' tables lack them
                index.create(conn, checkfirst=True)
            known = conn.execute(
                select(self.meta.c.value).where(self.meta.c.key == "format")
            ).scalar()
            if known is None:
                self._put_meta(
                    conn,
                    {
                        "format": str(FORMAT_VERSION),
                        "models": models_text(self.registry),
                        "created_time": _now(),
                    },
                )
            elif int(known) < FORMAT_VERSION:
                # It lacks what newer feeds carry: bring everything again at the next sync.
                conn.execute(delete(self.meta).where(self.meta.c.key == "cursor"))
                self._put_meta(conn, {"format": str(FORMAT_VERSION)})

    @classmethod
    def open(cls, path: Path, registry: Registry | None = None) -> LocalStore:
        """Open (or make) the store at ``path``; rebuild it if it cannot be trusted.

        ``registry`` is the server's schema when online; offline it is read from the store.
        Opening reads the file's schema and metadata once and, for a store in order, writes
        nothing and reads no table.

        Raises:
            LookupError: Offline, and there is no usable store to read the schema from.
        """
        # One read-only connection looks at the file, then serves the store's queries.
        reader = read_only_connection(path) if path.exists() else None
        found = look(path, reader)
        rebuild = found if isinstance(found, str) else None
        if registry is None:
            if not isinstance(found, StoreLook) or found.models is None:
                _close(reader)
                raise LookupError(f"no local store at {path}: sync once while online")
            registry = Registry.from_json(json.loads(found.models))
        elif isinstance(found, StoreLook) and found.models not in (None, models_text(registry)):
            rebuild = "the server's models changed"
        if rebuild is not None:
            log.warning("rebuilding the local store %s: %s", path, rebuild)
            _close(reader)
            _remove(path)
            reader, found = None, None
        with _collections_paused():
            return cls(path, registry, found if isinstance(found, StoreLook) else None, reader)

    def close(self) -> None:
        self.statements.close()
        self.engine.dispose()

    # metadata ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with read_transaction(self.engine) as conn:
            value = conn.execute(select(self.meta.c.value).where(self.meta.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_meta(self, **values: str) -> None:
        with write_transaction(self.engine) as conn:
            self._put_meta(conn, values)

    def _put_meta(self, conn: Any, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            conn.execute(delete(self.meta).where(self.meta.c.key == key))
            conn.execute(self.meta.insert().values(key=key, value=value))

    # keeping in step -----------------------------------------------------------------------
    def put(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Store objects fetched outside the feed (``get(recursive=True)``); the cursor stays,
        so the next sync still brings every change after it."""
        with write_transaction(self.engine) as conn:
            self._upsert(conn, objects)

    def apply(self, page: Mapping[str, Any], *, cursor: str) -> None:
        """Apply one page of the change feed, and its cursor, in one transaction."""
        with write_transaction(self.engine) as conn:
            for token in page["removed"]:
                location = conn.execute(
                    select(self.tokens.c.location).where(self.tokens.c.token == token)
                ).scalar()
                if location is not None:
                    self._drop(conn, str(location))
            self._upsert(conn, page["objects"])
            self._organise(conn, page)
            self._put_meta(conn, {"cursor": cursor, "loaded_time": _now()})

    def _organise(self, conn: Any, page: Mapping[str, Any]) -> None:
        """Replace the tags and path entries of the page's objects, and the folders of its
        projects, with the page's (each object comes with all of them)."""
        keys = [(d["model"], d["id"]) for d in page["objects"]]
        for name in ORGANISATION_TABLES:
            self._forget(conn, self.tables.metadata.tables[name], keys)
        tags = [
            {**_split(t["location"]), "tag": t["tag"], "scope": t["project"] or ""}
            for t in page.get("tags", ())
        ]
        entries = [
            {**_split(p["location"]), "folder": p["folder"], "name": p["name"]}
            for p in page.get("paths", ())
        ]
        folders = self.tables.metadata.tables["folder"]
        rows = []
        for project in page.get("folders", ()):
            conn.execute(delete(folders).where(folders.c.project == project["project"]))
            rows += [
                {**f, "project": project["project"], "created": _parse_time(f["created"])}
                for f in project["folders"]
            ]
        for table, values in (
            (self.tables.metadata.tables["object_tag"], tags),
            (self.tables.metadata.tables["path_entry"], entries),
            (folders, rows),
        ):
            if values:
                conn.execute(table.insert(), values)

    def _forget(self, conn: Any, table: Table, keys: Iterable[tuple[str, str]]) -> None:
        by_model: dict[str, list[str]] = {}
        for model_key, ident in keys:
            by_model.setdefault(model_key, []).append(ident)
        for model_key, ids in by_model.items():
            for start in range(0, len(ids), CHUNK):
                conn.execute(
                    delete(table).where(
                        table.c.model == model_key,
                        table.c.object_id.in_(ids[start : start + CHUNK]),
                    )
                )

    def _upsert(self, conn: Any, objects: Iterable[Mapping[str, Any]]) -> None:
        by_model: dict[str, list[Mapping[str, Any]]] = {}
        for data in objects:
            by_model.setdefault(data["model"], []).append(data)
        for model_key, items in by_model.items():
            if model_key not in self.registry:
                continue
            model = self.registry.model(model_key)
            table = self.tables(model)
            ids = [d["id"] for d in items]
            conn.execute(delete(table).where(table.c.id.in_(ids)))
            conn.execute(table.insert(), [json_to_row(model, d) for d in items])

    def remember_tokens(self, user_id: str, locations: Iterable[str]) -> None:
        """Index removal tokens for objects stored (see ``server/changes.removal_token``)."""
        rows = [
            {"token": hashlib.sha256(f"{user_id}:{loc}".encode()).hexdigest()[:32], "location": loc}
            for loc in locations
        ]
        if not rows:
            return
        with write_transaction(self.engine) as conn:
            conn.execute(self.tokens.insert().prefix_with("OR REPLACE"), rows)

    def _drop(self, conn: Any, location: str) -> None:
        key, _, ident = location.rpartition("/")
        if key in self.registry:
            table = self.tables(self.registry.model(key))
            if key == PROJECT:  # its folders leave with it
                name = conn.execute(select(table.c.name).where(table.c.id == ident)).scalar()
                folders = self.tables.metadata.tables["folder"]
                conn.execute(delete(folders).where(folders.c.project == name))
            conn.execute(delete(table).where(table.c.id == ident))
        for name in ORGANISATION_TABLES:
            self._forget(conn, self.tables.metadata.tables[name], [(key, ident)])
        conn.execute(delete(self.tokens).where(self.tokens.c.location == location))

    def clear(self) -> None:
        """Forget every object and the cursor (the next sync is a full one)."""
        with write_transaction(self.engine) as conn:
            for model in self.registry:
                conn.execute(delete(self.tables(model)))
            for name in (*ORGANISATION_TABLES, "folder"):
                conn.execute(delete(self.tables.metadata.tables[name]))
            conn.execute(delete(self.tokens))
            conn.execute(delete(self.meta).where(self.meta.c.key.in_(["cursor", "loaded_time"])))

    # reading -------------------------------------------------------------------------------
    def get(self, location: str) -> dict[str, Any] | None:
        key, _, ident = location.rpartition("/")
        if key not in self.registry:
            return None
        model = self.registry.model(key)
        table = self.tables(model)
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(table).where(table.c.id == ident)).mappings().first()
        return None if row is None else self._json(model, row)

    def query_ids(self, parsed: ParsedQuery, *, limit: int | None = None) -> JoinedIds:
        """The ids of the objects matching a parsed query, in its order (limit and offset
        apply): what a query answering many objects needs first.

        SQLite joins them into one text, split when first read: a thousand ids then cost one
        Python string instead of a row tuple and a string each (a third of the time of such
        a query). The page's ``ORDER BY`` is kept in a subquery, which SQLite runs as it is
        and hands to ``group_concat`` in that order.
        """
        wanted = parsed.limit if parsed.limit is not None else limit

        def build(node: Node) -> Select[Any]:
            stmt = page_statement(
                self.compiler,
                parsed.model,
                node,
                parsed.order,
                limit=None,
                offset=parsed.offset,
                cursor=parsed.cursor,
                columns=["id"],
            )
            page = (stmt if wanted is None else stmt.limit(wanted)).subquery()
            return select(func.group_concat(page.c.id, literal_column(_ID_SEPARATOR_SQL)))

        key = ("ids", tuple(parsed.order), wanted, parsed.offset, parsed.cursor)
        rows = self._run(parsed.model, parsed.node, key, build)
        return JoinedIds(rows[0][0] if rows else None)

    def rewrite(self, model: Model, node: Node) -> Node:
        """``node`` as the store runs it: pattern conditions as the matching values of their
        column (client/patterns.py), conditions on one parent as its id (client/parents.py).
        Call it inside :meth:`StatementRunner.snapshot` with the statement that uses it."""
        return self.parents.rewrite(model, self.patterns.rewrite(model, node))

    def _parent_ids(self, model: Model, node: Node) -> list[str]:
        """The ids of at most two objects matching an already rewritten ``node``."""

        def build(shape: Node) -> Select[Any]:
            return page_statement(self.compiler, model, shape, [], limit=1, columns=["id"])

        return [row[0] for row in self._run_shaped(model, node, ("parent ids",), build)]

    def _run(
        self, model: Model, node: Node, key: Hashable, build: Callable[[Node], Select[Any]]
    ) -> list[tuple[Any, ...]]:
        """The rows of the statement ``build`` makes for ``node``, after the lookups its
        rewriting needs, all in one read transaction."""
        with self.statements.snapshot():
            return self._run_shaped(model, self.rewrite(model, node), key, build)

    def _run_shaped(
        self, model: Model, node: Node, key: Hashable, build: Callable[[Node], Select[Any]]
    ) -> list[tuple[Any, ...]]:
        """The rows of the statement ``build`` makes for ``node``, built once per shape."""
        shape_key, shape, values = parameterize(node)
        full_key = (model.key, key, shape_key)
        with self._lock:
            entry = self._shapes.get(full_key)
            if entry is not None:
                self._shapes.move_to_end(full_key)
        if entry is None:
            stmt = build(shape)
            binds = slot_binds(stmt, len(values))
            if binds is None:  # a value the compiler kept apart: no shared statement
                return self.statements.rows(build(node))
            entry = (stmt, binds)
            with self._lock:
                self._shapes[full_key] = entry
                while len(self._shapes) > SHAPES:
                    self._shapes.popitem(last=False)
        stmt, binds = entry
        return self.statements.rows(stmt, bound_values(binds, values))

    def objects(self, model: Model, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The JSON form of the stored objects among ``ids``, by id."""
        table = self.tables(model)
        found: dict[str, dict[str, Any]] = {}
        with read_transaction(self.engine) as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = list(ids[start : start + CHUNK])
                for row in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                    found[row["id"]] = self._json(model, row)
        return found

    def count(self, parsed: ParsedQuery) -> int:
        def build(node: Node) -> Select[Any]:
            return count_statement(self.compiler, parsed.model, node)

        rows = self._run(parsed.model, parsed.node, ("count",), build)
        return int(rows[0][0]) if rows else 0

    def counts(self) -> dict[str, int]:
        with read_transaction(self.engine) as conn:
            return {m.key: count_rows(conn, self.compiler, m) for m in self.registry}

    def tags_of(self, location: str) -> list[dict[str, Any]] | None:
        """The tags of a stored object as ``list_tags`` gives them, or None if it is not here."""
        if self.get(location) is None:
            return None
        key, ident = split_location(location)
        table = self.tables.metadata.tables["object_tag"]
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(table.c.tag, table.c.scope)
                .where(table.c.model == key, table.c.object_id == ident)
                .order_by(table.c.scope, table.c.tag)
            ).all()
        return [{"tag": tag, "project": scope or None} for tag, scope in rows]

    def paths(self, read: Callable[[PathView, Any], T]) -> T:
        """``read(view, connection)`` on the replica's folders and path entries, in one
        snapshot; the view is the server's own path reader, scoped to what is stored."""
        with read_transaction(self.engine) as conn:
            return read(PathView(self.tables), conn)

    def _json(self, model: Any, row: Mapping[Any, Any]) -> dict[str, Any]:
        return row_to_json(model, row, self.registry.parent_keys(model))


class JoinedIds(Sequence[str]):
    """An answer's ids as SQLite joined them: counted at once, split when first read (a
    caller that only counts them, or never makes their objects, pays no string per id)."""

    __slots__ = ("_ids", "_length", "_text")

    def __init__(self, text: str | None) -> None:
        self._text = text or ""
        self._length = self._text.count(ID_SEPARATOR) + 1 if self._text else 0
        self._ids: list[str] | None = None

    def split(self) -> list[str]:
        if self._ids is None:
            self._ids = self._text.split(ID_SEPARATOR) if self._text else []
        return self._ids

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.split()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.split())

    def __repr__(self) -> str:
        return f"JoinedIds({self.split()!r})"


@dataclass(frozen=True)
class StoreLook:
    """What a store file holds, read in one go: its table and index names, format, models."""

    names: frozenset[str]
    format: str | None
    models: str | None


def look(path: Path, conn: sqlite3.Connection | None = None) -> StoreLook | str | None:
    """What the store at ``path`` holds; why it cannot be used (text); or None (no store, or
    one being made by another process, whose transaction shows nothing until it commits).

    Read through ``conn`` (a read-only connection to ``path``, left open) when given.
    """
    if not path.exists():
        return None
    try:
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(contextlib.closing(read_only_connection(path)))
            # Cheap checks only: reading the schema fails on a file that is not SQLite.
            # (PRAGMA quick_check read every page: ~1 s per 400 MiB on every open.)
            names = frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master"))
            if not names:
                return None
            if "store_meta" not in names:
                return "it is not a labstore store"
            meta = dict(
                conn.execute("SELECT key, value FROM store_meta WHERE key IN ('format', 'models')")
            )
    except (sqlite3.Error, DatabaseError) as exc:
        return f"it is unreadable ({exc})"
    known = meta.get("format")
    if known is None or not str(known).isdigit():
        return "it has no format version"
    if int(known) > FORMAT_VERSION:
        return f"a newer labstore wrote it (format {known}, this one reads {FORMAT_VERSION})"
    return StoreLook(names, str(known), meta.get("models"))


def read_registry(path: Path) -> Registry | None:
    """The server models a store was made with, or None if it holds none."""
    found = look(path)
    if not isinstance(found, StoreLook) or found.models is None:
        return None
    return Registry.from_json(json.loads(found.models))


def models_text(registry: Registry) -> str:
    """The models as a store keeps them (and compares them with the server's)."""
    return json.dumps(registry.to_json(), sort_keys=True)


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that can only read the store (any thread may use it)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA case_sensitive_like=ON")  # as the store's engine: the compiler needs it
    return conn


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        conn.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


@contextlib.contextmanager
def _collections_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the store's schema objects are built.

    Building the tables makes thousands of long-lived objects; each collection it triggers
    also walks everything imported before (SQLAlchemy's own objects), which measured half of
    the time of opening a store. Nothing built here is garbage, so nothing is lost by waiting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split(location: str) -> dict[str, str]:
    model, ident = split_location(location)
    return {"model": model, "object_id": ident}


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()

"""The change feed: what changed since a cursor, as one user sees it.

Writes note the objects they touch (:func:`record`); when the writing transaction is about to
commit, :func:`flush` gives them sequence numbers from ``change_counter`` and keeps one
``change_log`` row per object, at its latest change. Taking the counter is an UPDATE of its
single row, whose lock is held until commit: a transaction that takes numbers after another
cannot commit before it. So a reader that has seen sequence N has seen every change up to N,
on PostgreSQL as on SQLite (where writers are serialised anyway), and no change is skipped
when transactions commit out of order.

The feed (:func:`read_feed`) answers changed objects the reader may now see, in full, and, for
the others, removal tokens: ``sha256("<user id>:<location>")[:32]``. A replica holding that
object recognises the token and drops it; a reader who never saw it learns nothing, not even
its id. Access changes are recorded for every object of the access group; a change of project
membership moves the user's epoch, and a cursor of an older epoch asks for a rebuild.

Tags and paths travel with their object: tagging, filing or unfiling an object records it, and
each page carries the tags (``tags``) and path entries (``paths``) of the objects it sends, in
full, so they reach exactly the readers who may see the object. Folders belong to a project
and are seen by its members: a change to a project's folders records the project object, and
a page sending a project carries all its folders (``folders``) to readers who may see them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, update

from labstore.errors import Conflict, InvalidInput

if TYPE_CHECKING:  # the database itself calls flush(): no import cycle at run time
    from labstore.server.database import Database
    from labstore.server.reads import Reader

_PENDING = "labstore_changes"
CHUNK = 500
PROJECT = "core/project"


def record(conn: Connection, model_key: str, ids: Iterable[str]) -> None:
    """Note that objects changed (created, updated, deleted or re-shared) in this transaction."""
    pending: dict[tuple[str, str], None] = conn.info.setdefault(_PENDING, {})
    for ident in ids:
        pending.pop((model_key, ident), None)  # re-insert: order follows the latest change
        pending[(model_key, ident)] = None


def record_group(conn: Connection, db: Database, group: str) -> None:
    """Note every object of an access group (their access changed)."""
    for model in db.registry:
        table = db.tables(model)
        ids = conn.execute(select(table.c.id).where(table.c.access_group == group)).scalars()
        record(conn, model.key, list(ids))


def record_folders(conn: Connection, db: Database, projects: Iterable[str]) -> None:
    """Note that the folders of projects (by name) changed: their project objects carry them."""
    names = sorted(set(projects))
    if not names:
        return
    table = db.tables(db.registry.model(PROJECT))
    ids = conn.execute(select(table.c.id).where(table.c.name.in_(names))).scalars()
    record(conn, PROJECT, list(ids))


def flush(conn: Connection, db: Database) -> None:
    """Number and log the noted changes; call last in the transaction, just before commit."""
    pending: dict[tuple[str, str], None] = conn.info.pop(_PENDING, {})
    if not pending:
        return
    counter = db.table("change_counter")
    log = db.table("change_log")
    end = conn.execute(
        update(counter)
        .where(counter.c.id == 1)
        .values(value=counter.c.value + len(pending))
        .returning(counter.c.value)
    ).scalar_one()
    by_model: dict[str, list[str]] = {}
    for model_key, ident in pending:
        by_model.setdefault(model_key, []).append(ident)
    for model_key, ids in by_model.items():
        for start in range(0, len(ids), CHUNK):
            conn.execute(
                delete(log).where(
                    log.c.model == model_key, log.c.object_id.in_(ids[start : start + CHUNK])
                )
            )
    first = end - len(pending) + 1
    conn.execute(
        log.insert(),
        [
            {"seq": first + i, "model": model_key, "object_id": ident}
            for i, (model_key, ident) in enumerate(pending)
        ],
    )


def discard(conn: Connection) -> None:
    """Forget noted changes (the transaction is rolling back)."""
    conn.info.pop(_PENDING, None)


def bump_epoch(conn: Connection, db: Database, username: str) -> None:
    """What ``username`` may see changed wholesale: their replicas must be rebuilt."""
    epochs = db.table("feed_epoch")
    done = conn.execute(
        update(epochs).where(epochs.c.username == username).values(epoch=epochs.c.epoch + 1)
    )
    if done.rowcount == 0:
        conn.execute(epochs.insert().values(username=username, epoch=1))


def server_id(conn: Connection, db: Database) -> str:
    table = db.table("deployment")
    value = conn.execute(select(table.c.value).where(table.c.key == "server_id")).scalar()
    return str(value)


def _epoch(conn: Connection, db: Database, username: str) -> int:
    epochs = db.table("feed_epoch")
    value = conn.execute(select(epochs.c.epoch).where(epochs.c.username == username)).scalar()
    return int(value or 0)


def removal_token(user_id: str, location: str) -> str:
    """How the feed names an object that left (or never was in) the reader's view."""
    return hashlib.sha256(f"{user_id}:{location}".encode()).hexdigest()[:32]


def _parse_cursor(cursor: str | None, server: str, epoch: int) -> int:
    if not cursor:
        return 0
    parts = cursor.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidInput("since: not a cursor of the change feed", {"path": "since"})
    if parts[0] != server:
        raise InvalidInput(
            "since: the cursor comes from another server (or a restored copy): rebuild the "
            "local store",
            {"path": "since", "resync": True},
        )
    if int(parts[1]) != epoch:
        raise Conflict(
            "what you may see has changed (a project membership): rebuild the local store",
            {"resync": True},
        )
    return int(parts[2])


def read_feed(conn: Connection, reader: Reader, cursor: str | None, limit: int) -> dict[str, Any]:
    """Changes after ``cursor``: ``objects`` now visible, ``removed`` tokens, ``next``, ``more``.

    Raises:
        InvalidInput: The cursor is malformed or from another server.
        Conflict: The reader's view changed wholesale; ``details["resync"]`` is true.
    """
    db = reader.db
    server = server_id(conn, db)
    epoch = _epoch(conn, db, reader.principal.username)
    since = _parse_cursor(cursor, server, epoch)
    log = db.table("change_log")
    rows = conn.execute(
        select(log.c.seq, log.c.model, log.c.object_id)
        .where(log.c.seq > since)
        .order_by(log.c.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # The cursor moves only past rows served: reading where the log ends in a second
    # statement could step over a transaction that commits in between.
    last = rows[-1].seq if rows else since
    by_model: dict[str, list[str]] = {}
    for row in rows:
        by_model.setdefault(row.model, []).append(row.object_id)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for model_key, ids in by_model.items():
        if model_key not in db.registry:
            continue
        model = db.registry.model(model_key)
        table = db.tables(model)
        for start in range(0, len(ids), CHUNK):
            visible = conn.execute(
                select(table).where(
                    table.c.id.in_(ids[start : start + CHUNK]), reader.visible(model, table)
                )
            ).mappings()
            for item in visible:
                found[(model_key, item["id"])] = reader.to_json(model, item)
    objects, removed = [], []
    for row in rows:
        data = found.get((row.model, row.object_id))
        if data is not None:
            objects.append(data)
        else:
            removed.append(removal_token(reader.principal.id, f"{row.model}/{row.object_id}"))
    return {
        "objects": objects,
        "removed": removed,
        **_organisation(conn, reader, objects),
        "next": f"{server}.{epoch}.{last}",
        "more": more,
    }


def _organisation(
    conn: Connection, reader: Reader, objects: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """The tags and path entries of the objects sent (all visible to the reader), and the
    folders of the projects sent whose folders the reader may see."""
    from labstore.server.paths import may_see_folders  # paths imports writes, which import us

    db = reader.db
    tags_table, entries = db.table("object_tag"), db.table("path_entry")
    tags: list[dict[str, Any]] = []
    paths: list[dict[str, Any]] = []
    by_model: dict[str, list[str]] = {}
    for data in objects:
        by_model.setdefault(data["model"], []).append(data["id"])
    for model_key, ids in by_model.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for tag in conn.execute(
                select(tags_table.c.object_id, tags_table.c.tag, tags_table.c.scope)
                .where(tags_table.c.model == model_key, tags_table.c.object_id.in_(chunk))
                .order_by(tags_table.c.object_id, tags_table.c.scope, tags_table.c.tag)
            ):
                location = f"{model_key}/{tag.object_id}"
                tags.append({"location": location, "tag": tag.tag, "project": tag.scope or None})
            for entry in conn.execute(
                select(entries.c.object_id, entries.c.folder, entries.c.name).where(
                    entries.c.model == model_key, entries.c.object_id.in_(chunk)
                )
            ):
                location = f"{model_key}/{entry.object_id}"
                paths.append({"location": location, "folder": entry.folder, "name": entry.name})
    projects = [
        str(d["name"])
        for d in objects
        if d["model"] == PROJECT and may_see_folders(reader.principal, str(d["name"]))
    ]
    folders: list[dict[str, Any]] = []
    if projects:
        table = db.table("folder")
        found = conn.execute(
            select(table.c.project, table.c.path, table.c.owner, table.c.created)
            .where(table.c.project.in_(projects))
            .order_by(table.c.path)
        ).all()
        for project in projects:
            folders.append(
                {
                    "project": project,
                    "folders": [
                        {"path": f.path, "owner": f.owner, "created": f.created.isoformat()}
                        for f in found
                        if f.project == project
                    ],
                }
            )
    return {"tags": tags, "paths": paths, "folders": folders}

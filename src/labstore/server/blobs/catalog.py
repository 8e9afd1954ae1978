"""The database's record of blobs: which exist, who sent them, which objects refer to them.

A user may read a blob when they sent its bytes, when an object they may read refers to it,
or when they are an administrator; to everyone else it does not exist (404). Writing an
object that refers to a blob needs the same right, so a guessed hash grants nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, exists, select

from labstore.errors import InvalidInput, NotFound
from labstore.schema.blobs import FILE_MODEL, blob_references, is_sha256
from labstore.schema.types import Model
from labstore.server.inserts import insert_missing
from labstore.server.reads import Reader
from labstore.store.records import utcnow


class BlobCatalog:
    """Blob records as one principal sees them (through their :class:`Reader`)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.principal = reader.principal
        self.blobs = reader.db.table("blob")
        self.owners = reader.db.table("blob_owner")
        self.refs = reader.db.table("blob_ref")

    def record(self, conn: Connection, sha256: str, size: int) -> bool:
        """Note that the principal sent blob ``sha256``; returns whether it is new."""
        new = (
            conn.execute(select(self.blobs.c.sha256).where(self.blobs.c.sha256 == sha256)).first()
            is None
        )
        insert_missing(conn, self.blobs, [{"sha256": sha256, "size": size, "created": utcnow()}])
        insert_missing(conn, self.owners, [{"sha256": sha256, "username": self.principal.username}])
        return new

    def size(self, conn: Connection, sha256: str) -> int | None:
        """The size of blob ``sha256`` if it exists and the principal may read it."""
        found = conn.execute(
            select(self.blobs.c.size).where(self.blobs.c.sha256 == sha256)
        ).scalar()
        if found is None or not self.readable(conn, sha256):
            return None
        return int(found)

    def require_size(self, conn: Connection, sha256: str) -> int:
        """Like :meth:`size`, raising NotFound (the same for unknown and unreadable blobs)."""
        size = self.size(conn, sha256) if is_sha256(sha256) else None
        if size is None:
            raise NotFound(f"no blob {sha256}", {"sha256": sha256})
        return size

    def readable(self, conn: Connection, sha256: str) -> bool:
        if self.principal.is_admin:
            return True
        if not self.principal.anonymous:
            sent = conn.execute(
                select(
                    exists().where(
                        self.owners.c.sha256 == sha256,
                        self.owners.c.username == self.principal.username,
                    )
                )
            ).scalar()
            if sent:
                return True
        models = conn.execute(
            select(self.refs.c.model).where(self.refs.c.sha256 == sha256).distinct()
        ).scalars()
        registry = self.reader.registry
        for key in list(models):
            if key not in registry:
                continue
            model = registry.model(key)
            table = self.reader.db.tables(model)
            referring = select(self.refs.c.object_id).where(
                self.refs.c.sha256 == sha256, self.refs.c.model == key
            )
            condition = table.c.id.in_(referring) & self.reader.visible(model, table)
            if conn.execute(select(exists().where(condition))).scalar():
                return True
        return False

    def check_references(
        self, conn: Connection, model: Model, values: dict[str, Any], prefix: str
    ) -> dict[str, str | None]:
        """The blob each blob field of ``values`` refers to, every one checked.

        For ``core/file`` a missing ``size`` is filled in from the blob.

        Raises:
            InvalidInput: A reference is not a sha256, or names a blob that does not exist
                or that the principal may not read (the same message for both), or a file's
                size differs from its blob's.
        """
        found = blob_references(model, values)
        for field, sha256 in found.items():
            if sha256 is None:
                continue
            where = f"{prefix}{field}"
            if not is_sha256(sha256):
                raise InvalidInput(
                    f"{where}: {sha256!r} is not a sha256 (64 lowercase hex digits)",
                    {"path": where},
                )
            size = self.size(conn, sha256)
            if size is None:
                raise InvalidInput(
                    f"{where}: no blob {sha256} that you may read: upload its content first",
                    {"path": where, "sha256": sha256},
                )
            if model.key == FILE_MODEL and field == "sha256":
                self._check_file_size(values, size, prefix)
        return found

    @staticmethod
    def _check_file_size(values: dict[str, Any], size: int, prefix: str) -> None:
        if values.get("size") is None:
            values["size"] = size
        elif values["size"] != size:
            raise InvalidInput(
                f"{prefix}size: the blob has {size} bytes, not {values['size']}",
                {"path": f"{prefix}size", "blob_size": size},
            )

    def set_references(
        self, conn: Connection, model: Model, ident: str, found: Mapping[str, str | None]
    ) -> None:
        """Make the reference index say what ``found`` (from check_references) says."""
        if not found:
            return
        conn.execute(
            delete(self.refs).where(
                self.refs.c.model == model.key,
                self.refs.c.object_id == ident,
                self.refs.c.field.in_(list(found)),
            )
        )
        rows = [
            {"model": model.key, "object_id": ident, "field": field, "sha256": sha256}
            for field, sha256 in found.items()
            if sha256 is not None
        ]
        if rows:
            conn.execute(self.refs.insert(), rows)

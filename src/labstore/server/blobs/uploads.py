"""Chunked, resumable uploads: ``/api/uploads``.

A client announces a blob (sha256 and size) and a chunk size, sends the chunks in any order
and as often as it needs (each with its own sha256), asks which arrived, and completes: only
a whole that hashes to the announced sha256 is moved into blob storage. An upload belongs to
the user who started it (to anyone else it does not exist) and is forgotten, with its staged
bytes, once it expires. Starting an upload of a blob this user already has one running for
returns that upload, so a client that restarted learns from the server which chunks it
still has to send.

Each byte is hashed once on the server: into the whole upload's running hash
(:mod:`.running`), as the chunks arrive. A chunk's own sha256 is recorded, not checked on
arrival (that would be a second pass over every byte); when the whole does not match,
completing hashes each staged chunk, drops those that differ from the sha256 sent with them
and answers 409 naming them, so the client sends only those again. Nothing is stored until
the whole matches.

Chunks are written at their offset into one staging file per upload (``DATA_DIR/uploads``),
so completing moves a single file into place instead of copying every chunk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, delete, select

from labstore.errors import Conflict, InvalidInput, NotFound
from labstore.schema.blobs import is_sha256
from labstore.server.blobs.catalog import BlobCatalog
from labstore.server.blobs.running import RunningHashes, chunk_digests
from labstore.server.blobs.storage import BlobStorage, ChecksumMismatch
from labstore.server.database import Database
from labstore.server.inserts import insert_missing
from labstore.server.reads import Reader
from labstore.store.records import new_id, utcnow

log = logging.getLogger("labstore.server.uploads")
MIN_CHUNK = 64 * 1024
DEFAULT_CHUNK = 8 * 1024 * 1024
# Held while a piece is written into a staged file. Chunks of one upload arrive together and
# land in one file, whose writes the kernel serializes anyway, spinning the waiting CPUs;
# threads waiting for this lock sleep instead, leaving the CPU to the network and hashing.
# Striped by upload, so different uploads (other files) never wait for each other.
_WRITING = tuple(threading.Lock() for _ in range(64))


def _writing_lock(ident: str) -> threading.Lock:
    return _WRITING[hash(ident) % len(_WRITING)]


@dataclass(frozen=True)
class UploadRules:
    staging: Path
    expiry: dt.timedelta
    max_chunk: int


class Uploads:
    """The chunked uploads of one principal."""

    def __init__(
        self,
        db: Database,
        storage: BlobStorage,
        rules: UploadRules,
        reader: Reader,
        hashes: RunningHashes,
    ) -> None:
        self.db = db
        self.storage = storage
        self.hashes = hashes
        self.rules = rules
        self.reader = reader
        self.user = reader.principal.username
        self.uploads = db.table("upload")
        self.chunks = db.table("upload_chunk")

    # starting ---------------------------------------------------------------------------
    def start(self, body: Any) -> tuple[dict[str, Any], bool]:
        """Start (or find the running) upload of a blob; returns its description, and
        whether it is new.

        Raises:
            InvalidInput: The body is not ``{"sha256", "size", "chunk_size"?}`` with sane values.
        """
        sha256, size, chunk_size = self._parse_start(body)
        self.sweep()
        with self.db.write() as conn:
            found = conn.execute(
                select(self.uploads).where(
                    self.uploads.c.username == self.user,
                    self.uploads.c.sha256 == sha256,
                    self.uploads.c.size == size,
                    self.uploads.c.expires > utcnow(),
                )
            ).first()
            if found is not None and self._staged(found.id).exists():
                return self._describe(conn, found), False
            ident = new_id()
            now = utcnow()
            row = {
                "id": ident,
                "username": self.user,
                "sha256": sha256,
                "size": size,
                "chunk_size": chunk_size,
                "created": now,
                "expires": now + self.rules.expiry,
            }
            self.rules.staging.mkdir(parents=True, exist_ok=True)
            with self._staged(ident).open("wb") as staged:
                staged.truncate(size)  # sparse: chunks land at their offsets
            conn.execute(self.uploads.insert().values(**row))
            return self._describe(conn, self._row(conn, ident)), True

    def _parse_start(self, body: Any) -> tuple[str, int, int]:
        if not isinstance(body, Mapping):
            raise InvalidInput(
                'body: expected {"sha256": HEX, "size": BYTES, "chunk_size": BYTES}',
                {"path": "body"},
            )
        sha256 = body.get("sha256")
        if not is_sha256(sha256):
            raise InvalidInput(
                "sha256: expected the sha256 of the whole content (64 lowercase hex digits)",
                {"path": "sha256"},
            )
        size = _whole_number(body.get("size"), "size", minimum=0)
        chunk_size = _whole_number(
            body.get("chunk_size", DEFAULT_CHUNK), "chunk_size", minimum=MIN_CHUNK
        )
        if chunk_size > self.rules.max_chunk:
            raise InvalidInput(
                f"chunk_size: at most {self.rules.max_chunk} bytes",
                {"path": "chunk_size", "max": self.rules.max_chunk},
            )
        return str(sha256), size, chunk_size

    # asking -----------------------------------------------------------------------------
    def describe(self, ident: str) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            return self._describe(conn, self._row(conn, ident))

    def _row(self, conn: Connection, ident: str) -> Row[Any]:
        """The caller's unexpired upload ``ident``.

        Raises:
            NotFound: No such upload, another user's, or an expired one (the same answer).
        """
        row = conn.execute(
            select(self.uploads).where(
                self.uploads.c.id == ident,
                self.uploads.c.username == self.user,
                self.uploads.c.expires > utcnow(),
            )
        ).first()
        if row is None:
            raise NotFound(
                f"no upload {ident!r}: it does not exist, is not yours, or expired",
                {"upload": ident},
            )
        return row

    def _describe(self, conn: Connection, row: Row[Any]) -> dict[str, Any]:
        received = conn.execute(
            select(self.chunks.c.number)
            .where(self.chunks.c.upload_id == row.id)
            .order_by(self.chunks.c.number)
        ).scalars()
        return {
            "id": row.id,
            "sha256": row.sha256,
            "size": row.size,
            "chunk_size": row.chunk_size,
            "chunks": _chunk_count(row.size, row.chunk_size),
            "received": list(received),
            "expires": row.expires.isoformat().replace("+00:00", "Z"),
        }

    # sending ----------------------------------------------------------------------------
    def put_chunk(
        self, ident: str, number: int, sha256: str | None, body: Iterable[list[bytes]]
    ) -> bool:
        """Write chunk ``number`` of upload ``ident`` (``body``: its bytes as lists of pieces)
        and record the sha256 sent with it; returns whether it is new (a chunk sent again is
        read and left as it was).

        Raises:
            NotFound: No such upload of the caller.
            InvalidInput: No or a malformed chunk sha256, a number out of range, a wrong
                length. Nothing is recorded.
        """
        if not is_sha256(sha256):
            raise InvalidInput(
                "X-Chunk-Sha256: send the sha256 of the chunk (64 lowercase hex digits)",
                {"path": "X-Chunk-Sha256"},
            )
        with self.db.engine.connect() as conn:
            row = self._row(conn, ident)
            done = conn.execute(
                select(self.chunks.c.number).where(
                    self.chunks.c.upload_id == ident, self.chunks.c.number == number
                )
            ).first()
        count = _chunk_count(row.size, row.chunk_size)
        if not 0 <= number < count:
            raise InvalidInput(
                f"chunk {number} is out of range: this upload has chunks 0 to {count - 1}",
                {"path": "number", "chunks": count},
            )
        offset = number * row.chunk_size
        expected = min(row.chunk_size, row.size - offset)
        batches = _at_most(body, expected, number)
        # Bytes of a chunk that arrived before are not written again: the running hash may
        # have read them already.
        length = sum(map(_length, batches)) if done else self._write_at(ident, offset, batches)
        if length != expected:
            raise InvalidInput(
                f"chunk {number} has {length} bytes; it must have {expected}",
                {"path": "body", "expected": expected},
            )
        with self.db.write() as conn:
            self._row(conn, ident)  # still there (not completed or expired meanwhile)
            insert_missing(
                conn,
                self.chunks,
                [{"upload_id": ident, "number": number, "sha256": sha256, "size": expected}],
            )
            received = set(
                conn.execute(
                    select(self.chunks.c.number).where(self.chunks.c.upload_id == ident)
                ).scalars()
            )
        self.hashes.advance(ident, self._staged(ident), row.chunk_size, row.size, received)
        return done is None

    def _write_at(self, ident: str, offset: int, batches: Iterable[list[bytes]]) -> int:
        """Write ``batches`` into the staged file from ``offset``; returns how many bytes."""
        try:
            fd = os.open(self._staged(ident), os.O_WRONLY)
        except FileNotFoundError:
            raise NotFound(f"no upload {ident!r}", {"upload": ident}) from None
        written = 0
        try:
            lock = _writing_lock(ident)
            for batch in batches:
                with lock:
                    written += _write_batch(fd, batch, offset + written)
        finally:
            os.close(fd)
        return written

    # finishing --------------------------------------------------------------------------
    def complete(self, ident: str) -> tuple[dict[str, Any], bool]:
        """Verify the whole content and store it as a blob; returns ``{sha256, size}`` and
        whether the blob is new to the caller.

        Raises:
            Conflict: Chunks are missing (``details["missing"]`` lists them), also because
                they did not match the sha256 sent with them and were dropped
                (``details["damaged"]``); send those again, then complete.
            ChecksumMismatch: The whole does not hash to the upload's sha256 although every
                chunk matches its own; the upload is dropped and nothing is stored.
        """
        with self.db.engine.connect() as conn:
            row = self._row(conn, ident)
            info = self._describe(conn, row)
        missing = sorted(set(range(info["chunks"])) - set(info["received"]))
        if missing:
            raise Conflict(
                f"upload {ident} is missing {len(missing)} chunks: send them, then complete",
                {"missing": missing[:1000]},
            )
        staged = self._staged(ident)
        try:
            hashed = self.hashes.finish(
                ident, staged, row.chunk_size, row.size, set(info["received"])
            )
            if hashed != row.sha256:
                self._refuse(row)
            size = self.storage.write_file(row.sha256, staged, verified=True)
        except FileNotFoundError:
            raise Conflict(f"upload {ident} is being completed by another request") from None
        finally:
            self.hashes.forget(ident)
        catalog = BlobCatalog(self.reader)
        with self.db.write() as conn:
            known = catalog.size(conn, row.sha256) is not None
            catalog.record(conn, row.sha256, size)
            conn.execute(delete(self.uploads).where(self.uploads.c.id == ident))
        return {"sha256": row.sha256, "size": size}, not known

    def _refuse(self, row: Row[Any]) -> None:
        """The running hash of upload ``row`` does not match: hash the staged file again,
        whole and per chunk, and find out why. Returns only when the file is right after
        all (a chunk's bytes were rewritten after the running hash read them).

        Raises:
            Conflict: Chunks differ from the sha256 sent with them; they are dropped.
            ChecksumMismatch: Every chunk matches its sha256 but the whole does not match
                the upload's; the upload is dropped.
        """
        whole, found = chunk_digests(self._staged(row.id), row.chunk_size, row.size)
        if whole == row.sha256:
            return
        with self.db.engine.connect() as conn:
            sent = {
                number: digest
                for number, digest in conn.execute(
                    select(self.chunks.c.number, self.chunks.c.sha256).where(
                        self.chunks.c.upload_id == row.id
                    )
                )
            }
        damaged = [number for number, digest in enumerate(found) if sent.get(number) != digest]
        if not damaged:
            self.abort(row.id)
            raise ChecksumMismatch(
                f"the content hashes to {whole}, not {row.sha256}: nothing was stored; "
                "start the upload again",
                {"expected": row.sha256, "found": whole},
            )
        with self.db.write() as conn:
            self._row(conn, row.id)
            conn.execute(
                delete(self.chunks).where(
                    self.chunks.c.upload_id == row.id, self.chunks.c.number.in_(damaged)
                )
            )
        raise Conflict(
            f"upload {row.id}: {len(damaged)} chunks do not hash to the sha256 sent with them "
            "(changed on the way); they were dropped: send them again, then complete",
            {"missing": damaged[:1000], "damaged": damaged[:1000]},
        )

    def abort(self, ident: str) -> None:
        """Forget upload ``ident`` and its staged bytes.

        Raises:
            NotFound: No such upload of the caller.
        """
        with self.db.write() as conn:
            self._row(conn, ident)
            self._drop(conn, [ident])

    def sweep(self) -> int:
        """Drop every expired upload (of any user); returns how many."""
        with self.db.write() as conn:
            expired = list(
                conn.execute(
                    select(self.uploads.c.id).where(self.uploads.c.expires <= utcnow())
                ).scalars()
            )
            self._drop(conn, expired)
        if expired:
            log.info("dropped %d expired uploads", len(expired))
        return len(expired)

    def _drop(self, conn: Connection, idents: list[str]) -> None:
        if not idents:
            return
        conn.execute(delete(self.chunks).where(self.chunks.c.upload_id.in_(idents)))
        conn.execute(delete(self.uploads).where(self.uploads.c.id.in_(idents)))
        for ident in idents:
            self.hashes.forget(ident)
            with contextlib.suppress(FileNotFoundError):
                self._staged(ident).unlink()

    def _staged(self, ident: str) -> Path:
        return self.rules.staging / f"{ident}.part"


def _chunk_count(size: int, chunk_size: int) -> int:
    return max(1, math.ceil(size / chunk_size))


def _whole_number(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(
            f"{name}: expected a whole number of bytes, at least {minimum}", {"path": name}
        )
    return value


def _length(batch: list[bytes]) -> int:
    return sum(map(len, batch))


def _write_batch(fd: int, batch: list[bytes], offset: int) -> int:
    """Write the pieces of ``batch`` at ``offset`` with one system call (no joining copy);
    returns how many bytes."""
    length = _length(batch)
    written = os.pwritev(fd, batch, offset)
    if written < length:  # a short write (a full disk raises instead): write the rest
        rest = memoryview(b"".join(batch))
        while written < length:
            written += os.pwrite(fd, rest[written:], offset + written)
    return length


def _at_most(batches: Iterable[list[bytes]], limit: int, number: int) -> Iterable[list[bytes]]:
    """``batches``, refusing as soon as they pass ``limit`` bytes (before writing them)."""
    total = 0
    for batch in batches:
        total += _length(batch)
        if total > limit:
            raise InvalidInput(
                f"chunk {number} is longer than {limit} bytes", {"path": "body", "expected": limit}
            )
        yield batch

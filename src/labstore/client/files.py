"""``Session.upload`` and ``Session.download``: files as ``core/file`` objects over blobs.

The bytes travel through :class:`~labstore.client.blobs.BlobClient` (streamed, chunked and
resumable, hash-checked both ways); the ``core/file`` object records the name, size, content
type and sha256, and whoever may read the object may read the bytes.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from labstore.client.blobs import BlobClient, BlobSource
from labstore.client.interfaces import ModelInterface
from labstore.client.objects import LabObject
from labstore.client.uploads import Progress
from labstore.errors import InvalidInput

FILE_MODEL = "core/file"


class _SessionCore(Protocol):
    """The parts of a Session the mixin builds on."""

    @property
    def blobs(self) -> BlobClient: ...

    def model_interface(self, name: str) -> ModelInterface: ...

    def set(
        self, entity: LabObject, avoid_collisions: bool = False, recursive: bool = False
    ) -> Any: ...

    def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any: ...

    def create_paths(self, *paths: str) -> list[str]: ...

    def assign_paths(self, *assignments: Any) -> list[dict[str, Any]]: ...


def _source_name(source: BlobSource) -> str | None:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else None


class FilesMixin:
    """File upload and download on a :class:`Session`."""

    def upload(
        self: _SessionCore,
        path_or_file: str | os.PathLike[str] | BinaryIO | bytes,
        dest_path: str | None = None,
        *,
        progress: Progress | None = None,
        **fields: Any,
    ) -> LabObject:
        """Upload a file's content and record it as a ``core/file`` object.

        Content the server already holds for you is not sent again; large files go in
        chunks, and calling ``upload`` again after an interruption sends only the chunks
        the server lacks.

        Args:
            path_or_file: A path, an open binary file, or bytes.
            dest_path: A folder (``"/project/folder"``, made if missing) to file it under.
            progress: Called with the number of bytes sent, piece by piece.
            fields: Fields of the file object (``name`` defaults to the file's name,
                ``content_type`` is guessed from it, ``project``, ``description``).

        Raises:
            InvalidInput: No name could be found (pass ``name=``), or a field is wrong.
        """
        name = fields.pop("name", None) or _source_name(path_or_file)
        if not name:
            raise InvalidInput("upload: this source has no file name; pass name='...'")
        fields.setdefault(
            "content_type", mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        sha256 = self.blobs.put(path_or_file, progress)
        record = self.model_interface(FILE_MODEL).new(name=name, sha256=sha256, **fields)
        stored: LabObject = self.set(record)
        if dest_path is not None:
            self.create_paths(dest_path)
            self.assign_paths({"location": stored.location, "path": dest_path, "name": name})
        return stored

    def download(
        self: _SessionCore,
        entity: LabObject | str,
        dest: str | os.PathLike[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Write a ``core/file``'s content to disk; returns the file written.

        Large files come in parallel Range requests; an interrupted download resumes from
        ``<dest>.part`` when called again. The content's sha256 is checked before ``dest``
        appears.

        Args:
            entity: A ``core/file`` object or its location.
            dest: A file or an existing folder (default: the current folder), where the
                file gets the object's name.
            progress: Called with the number of bytes received, piece by piece.

        Raises:
            InvalidInput: The object is not a file.
            NotFound: No such object or content, or one you may not read.
            TransportError: The content arrived corrupted (nothing is written).
        """
        obj = self.get(entity) if isinstance(entity, str) else entity
        if not isinstance(obj, LabObject) or obj.model_key != FILE_MODEL:
            raise InvalidInput("download: expected a core/file object or its location")
        sha256 = getattr(obj, "sha256", None)
        if not sha256:
            raise InvalidInput(f"download: {obj.location} has no content (no sha256)")
        name = Path(str(getattr(obj, "name", "") or sha256)).name
        target = Path(dest) if dest is not None else Path.cwd()
        if target.is_dir():
            target = target / name
        return self.blobs.download(str(sha256), target, progress=progress)

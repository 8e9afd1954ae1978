"""Arrays as blobs in ``.npy`` layout, and the field values that point at them.

A stored array is exactly what ``numpy.save`` writes: a header, then the elements in C order.
Its field value is ``{"sha256", "dtype", "shape", "offset"}``, where ``offset`` is the size of
the header, so element ``i`` starts at ``offset + i * itemsize`` and a slice along the first
axis is one byte range. Arrays go out without being copied: the upload streams the header and
then the array's own memory.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from numpy.lib import format as npy_format

from labstore.errors import InvalidInput


class BlobStore(Protocol):
    """Where arrays go and come from: the session's blob client, or a dict in tests."""

    def put(self, data: Any) -> str: ...

    def read(self, sha256: str, start: int | None = None, stop: int | None = None) -> bytes: ...


def npy_header(array: np.ndarray[Any, Any]) -> bytes:
    """The ``.npy`` header ``numpy.save`` writes for ``array`` (version 1.0, or 2.0 if large)."""
    header = npy_format.header_data_from_array_1_0(array)
    out = io.BytesIO()
    try:
        npy_format.write_array_header_1_0(out, header)
    except ValueError:  # a header too long for 1.0 (structured arrays with many fields)
        out = io.BytesIO()
        npy_format.write_array_header_2_0(out, header)
    return out.getvalue()


class NpyStream(io.RawIOBase):
    """A seekable, read-only file of an array in ``.npy`` layout, without copying the array."""

    def __init__(self, array: np.ndarray[Any, Any]) -> None:
        super().__init__()
        contiguous = np.ascontiguousarray(array)  # a copy only if it is not C-ordered already
        self.array = contiguous
        self._parts = (memoryview(npy_header(contiguous)), contiguous.data.cast("B"))
        self._size = len(self._parts[0]) + len(self._parts[1])
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        written = 0
        header, body = self._parts
        while written < len(target) and self._pos < self._size:
            part, start = (
                (header, self._pos) if self._pos < len(header) else (body, self._pos - len(header))
            )
            count = min(len(target) - written, len(part) - start)
            target[written : written + count] = part[start : start + count]
            written += count
            self._pos += count
        return written

    def __len__(self) -> int:
        return self._size


class UploadMemo:
    """A blob store that remembers the arrays it uploaded, so the objects a ``set()``
    returns share them instead of downloading them again."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}

    def put(self, data: Any) -> str:
        sha = self.blobs.put(data)
        if isinstance(data, NpyStream):
            self.arrays[sha] = data.array
        return sha

    def read(self, sha256: str, start: int | None = None, stop: int | None = None) -> bytes:
        return self.blobs.read(sha256, start, stop)

    def load(self, value: Mapping[str, Any]) -> np.ndarray[Any, Any]:
        known = self.arrays.get(str(value["sha256"]))
        return known if known is not None else load_array(self.blobs, value)


def store_array(blobs: BlobStore, array: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Upload ``array`` (once, whatever how often) and return the field value naming it.

    Raises:
        InvalidInput: An object array (it could only be read back with pickle).
    """
    if array.dtype.kind == "O":
        raise InvalidInput("arrays of Python objects cannot be stored; give them a numpy dtype")
    stream = NpyStream(array)
    sha = blobs.put(stream)
    value: dict[str, Any] = {
        "sha256": sha,
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "offset": len(npy_header(np.ascontiguousarray(array))),
    }
    if array.dtype.names is not None:  # a record array: its fields by name, in order
        value["fields"] = npy_format.dtype_to_descr(array.dtype)
    return value


def value_dtype(value: Mapping[str, Any]) -> np.dtype[Any]:
    if value.get("fields") is not None:
        fields: list[Any] = [tuple(f) for f in value["fields"]]
        return np.dtype(fields)
    return np.dtype(str(value["dtype"]))


def load_array(blobs: BlobStore, value: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    """The whole array a field value names."""
    return load_rows(blobs, value, 0, None)


def load_rows(
    blobs: BlobStore, value: Mapping[str, Any], start: int, stop: int | None
) -> np.ndarray[Any, Any]:
    """Rows ``start:stop`` (first axis) of a stored array, reading only their bytes."""
    dtype = value_dtype(value)
    shape = [int(n) for n in value["shape"]]
    rows = shape[0] if shape else 1
    stop = rows if stop is None else min(stop, rows)
    start = max(0, min(start, stop))
    row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    offset = int(value["offset"])
    count = stop - start
    if count == 0 or row_bytes == 0:
        return np.empty([count, *shape[1:]] if shape else [], dtype=dtype)
    sha = str(value["sha256"])
    if count == rows:  # the whole blob: one plain GET, which the blob cache keeps
        data, skip = blobs.read(sha), offset
    else:
        data, skip = blobs.read(sha, offset + start * row_bytes, offset + stop * row_bytes), 0
    # A view of the bytes read, not a copy: reading holds the data once.
    items = count * row_bytes // dtype.itemsize
    array = np.frombuffer(data, dtype=dtype, count=items, offset=skip)
    return array.reshape([count, *shape[1:]] if shape else [])

"""Min/max envelopes of array fields, for plotting long signals without sending them whole.

An array field's value names a blob in ``.npy`` layout (``{"sha256", "dtype", "shape",
"offset"}``, C order: row ``i`` starts at ``offset + i * row_bytes``). An envelope splits the
rows ``[start, stop)`` into ``points`` contiguous buckets and gives each bucket's minimum and
maximum of one channel (the columns of a row, flattened), so a plot of any zoom level needs
only as many numbers as it has pixels. The rows are read with Range reads of the blob, a
piece at a time. Ranges longer than ``max_bytes`` are sampled instead: each bucket then reads
only its first rows (``"exact": false`` says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from labstore.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

ReadRange = Callable[[int, int], bytes]  # bytes [start, stop) of the blob
MAX_POINTS = 10_000
DEFAULT_POINTS = 1000
PIECE_BYTES = 8 << 20  # read this much at a time: bounded memory whatever the range
MAX_BYTES = 256 << 20  # read at most this much for one envelope, sampling beyond it
_PLOTTABLE_KINDS = "biuf"  # bool, signed, unsigned, float


@dataclass(frozen=True)
class ArrayRef:
    """Where an array field's elements are in its blob."""

    sha256: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    offset: int

    @classmethod
    def from_value(cls, field: str, value: Any) -> ArrayRef:
        """The reference an array field's value makes.

        Raises:
            InvalidInput: Not a well-formed reference to a real-valued C-ordered array.
        """
        import numpy as np  # imported on first use: the server starts without it

        if not isinstance(value, Mapping) or not isinstance(value.get("sha256"), str):
            raise InvalidInput(f"{field}: holds no array reference", {"path": field})
        try:
            dtype = np.dtype(value.get("dtype"))
            shape = tuple(int(n) for n in value.get("shape", ()))
            offset = int(value.get("offset", 0))
        except (TypeError, ValueError):
            raise InvalidInput(f"{field}: a malformed array reference", {"path": field}) from None
        if dtype.kind not in _PLOTTABLE_KINDS:
            raise InvalidInput(
                f"{field}: an array of {dtype.str} has no numbers to plot", {"path": field}
            )
        if value.get("fortran_order"):
            raise InvalidInput(f"{field}: a Fortran-ordered array", {"path": field})
        return cls(value["sha256"], dtype, shape, offset)

    @property
    def length(self) -> int:
        """Rows: the first axis (a 0-d array is one row)."""
        return self.shape[0] if self.shape else 1

    @property
    def channels(self) -> int:
        """Values per row."""
        return math.prod(self.shape[1:]) if len(self.shape) > 1 else 1

    @property
    def row_bytes(self) -> int:
        return self.channels * self.dtype.itemsize


@dataclass(frozen=True)
class Window:
    """What part of an array an envelope covers, and how finely."""

    start: int
    stop: int
    points: int
    channel: int

    @classmethod
    def parse(cls, ref: ArrayRef, params: Mapping[str, str]) -> Window:
        """The window the query parameters ask for, checked against the array.

        Raises:
            InvalidInput: An unknown, non-integer or out-of-range parameter.
        """
        unknown = sorted(set(params) - {"start", "stop", "points", "channel"})
        if unknown:
            raise InvalidInput(
                f"{unknown[0]}: unknown parameter (use start, stop, points, channel)",
                {"path": unknown[0]},
            )
        start = _int_param(params, "start", 0, 0, ref.length)
        stop = _int_param(params, "stop", ref.length, start, ref.length)
        points = _int_param(params, "points", DEFAULT_POINTS, 1, MAX_POINTS)
        channel = _int_param(params, "channel", 0, 0, ref.channels - 1)
        return cls(start, stop, points, channel)


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(
            f"{name}: expected a whole number, got {raw!r}", {"path": name}
        ) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", {"path": name})
    return value


def envelope(
    read: ReadRange, ref: ArrayRef, window: Window, *, max_bytes: int = MAX_BYTES
) -> dict[str, Any]:
    """The min/max of each bucket of ``window``; bucket ``i`` covers rows
    ``[start + i*n//points, start + (i+1)*n//points)`` with ``n = stop - start``."""
    import numpy as np

    rows = window.stop - window.start
    points = min(window.points, rows)
    edges = window.start + (np.arange(points + 1, dtype=np.int64) * rows) // max(points, 1)
    lows = np.full(points, np.nan)
    highs = np.full(points, np.nan)
    exact = rows * ref.row_bytes <= max_bytes
    spans = [(window.start, window.stop)]
    if not exact:
        # Sampled: each bucket reads only its first rows, so the total stays under max_bytes.
        per_bucket = max(1, max_bytes // points // max(ref.row_bytes, 1))
        spans = [(int(a), min(int(b), int(a) + per_bucket)) for a, b in pairwise(edges)]
    for first, last in spans:
        for begin, values in _pieces(read, ref, window.channel, first, last):
            _fold(edges, begin, values, lows, highs)
    return {
        "start": window.start,
        "stop": window.stop,
        "length": ref.length,
        "channel": window.channel,
        "channels": ref.channels,
        "points": points,
        "exact": exact,
        "min": _json_numbers(lows),
        "max": _json_numbers(highs),
    }


def _pieces(
    read: ReadRange, ref: ArrayRef, channel: int, first: int, last: int
) -> Iterator[tuple[int, np.ndarray[Any, Any]]]:
    """The channel's values of rows ``[first, last)`` as float64, a piece at a time."""
    import numpy as np

    rows_per_piece = max(1, PIECE_BYTES // max(ref.row_bytes, 1))
    for begin in range(first, last, rows_per_piece):
        end = min(last, begin + rows_per_piece)
        data = read(ref.offset + begin * ref.row_bytes, ref.offset + end * ref.row_bytes)
        table = np.frombuffer(data, dtype=ref.dtype).reshape(end - begin, ref.channels)
        yield begin, table[:, channel].astype(np.float64)


def _fold(
    edges: np.ndarray[Any, Any],
    begin: int,
    values: np.ndarray[Any, Any],
    lows: np.ndarray[Any, Any],
    highs: np.ndarray[Any, Any],
) -> None:
    """Merge the min/max of consecutive rows starting at row ``begin`` into their buckets."""
    import numpy as np

    end = begin + len(values)
    first = int(np.searchsorted(edges, begin, side="right")) - 1
    last = int(np.searchsorted(edges, end - 1, side="right")) - 1
    cuts = np.maximum(edges[first : last + 1], begin) - begin
    # fmin/fmax skip NaN samples; a bucket of NaN only stays NaN (drawn as a gap).
    lows[first : last + 1] = np.fmin(lows[first : last + 1], np.fmin.reduceat(values, cuts))
    highs[first : last + 1] = np.fmax(highs[first : last + 1], np.fmax.reduceat(values, cuts))


def _json_numbers(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]

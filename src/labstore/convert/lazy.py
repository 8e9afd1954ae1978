"""Stored Neo data objects that load their arrays only when asked, as ``neo.io`` lazy mode does.

A data object fetched on its own comes back as a proxy: every attribute and annotation is
there, the arrays are not. ``proxy.load()`` reads them and returns the real Neo object;
``proxy.load(time_slice=(t0, t1))`` (or ``proxy.time_slice(t0, t1)``) of a regularly sampled
signal reads only the rows in that window, one HTTP Range request on the blob.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import neo
import numpy as np
import quantities as pq

from labstore.convert.annotation_values import decode_all
from labstore.convert.arrays import BlobStore, load_rows, value_dtype
from labstore.convert.neo_fields import eager_loader, from_fields

_CLASSES = {
    "analogsignal": neo.AnalogSignal,
    "irregularlysampledsignal": neo.IrregularlySampledSignal,
    "spiketrain": neo.SpikeTrain,
    "event": neo.Event,
    "epoch": neo.Epoch,
    "imagesequence": neo.ImageSequence,
}
# The array whose first axis is time, by model.
_MAIN_ARRAY = {"analogsignal": "signal", "imagesequence": "image_data"}
TimeSlice = tuple[pq.Quantity | None, pq.Quantity | None]


class LazyDataObject(neo.core.baseneo.BaseNeo):  # type: ignore[misc]
    """A stored Neo data object whose arrays stay on the server until :meth:`load`.

    Attributes:
        proxy_for: The Neo class :meth:`load` returns.
        location: Where it is stored.
        shape, dtype, units: Of its main array (signal, frames or times).
        t_start, t_stop, sampling_rate: As the Neo class has them, where it has them.
    """

    def __init__(self, record: Mapping[str, Any], blobs: BlobStore) -> None:
        model = str(record["model"]).split("/")[1]
        self.proxy_for = _CLASSES[model]
        self._model = model
        self._record = dict(record)
        self._blobs = blobs
        self._values: np.ndarray[Any, Any] | None = None
        super().__init__(
            name=record.get("name"),
            description=record.get("description"),
            file_origin=record.get("file_origin"),
        )
        self.annotations.update(decode_all(record.get("annotations")))
        self.location = str(record["location"])
        self.stored_version = record.get("version")
        main = record[_MAIN_ARRAY.get(model, "times")]
        self.shape = tuple(int(n) for n in main["shape"])
        self.dtype = value_dtype(main)
        self.units = pq.Quantity(1.0, record["units"])
        self.t_start = _quantity(record, "t_start")
        self.sampling_rate = _quantity(record, "sampling_rate")
        self.t_stop = _quantity(record, "t_stop")
        if model in _MAIN_ARRAY and self.t_start is not None and self.sampling_rate is not None:
            self.t_stop = self.t_start + (self.shape[0] / self.sampling_rate).rescale(
                self.t_start.units
            )

    def __repr__(self) -> str:
        return f"<Lazy {self.proxy_for.__name__} {self.location} shape={self.shape}>"

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        """The values (loaded on first use, then kept): ``np.asarray(proxy)`` works."""
        if self._values is None:
            self._values = np.asarray(self.load().magnitude)
        return self._values if dtype is None else self._values.astype(dtype)

    def load(self, time_slice: TimeSlice | None = None, **_: Any) -> Any:
        """The real Neo object; with ``time_slice``, only that window of it.

        Args:
            time_slice: ``(t_start, t_stop)`` quantities; either may be ``None`` (open end).
        """
        if time_slice is None:
            return from_fields(self._record, eager_loader(self._blobs))
        if self._model not in _MAIN_ARRAY:
            return from_fields(self._record, eager_loader(self._blobs)).time_slice(*time_slice)
        return self._window(*time_slice)

    def time_slice(self, t_start: pq.Quantity | None, t_stop: pq.Quantity | None) -> Any:
        """Same as ``load(time_slice=(t_start, t_stop))``."""
        return self.load(time_slice=(t_start, t_stop))

    def _window(self, t_start: pq.Quantity | None, t_stop: pq.Quantity | None) -> Any:
        """Only the rows that cover the window are read; Neo then cuts it exactly."""
        assert self.t_start is not None and self.sampling_rate is not None
        rows = self.shape[0]

        def row(t: pq.Quantity, rounding: Any) -> int:
            offset = ((t - self.t_start) * self.sampling_rate).simplified.magnitude
            return int(min(rows, max(0, rounding(float(offset)))))

        first = 0 if t_start is None else row(t_start, math.floor)
        last = rows if t_stop is None else min(rows, row(t_stop, math.ceil) + 1)
        field = _MAIN_ARRAY[self._model]
        loaded = load_rows(self._blobs, self._record[field], first, last)
        record = dict(self._record)
        shift = (first / self.sampling_rate).rescale(self.t_start.units)
        record["t_start"] = float((self.t_start + shift).magnitude)
        part = from_fields(record, _rows_then_whole(self._blobs, self._record[field], loaded))
        window = part.time_slice(
            None if t_start is None else max(t_start, part.t_start),
            None if t_stop is None else min(t_stop, part.t_stop),
        )
        window.location = self.location
        return window


def _rows_then_whole(blobs: BlobStore, main: Mapping[str, Any], rows: Any) -> Any:
    """A loader that gives the rows already read for the main array, and reads the rest."""
    whole = eager_loader(blobs)
    return lambda value: rows if value is main else whole(value)


def _quantity(record: Mapping[str, Any], name: str) -> pq.Quantity | None:
    if record.get(name) is None:
        return None
    return pq.Quantity(float(record[name]), record[f"{name}_units"])

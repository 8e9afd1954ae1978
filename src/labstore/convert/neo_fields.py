"""One Neo object's own attributes as ``ephys`` field values, and back.

Relations (parents, group members) are not handled here but in :mod:`.neo_tree`; this module
knows each class's attributes, its quantities (magnitude plus a ``<name>_units`` field) and
its arrays (blobs in ``.npy`` layout).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import neo
import numpy as np
import quantities as pq

from labstore.convert import annotation_values
from labstore.convert.arrays import BlobStore, load_array, store_array
from labstore.errors import InvalidInput

# Neo class name -> ephys model name.
MODEL_OF_CLASS: dict[str, str] = {
    "Block": "block",
    "Segment": "segment",
    "Group": "group",
    "AnalogSignal": "analogsignal",
    "IrregularlySampledSignal": "irregularlysampledsignal",
    "SpikeTrain": "spiketrain",
    "Event": "event",
    "Epoch": "epoch",
    "ImageSequence": "imagesequence",
    "ChannelView": "channelview",
    "CircularRegionOfInterest": "regionofinterest",
    "RectangularRegionOfInterest": "regionofinterest",
    "PolygonRegionOfInterest": "regionofinterest",
}
DATA_MODELS = ("analogsignal", "irregularlysampledsignal", "spiketrain", "event", "epoch",
               "imagesequence")  # fmt: skip
ArrayLoader = Callable[[Mapping[str, Any]], np.ndarray[Any, Any]]


def model_name(obj: Any) -> str:
    """The ephys model of a Neo object.

    Raises:
        InvalidInput: Not a Neo object labstore stores.
    """
    name = MODEL_OF_CLASS.get(type(obj).__name__)
    if name is None or not isinstance(obj, neo.core.baseneo.BaseNeo):
        raise InvalidInput(f"cannot store a {type(obj).__name__} in the ephys pack")
    return name


def units_of(value: Any) -> str:
    return str(value.dimensionality.string)


def _quantity(data: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        data[name], data[f"{name}_units"] = None, None
        return
    quantity = value if isinstance(value, pq.Quantity) else pq.Quantity(value)
    data[name] = float(quantity.magnitude)
    data[f"{name}_units"] = units_of(quantity)


def _read_quantity(data: Mapping[str, Any], name: str) -> pq.Quantity | None:
    if data.get(name) is None:
        return None
    return pq.Quantity(float(data[name]), data[f"{name}_units"])


def _datetime(value: dt.datetime | None) -> str | None:
    """Neo's naive datetimes are taken as UTC; aware ones are converted to it."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


def _read_datetime(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _array_annotations(blobs: BlobStore, obj: Any) -> dict[str, Any] | None:
    """All array annotations as one record array, a field per name (with units kept)."""
    found = dict(getattr(obj, "array_annotations", None) or {})
    if not found:
        return None
    arrays = {name: np.asarray(value) for name, value in found.items()}
    length = len(next(iter(arrays.values())))
    record = np.empty(length, dtype=[(name, a.dtype) for name, a in arrays.items()])
    for name, array in arrays.items():
        record[name] = array
    value = store_array(blobs, record)
    units = {n: units_of(v) for n, v in found.items() if isinstance(v, pq.Quantity)}
    if units:
        value["units"] = units
    return value


def _read_array_annotations(load: ArrayLoader, value: Mapping[str, Any] | None) -> dict[str, Any]:
    if not value:
        return {}
    record = load(value)
    units = value.get("units") or {}
    out: dict[str, Any] = {}
    for name in record.dtype.names or ():
        column = np.array(record[name])
        out[name] = pq.Quantity(column, units[name]) if name in units else column
    return out


def to_fields(obj: Any, blobs: BlobStore) -> dict[str, Any]:
    """The field values of a Neo object (no relations), its arrays uploaded as blobs."""
    model = model_name(obj)
    data: dict[str, Any] = {
        "name": obj.name,
        "description": obj.description,
        "file_origin": obj.file_origin,
        "annotations": annotation_values.encode_all(obj.annotations),
    }
    if model in ("block", "segment"):
        data["file_datetime"] = _datetime(obj.file_datetime)
        data["rec_datetime"] = _datetime(obj.rec_datetime)
        data["index"] = None if obj.index is None else int(obj.index)
    elif model == "group":
        allowed = obj.allowed_types
        data["allowed_types"] = None if allowed is None else [t.__name__ for t in allowed]
    elif model == "channelview":
        data["index"] = store_array(blobs, np.asarray(obj.index))
        data["array_annotations"] = _array_annotations(blobs, obj)
    elif model == "regionofinterest":
        data.update(_roi_fields(obj))
    else:
        data.update(_data_fields(model, obj, blobs))
        data["array_annotations"] = _array_annotations(blobs, obj)
    return data


def _roi_fields(obj: Any) -> dict[str, Any]:
    if isinstance(obj, neo.CircularRegionOfInterest):
        return {"shape": "circle", "x": obj.x, "y": obj.y, "radius": obj.radius}
    if isinstance(obj, neo.RectangularRegionOfInterest):
        return {"shape": "rectangle", "x": obj.x, "y": obj.y, "width": obj.width,
                "height": obj.height}  # fmt: skip
    return {"shape": "polygon", "vertices": [list(v) for v in obj.vertices]}


def _data_fields(model: str, obj: Any, blobs: BlobStore) -> dict[str, Any]:
    data: dict[str, Any] = {"units": units_of(obj)}
    if model in ("analogsignal", "irregularlysampledsignal", "imagesequence"):
        key = "image_data" if model == "imagesequence" else "signal"
        data[key] = store_array(blobs, obj.magnitude)
    if model == "analogsignal":
        _quantity(data, "sampling_rate", obj.sampling_rate)
        _quantity(data, "t_start", obj.t_start)
    elif model == "irregularlysampledsignal":
        data["times"] = store_array(blobs, obj.times.magnitude)
        data["time_units"] = units_of(obj.times)
    elif model == "imagesequence":
        _quantity(data, "sampling_rate", obj.sampling_rate)
        _quantity(data, "spatial_scale", obj.spatial_scale)
        _quantity(data, "t_start", obj.t_start)
    else:  # spike trains, events and epochs are arrays of times
        data["times"] = store_array(blobs, obj.magnitude)
    if model == "spiketrain":
        _quantity(data, "t_start", obj.t_start)
        _quantity(data, "t_stop", obj.t_stop)
        _quantity(data, "left_sweep", obj.left_sweep)
        _quantity(data, "sampling_rate", obj.sampling_rate)
        waveforms = obj.waveforms
        data["waveforms"] = None if waveforms is None else store_array(blobs, waveforms.magnitude)
        data["waveform_units"] = None if waveforms is None else units_of(waveforms)
    if model in ("event", "epoch"):
        data["labels"] = store_array(blobs, np.asarray(obj.labels))
    if model == "epoch":
        data["durations"] = store_array(blobs, obj.durations.magnitude)
        data["duration_units"] = units_of(obj.durations)
    return data


def _common(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name"),
        "description": data.get("description"),
        "file_origin": data.get("file_origin"),
    }


def from_fields(data: Mapping[str, Any], load: ArrayLoader, **links: Any) -> Any:
    """A Neo object from its stored fields; ``links`` are the objects it needs to exist
    (a view's signal, a region's image sequence)."""
    model = str(data["model"]).split("/")[-1]
    made = _build(model, data, load, links)
    made.annotations.update(annotation_values.decode_all(data.get("annotations")))
    if "array_annotations" in data and data.get("array_annotations"):
        made.array_annotate(**_read_array_annotations(load, data["array_annotations"]))
    made.location = data["location"]
    made.stored_version = data.get("version")
    return made


def _build(model: str, data: Mapping[str, Any], load: ArrayLoader, links: Any) -> Any:
    common = _common(data)
    if model in ("block", "segment"):
        cls = neo.Block if model == "block" else neo.Segment
        return cls(
            **common,
            file_datetime=_read_datetime(data.get("file_datetime")),
            rec_datetime=_read_datetime(data.get("rec_datetime")),
            index=data.get("index"),
        )
    if model == "group":
        allowed = data.get("allowed_types")
        types = None if allowed is None else [getattr(neo, name) for name in allowed]
        return neo.Group(**common, allowed_types=types)
    if model == "channelview":
        return neo.ChannelView(links["obj"], load(data["index"]), **common)
    if model == "regionofinterest":
        return _build_roi(data, links["image_sequence"], common)
    if model not in DATA_MODELS:
        raise InvalidInput(f"{data['model']} is not a Neo object")
    return _build_data(model, data, load, common)


def _build_roi(data: Mapping[str, Any], images: Any, common: dict[str, Any]) -> Any:
    shape = data["shape"]
    if shape == "circle":
        return neo.CircularRegionOfInterest(images, data["x"], data["y"], data["radius"], **common)
    if shape == "rectangle":
        return neo.RectangularRegionOfInterest(
            images, data["x"], data["y"], data["width"], data["height"], **common
        )
    return neo.PolygonRegionOfInterest(images, *(tuple(v) for v in data["vertices"]), **common)


def _build_data(
    model: str, data: Mapping[str, Any], load: ArrayLoader, common: dict[str, Any]
) -> Any:
    units = data["units"]
    if model == "analogsignal":
        return neo.AnalogSignal(
            load(data["signal"]),
            units=units,
            sampling_rate=_read_quantity(data, "sampling_rate"),
            t_start=_read_quantity(data, "t_start"),
            **common,
        )
    if model == "irregularlysampledsignal":
        return neo.IrregularlySampledSignal(
            load(data["times"]), load(data["signal"]), units=units,
            time_units=data["time_units"], **common,
        )  # fmt: skip
    if model == "imagesequence":
        return neo.ImageSequence(
            load(data["image_data"]),
            units=units,
            sampling_rate=_read_quantity(data, "sampling_rate"),
            spatial_scale=_read_quantity(data, "spatial_scale"),
            t_start=_read_quantity(data, "t_start"),
            **common,
        )
    if model == "spiketrain":
        waveforms = data.get("waveforms")
        return neo.SpikeTrain(
            load(data["times"]),
            t_stop=_read_quantity(data, "t_stop"),
            units=units,
            t_start=_read_quantity(data, "t_start"),
            waveforms=None if waveforms is None else pq.Quantity(
                load(waveforms), data["waveform_units"]
            ),
            left_sweep=_read_quantity(data, "left_sweep"),
            sampling_rate=_read_quantity(data, "sampling_rate"),
            **common,
        )  # fmt: skip
    labels = data.get("labels")
    if model == "event":
        return neo.Event(
            load(data["times"]), labels=None if labels is None else load(labels),
            units=units, **common,
        )  # fmt: skip
    return neo.Epoch(
        load(data["times"]),
        durations=pq.Quantity(load(data["durations"]), data["duration_units"]),
        labels=None if labels is None else load(labels),
        units=units,
        **common,
    )


def eager_loader(blobs: BlobStore) -> ArrayLoader:
    """Loads each array whole, when the object is built."""
    return lambda value: load_array(blobs, value)

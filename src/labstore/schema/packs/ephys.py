"""The ``ephys`` pack: Neo's object model (Block, Segment, Group and the data objects).

Scalar attributes and annotations are fields; arrays (signals, times, waveforms, labels,
image frames, array annotations) are ``array`` fields whose value names a blob in ``.npy``
layout (``{"sha256", "dtype", "shape", "offset"}``), so a slice of a signal is one Range
request. Every physical quantity keeps its unit in a ``<name>_units`` field, so values come
back exactly as they were given (a rate in kHz stays in kHz).

Order matters in Neo (``segment.analogsignals[2]``): ``position`` keeps each object's place
in its parent's list. Groups hold references to objects that live in segments, so a group's
members are ``group_member`` rows, one per member, each pointing at exactly one object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labstore.schema.packs import ephys_checks as check
from labstore.schema.types import Field, Model, Pack, Relation

_Check = Callable[[Mapping[str, Any]], None]


def _neo_fields(*extra: Field) -> tuple[Field, ...]:
    """The attributes every Neo object has, then the model's own."""
    return (
        Field("name", "text", doc="Neo's name"),
        Field("description", "text"),
        Field("file_origin", "text", doc="The file the data was read from"),
        Field("annotations", "json", doc="Neo annotations (typed values keep their type)"),
        *extra,
    )


def _quantity(name: str, doc: str, *, required: bool = False) -> tuple[Field, Field]:
    """A physical scalar: its magnitude, and its unit as quantities spells it."""
    return (
        Field(name, "float", required=required, doc=doc),
        Field(f"{name}_units", max_length=64, required=required, doc=f"Unit of {name}"),
    )


def _array(name: str, doc: str, *, required: bool = False) -> Field:
    return Field(name, "array", required=required, doc=doc)


_POSITION = Field("position", "int", default=0, doc="Place in the parent's list")
_ARRAY_ANNOTATIONS = _array(
    "array_annotations", "Neo array annotations: one structured array, a field per name"
)
_DATETIMES = (
    Field("file_datetime", "datetime", doc="When the file was written"),
    Field("rec_datetime", "datetime", index=True, doc="When the recording was made"),
    Field("index", "int", doc="Neo's index"),
)


def _metadata(doc: str = "odML section describing this object") -> Relation:
    # Not browsed: a recursive get of a section must not bring every recording it describes.
    return Relation("metadata", "metadata/section", on_delete="set_null", browse=False, doc=doc)


def _in_segment() -> Relation:
    return Relation("segment", "segment", on_delete="cascade", doc="The segment it belongs to")


def _data_model(
    name: str,
    class_name: str,
    doc: str,
    fields: tuple[Field, ...],
    checks: tuple[_Check, ...],
) -> Model:
    """A Neo data object: held by a segment, with array annotations and metadata."""
    arrays = tuple(f.name for f in fields if f.kind == "array")
    return Model(
        name,
        class_name=class_name,
        doc=doc,
        fields=_neo_fields(*fields, _ARRAY_ANNOTATIONS, _POSITION),
        relations=(_in_segment(), _metadata()),
        checks=(
            check.units_known,
            check.arrays_well_formed(arrays),
            *checks,
            check.array_annotations_fit,
        ),
    )


_SIGNAL_UNITS = Field("units", max_length=64, required=True, doc="Unit of the values")

# Each member of a group is one row pointing at exactly one of these (all owned elsewhere).
MEMBER_RELATIONS: tuple[tuple[str, str], ...] = (
    ("analogsignal", "AnalogSignal"),
    ("irregularlysampledsignal", "IrregularlySampledSignal"),
    ("spiketrain", "SpikeTrain"),
    ("event", "Event"),
    ("epoch", "Epoch"),
    ("imagesequence", "ImageSequence"),
    ("channelview", "ChannelView"),
    ("regionofinterest", "RegionOfInterest"),
    ("member_group", "Group"),
)

PACK = Pack(
    "ephys",
    doc="Electrophysiology in Neo's object model",
    models=(
        Model(
            "block",
            doc="A recording session: segments (time) and groups (channels, units)",
            fields=_neo_fields(*_DATETIMES),
            relations=(_metadata(),),
        ),
        Model(
            "segment",
            doc="A stretch of time of a block, holding the data recorded in it",
            fields=_neo_fields(*_DATETIMES, _POSITION),
            relations=(
                Relation("block", "block", on_delete="cascade", doc="The block it belongs to"),
                _metadata(),
            ),
        ),
        Model(
            "group",
            doc="A set of data objects, views and groups of a block, across segments",
            fields=_neo_fields(
                Field("allowed_types", "json", doc="Class names a member may have (none: any)"),
                Field(
                    "listed",
                    "bool",
                    default=True,
                    doc="In its block's groups (false: only inside other groups)",
                ),
                _POSITION,
            ),
            relations=(
                Relation("block", "block", on_delete="cascade", doc="The block that owns it"),
                _metadata(),
            ),
        ),
        _data_model(
            "analogsignal",
            "AnalogSignal",
            "Regularly sampled signals: samples x channels",
            (
                _array("signal", "Samples x channels", required=True),
                _SIGNAL_UNITS,
                *_quantity("sampling_rate", "Samples per unit of time", required=True),
                *_quantity("t_start", "Time of the first sample", required=True),
            ),
            (check.signal_is_2d, check.positive("sampling_rate")),
        ),
        _data_model(
            "irregularlysampledsignal",
            "IrregularlySampledSignal",
            "Signals sampled at the given times: samples x channels",
            (
                _array("times", "Sample times", required=True),
                Field("time_units", max_length=64, required=True, doc="Unit of the times"),
                _array("signal", "Samples x channels", required=True),
                _SIGNAL_UNITS,
            ),
            (check.signal_is_2d, check.same_length("times", "signal")),
        ),
        _data_model(
            "spiketrain",
            "SpikeTrain",
            "Spike times of one unit, with optional waveforms",
            (
                _array("times", "Spike times", required=True),
                _SIGNAL_UNITS,
                *_quantity("t_start", "Start of the observation", required=True),
                *_quantity("t_stop", "End of the observation", required=True),
                _array("waveforms", "Spikes x channels x samples"),
                Field("waveform_units", max_length=64, doc="Unit of the waveforms"),
                *_quantity("left_sweep", "Time from a waveform's start to its spike"),
                *_quantity("sampling_rate", "Sampling rate of the waveforms"),
            ),
            (
                check.same_length("times", "waveforms"),
                check.ordered("t_start", "t_stop"),
                check.positive("sampling_rate"),
            ),
        ),
        _data_model(
            "event",
            "Event",
            "Labelled points in time",
            (
                _array("times", "Event times", required=True),
                _SIGNAL_UNITS,
                _array("labels", "One label per event"),
            ),
            (check.same_length("times", "labels"),),
        ),
        _data_model(
            "epoch",
            "Epoch",
            "Labelled intervals: start times and durations",
            (
                _array("times", "Start times", required=True),
                _SIGNAL_UNITS,
                _array("durations", "One duration per epoch", required=True),
                Field("duration_units", max_length=64, doc="Unit of the durations"),
                _array("labels", "One label per epoch"),
            ),
            (check.same_length("times", "durations"), check.same_length("times", "labels")),
        ),
        _data_model(
            "imagesequence",
            "ImageSequence",
            "A sequence of images: frames x rows x columns",
            (
                _array("image_data", "Frames x rows x columns", required=True),
                _SIGNAL_UNITS,
                *_quantity("sampling_rate", "Frames per unit of time", required=True),
                *_quantity("spatial_scale", "Size of a pixel", required=True),
                *_quantity("t_start", "Time of the first frame", required=True),
            ),
            (check.image_is_3d, check.positive("sampling_rate")),
        ),
        Model(
            "channelview",
            class_name="ChannelView",
            doc="Some channels of one signal, by index",
            fields=_neo_fields(
                _array("index", "Channel indexes into the signal", required=True),
                _ARRAY_ANNOTATIONS,
            ),
            relations=(
                Relation("block", "block", on_delete="cascade", doc="The block that owns it"),
                Relation("analogsignal", "analogsignal", on_delete="cascade"),
                Relation(
                    "irregularlysampledsignal", "irregularlysampledsignal", on_delete="cascade"
                ),
                _metadata(),
            ),
            checks=(check.views_one_signal,),
        ),
        Model(
            "regionofinterest",
            class_name="RegionOfInterest",
            doc="A circle, rectangle or polygon of pixels of an image sequence",
            fields=_neo_fields(
                Field("shape", required=True, choices=("circle", "rectangle", "polygon")),
                Field("x", "json", doc="Centre, in pixels (circle, rectangle)"),
                Field("y", "json", doc="Centre, in pixels (circle, rectangle)"),
                Field("radius", "json", doc="In pixels (circle)"),
                Field("width", "json", doc="In pixels (rectangle)"),
                Field("height", "json", doc="In pixels (rectangle)"),
                Field("vertices", "json", doc="[[x, y], ...] (polygon)"),
            ),
            relations=(
                Relation("block", "block", on_delete="cascade", doc="The block that owns it"),
                Relation("imagesequence", "imagesequence", on_delete="cascade", required=True),
                _metadata(),
            ),
        ),
        Model(
            "group_member",
            doc="One member of a group: exactly one of the member relations is set",
            fields=(_POSITION,),
            relations=(
                Relation("group", "group", plural="members", on_delete="cascade", required=True),
                *(
                    Relation(name, target, on_delete="cascade", doc=f"A member {cls}")
                    for name, target, cls in (
                        (n, "group" if n == "member_group" else n, c) for n, c in MEMBER_RELATIONS
                    )
                ),
            ),
            checks=(check.exactly_one_member(tuple(n for n, _ in MEMBER_RELATIONS)),),
        ),
    ),
)

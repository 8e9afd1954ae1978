"""Neo trees to batch entries, and stored records back to Neo trees.

Going out, a Block brings its segments, their data objects, its groups (nested ones too),
the channel views and regions of interest inside them, and one ``group_member`` entry per
object a group holds. Coming back, the same relations are rebuilt in the stored order, so
``neo.test.tools.assert_same_sub_schema`` holds between the tree stored and the tree fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import neo

from labstore.convert.arrays import BlobStore
from labstore.convert.batch import BatchBuilder
from labstore.convert.neo_fields import (
    DATA_MODELS,
    ArrayLoader,
    from_fields,
    model_name,
    to_fields,
)

PACK = "ephys"
# ephys model -> the Neo container holding it in a segment, in the order they are written.
SEGMENT_CONTAINERS = {
    "analogsignal": "analogsignals",
    "irregularlysampledsignal": "irregularlysampledsignals",
    "spiketrain": "spiketrains",
    "event": "events",
    "epoch": "epochs",
    "imagesequence": "imagesequences",
}
# How a group member's relation is named, by its model.
MEMBER_RELATION = {**{m: m for m in DATA_MODELS}, "channelview": "channelview",
                   "regionofinterest": "regionofinterest", "group": "member_group"}  # fmt: skip
SectionAdder = Callable[[Any], dict[str, str]]


def _position(obj: Any, parent: Any, container: str) -> int:
    """Where ``obj`` sits in its parent's list (0 when it is not there)."""
    items = getattr(parent, container, None) or ()
    return next((i for i, item in enumerate(items) if item is obj), 0)


class NeoUpload:
    """Adds Neo objects to a batch: one object, or a whole tree when ``recursive``."""

    def __init__(
        self,
        builder: BatchBuilder,
        blobs: BlobStore,
        *,
        recursive: bool,
        add_section: SectionAdder | None,
    ) -> None:
        self.builder = builder
        self.blobs = blobs
        self.recursive = recursive
        self.add_section = add_section if recursive else None

    def add(self, obj: Any) -> dict[str, str]:
        model = model_name(obj)
        if model == "block":
            return self._block(obj)
        if model == "segment":
            block = getattr(obj, "block", None)
            return self._segment(obj, block, _position(obj, block, "segments"))
        if model == "group":
            return self._group_alone(obj)
        if model in DATA_MODELS:
            segment = getattr(obj, "segment", None)
            return self._data(obj, segment, _position(obj, segment, SEGMENT_CONTAINERS[model]))
        return self._view(obj, None)

    # one entry each ---------------------------------------------------------------------
    def _entry(self, obj: Any, relations: Mapping[str, Any], **extra: Any) -> dict[str, str]:
        model = model_name(obj)

        def describe() -> dict[str, Any]:
            data = to_fields(obj, self.blobs)
            data.update(extra)
            data["metadata"] = self.builder.link(
                getattr(obj, "metadata", None), f"{model}.metadata", self.add_section
            )
            for name, parent in relations.items():
                data[name] = self.builder.link(parent, f"{model}.{name}", self._include)
            return data

        return self.builder.add(obj, f"{PACK}/{model}", describe)

    @property
    def _include(self) -> Callable[[Any], dict[str, str]] | None:
        """How a parent or member that is not part of the tree is handled (a signal in a
        group but in no segment of the block): stored on its own in a recursive upload,
        refused otherwise."""
        return self.add if self.recursive else None

    def _block(self, block: Any) -> dict[str, str]:
        ref = self._entry(block, {})
        if self.recursive:
            for i, segment in enumerate(block.segments):
                self._segment(segment, block, i)
            self._groups(block)
        return ref

    def _segment(self, segment: Any, block: Any, position: int) -> dict[str, str]:
        ref = self._entry(segment, {"block": block}, position=position)
        if self.recursive:
            for model, container in SEGMENT_CONTAINERS.items():
                for i, obj in enumerate(getattr(segment, container)):
                    if model_name(obj) == model:
                        self._data(obj, segment, i)
        return ref

    def _data(self, obj: Any, segment: Any, position: int) -> dict[str, str]:
        return self._entry(obj, {"segment": segment}, position=position)

    def _view(self, view: Any, block: Any) -> dict[str, str]:
        if model_name(view) == "channelview":
            signal = view.obj
            key = model_name(signal)
            return self._entry(view, {"block": block, key: signal})
        return self._entry(view, {"block": block, "imagesequence": view.image_sequence})

    def _groups(self, block: Any) -> None:
        listed = list(block.groups)
        found = _all_groups(listed)
        for i, group in enumerate(found):
            on_block = any(group is g for g in listed)
            self._group(group, block, i, listed=on_block)
        for group in found:
            self._members(group, block)

    def _group(self, group: Any, block: Any, position: int, *, listed: bool) -> dict[str, str]:
        return self._entry(group, {"block": block}, position=position, listed=listed)

    def _group_alone(self, group: Any) -> dict[str, str]:
        """A group set by itself: with its nested groups and memberships when recursive."""
        block = getattr(group, "block", None)
        listed = list(getattr(block, "groups", None) or ())
        ref = self._group(group, block, _position(group, block, "groups"), listed=True)
        if self.recursive:
            found = _all_groups([group])
            for inner in found[1:]:
                on_block = any(inner is g for g in listed)
                self._group(inner, block, _position(inner, block, "groups"), listed=on_block)
            for each in found:
                self._members(each, block)
        return ref

    def _members(self, group: Any, block: Any) -> None:
        group_ref = self.builder.ref_of(group)
        members = [*group.data_children, *group.groups]
        for position, member in enumerate(members):
            model = model_name(member)
            if model in ("channelview", "regionofinterest") and self.builder.ref_of(member) is None:
                self._view(member, block)
            relation = MEMBER_RELATION[model]
            self.builder.append(
                f"{PACK}/group_member",
                {
                    "group": {"ref": group_ref},
                    relation: self.builder.link(member, f"group_member.{relation}", self._include),
                    "position": position,
                },
            )


def _all_groups(groups: Iterable[Any]) -> list[Any]:
    """Groups and every group nested in them, each once, in first-seen order."""
    found: list[Any] = []
    pending = list(groups)
    while pending:
        group = pending.pop(0)
        if any(group is g for g in found):
            continue
        found.append(group)
        pending.extend(group.groups)
    return found


# back ---------------------------------------------------------------------------------
class NeoAssembly:
    """Neo objects from stored records (a ``recursive`` answer, or one object).

    Args:
        records: Server JSON forms; the first is the root.
        load: Turns an array field value into an array.
        fetch: Gets an object the records point at but do not hold (a view's signal).
        section: Gets the odML section a ``metadata`` relation names.
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        load: ArrayLoader,
        fetch: Callable[[str], Any],
        section: Callable[[str], Any],
    ) -> None:
        self.records = records
        self.load = load
        self.fetch = fetch
        self.section = section
        self.built: dict[str, Any] = {}

    def root(self) -> Any:
        by_model: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            by_model.setdefault(record["model"].split("/")[1], []).append(record)
        for model in ("block", "segment", *DATA_MODELS, "group"):
            for record in by_model.get(model, []):
                self.built[record["location"]] = from_fields(record, self.load)
        for record in by_model.get("channelview", []):
            signal = str(record.get("analogsignal") or record.get("irregularlysampledsignal"))
            self.built[record["location"]] = from_fields(record, self.load, obj=self._get(signal))
        for record in by_model.get("regionofinterest", []):
            images = self._get(record["imagesequence"])
            self.built[record["location"]] = from_fields(record, self.load, image_sequence=images)
        self._attach(by_model)
        for record in self.records:
            if record.get("metadata") and record["location"] in self.built:
                self.built[record["location"]].metadata = self.section(record["metadata"])
        return self.built[self.records[0]["location"]]

    def _get(self, location: str) -> Any:
        if location not in self.built:
            self.built[location] = self.fetch(location)
        return self.built[location]

    def _attach(self, by_model: dict[str, list[dict[str, Any]]]) -> None:
        """Children into their parents' lists, in stored order."""

        def ordered(model: str) -> list[dict[str, Any]]:
            return sorted(by_model.get(model, []), key=lambda r: r.get("position") or 0)

        for record in ordered("segment"):
            if record.get("block") in self.built:
                self.built[record["block"]].segments.append(self.built[record["location"]])
        for model, container in SEGMENT_CONTAINERS.items():
            for record in ordered(model):
                if record.get("segment") in self.built:
                    parent = self.built[record["segment"]]
                    getattr(parent, container).append(self.built[record["location"]])
        for record in ordered("group"):
            if record.get("listed") and record.get("block") in self.built:
                self.built[record["block"]].groups.append(self.built[record["location"]])
        for record in ordered("group_member"):
            group = self.built.get(record["group"])
            member = next((record[r] for r in MEMBER_RELATION.values() if record.get(r)), None)
            if group is not None and member is not None:
                group.add(self._get(member))


def is_neo(obj: Any) -> bool:
    return isinstance(obj, neo.core.baseneo.BaseNeo)

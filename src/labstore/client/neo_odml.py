"""Neo and odML objects through a Session: ``set()`` takes them, ``get()`` gives them back.

Objects of the ``ephys`` and ``metadata`` packs travel as real ``neo`` and ``odml`` objects
carrying ``.location`` (and ``.stored_version``, the version they were fetched at).
``set(obj)`` stores the object alone (its parents must be stored); ``set(obj,
recursive=True)`` stores its whole tree in one batch request, arrays first as blobs.
``get(location, recursive=True)`` returns the whole tree; a data object fetched alone is a
lazy proxy (``load()``, ``time_slice()``) that reads only the bytes it needs.

The conversion lives in :mod:`labstore.convert` and needs the ``ephys`` extra; it is
imported only when such an object or record is met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labstore.errors import InvalidInput

if TYPE_CHECKING:
    from labstore.client.blobs import BlobClient

OUTSIDE_PACKS = ("ephys", "metadata")
# Rows that only link other objects: they stay labstore objects.
_LINK_MODELS = ("ephys/group_member",)


def is_outside_object(obj: Any) -> bool:
    """Whether ``obj`` is a Neo or odML object (checked without importing either)."""
    return type(obj).__module__.split(".")[0] in ("neo", "odml")


def is_outside_record(data: dict[str, Any]) -> bool:
    """Whether a stored object comes back as a Neo or odML object."""
    model = str(data.get("model", ""))
    return model.split("/")[0] in OUTSIDE_PACKS and model not in _LINK_MODELS


def _convert() -> Any:
    try:
        import labstore.convert.neo_tree as neo_tree
    except ImportError as exc:  # the client alone has no neo
        raise InvalidInput(
            f"Neo and odML objects need the ephys extra: pip install 'labstore[ephys]' ({exc})"
        ) from None
    return neo_tree


class NeoOdmlMixin:
    """``set``/``get`` of Neo and odML objects; mixed into :class:`Session`."""

    if TYPE_CHECKING:

        @property
        def blobs(self) -> BlobClient: ...

        def _request(self, method: str, path: str, **kwargs: Any) -> Any: ...

        def _default_project(self) -> str | None: ...

        def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any: ...

        _cache: Any

    def _set_outside(self, entity: Any, recursive: bool, avoid_collisions: bool = False) -> Any:
        """Store a Neo or odML object (its tree when ``recursive``); returns a new one.

        Objects that carry a ``location`` (fetched or returned by ``set``) are updated; with
        ``avoid_collisions`` an update is refused if the object changed on the server since
        the ``version`` it carries.
        """
        _convert()
        from labstore.convert.arrays import UploadMemo
        from labstore.convert.batch import BatchBuilder
        from labstore.convert.neo_tree import NeoUpload
        from labstore.convert.odml_tree import OdmlUpload, is_odml

        builder = BatchBuilder(avoid_collisions=avoid_collisions)
        memo = UploadMemo(self.blobs)
        sections = OdmlUpload(builder, recursive=recursive)
        if is_odml(entity):
            sections.add(entity)
        else:
            NeoUpload(builder, memo, recursive=recursive, add_section=sections.add_metadata).add(
                entity
            )
        project = self._default_project()
        for entry in builder.entries:
            if "model" in entry and project and "project" not in entry["data"]:
                entry["data"]["project"] = project
        answer = self._request("POST", "/api/batch", json={"objects": builder.entries}).json()
        records: list[dict[str, Any]] = answer["objects"]
        for data in records:
            self._cache.put(data)
        return self._assemble(records, memo.load)

    def _assemble(self, records: list[dict[str, Any]], load: Any) -> Any:
        """The outside object of ``records[0]``, with whatever of its tree the records hold."""
        from labstore.convert.neo_tree import NeoAssembly
        from labstore.convert.odml_tree import OdmlAssembly

        metadata = [r for r in records if r["model"].startswith("metadata/")]
        sections = OdmlAssembly(metadata) if metadata else None
        root = records[0]
        if root["model"].startswith("metadata/"):
            assert sections is not None
            return sections.root(root["location"])
        ephys = [r for r in records if r["model"].startswith("ephys/")]

        def section(location: str) -> Any:
            if sections is not None and any(r["location"] == location for r in metadata):
                return sections.root(location)
            return self.get(location, recursive=True)

        return NeoAssembly(ephys, load, fetch=self._neo_object, section=section).root()

    def _outside_tree(self, records: list[dict[str, Any]]) -> Any:
        """A fetched subtree as Neo or odML objects, every array loaded."""
        from labstore.convert.neo_fields import eager_loader

        return self._assemble(records, eager_loader(self.blobs))

    def _outside_object(self, data: dict[str, Any]) -> Any:
        """One stored object, alone: data objects come as lazy proxies."""
        _convert()
        from labstore.convert.lazy import LazyDataObject
        from labstore.convert.neo_fields import DATA_MODELS

        if data["model"].split("/")[1] in DATA_MODELS:
            proxy = LazyDataObject(data, self.blobs)
            if data.get("metadata"):
                proxy.metadata = self.get(data["metadata"], recursive=True)
            return proxy
        return self._outside_tree([data])

    def _neo_object(self, location: str) -> Any:
        """A Neo object another one needs to exist (a view's signal), arrays loaded."""
        from labstore.convert.lazy import LazyDataObject

        found = self.get(location)
        return found.load() if isinstance(found, LazyDataObject) else found

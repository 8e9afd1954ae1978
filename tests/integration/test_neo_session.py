"""Neo and odML objects through the Session and the real app: stored whole, fetched whole."""

from __future__ import annotations

from typing import Any

import neo
import numpy as np
import pytest
import quantities as pq
from neo.test.tools import assert_neo_object_is_compliant, assert_same_sub_schema
from sqlalchemy import func, select

from labstore.convert.lazy import LazyDataObject
from labstore.errors import Conflict, NotFound
from tests.support.neo_data import seeded_block, simple_block, subject_document


@pytest.fixture
def alice(make_user: Any, make_session: Any) -> Any:
    make_user("alice", projects=("neuro",))
    return make_session("alice")


def test_a_cool_block_comes_back_with_a_location(alice: Any) -> None:
    block = neo.Block("A cool block")
    stored = alice.set(block)
    assert isinstance(stored, neo.Block) and stored is not block
    assert stored.location.startswith("ephys/block/")
    assert not hasattr(block, "location")  # the argument is left as it was
    again = alice.get(stored.location)
    assert isinstance(again, neo.Block) and again.name == "A cool block"
    assert_neo_object_is_compliant(again)


def test_associations_are_made_on_the_child_and_set_saves_only_the_object(alice: Any) -> None:
    block = alice.set(neo.Block("b"))
    segment = neo.Segment("s")
    segment.block = block
    stored = alice.set(segment)
    assert stored.location.startswith("ephys/segment/")
    assert alice.select("segment", {"block": block.location})[0].name == "s"
    tree = alice.get(block.location, recursive=True)
    assert [s.name for s in tree.segments] == ["s"]
    assert tree.segments[0].block is tree


def test_a_child_of_an_unstored_block_is_refused_until_the_block_is_set(alice: Any) -> None:
    segment = neo.Segment("s")
    segment.block = neo.Block("not stored")
    with pytest.raises(Exception, match="not stored yet"):
        alice.set(segment)
    assert alice.Segment.count() == 0


def test_random_trees_round_trip_through_the_server(alice: Any, database_url: str) -> None:
    """Blocks of every object kind (groups, nested groups, views, regions of interest):
    many seeds on SQLite, a few on PostgreSQL, where each costs more."""
    seeds = [5, 11] if database_url.startswith("postgresql") else [2, 5, 8, 11, 17, 23]
    for seed in seeds:
        block = seeded_block(seed)
        stored = alice.set(block, recursive=True)
        assert_same_sub_schema(block, stored)
        fetched = alice.get(stored.location, recursive=True)
        assert_same_sub_schema(block, fetched)
        assert all(s.location for s in fetched.segments)


def test_simple_blocks_with_array_annotations_round_trip(alice: Any) -> None:
    block = simple_block(1)
    stored = alice.set(block, recursive=True)
    fetched = alice.get(stored.location, recursive=True)
    assert_same_sub_schema(block, fetched)
    assert_neo_object_is_compliant(fetched)


def test_arrays_are_stored_once_however_often_uploaded(alice: Any, state: Any) -> None:
    block = simple_block(3, nb_segment=1)
    alice.set(block, recursive=True)
    count_before = _blob_count(state)
    assert count_before > 0
    alice.set(block, recursive=True)  # a second tree, the same arrays
    assert _blob_count(state) == count_before
    assert alice.Block.count() == 2


def _blob_count(state: Any) -> int:
    with state.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(state.db.table("blob"))).scalar())


def test_odml_documents_round_trip_equal(alice: Any) -> None:
    doc = subject_document()
    stored = alice.set(doc, recursive=True)
    assert stored.location.startswith("metadata/document/")
    fetched = alice.get(stored.location, recursive=True)
    assert fetched == doc
    subject = fetched.sections["Subject"]
    assert subject.location.startswith("metadata/section/")
    assert subject.properties["species"].values == ["mouse"]


def test_blocks_are_found_by_their_metadata(alice: Any) -> None:
    mouse = alice.set(subject_document("mouse"), recursive=True)
    rat = alice.set(subject_document("rat"), recursive=True)
    for name, doc in (("m", mouse), ("r", rat)):
        block = neo.Block(name)
        block.metadata = doc.sections["Subject"]
        alice.set(block)
    found = alice.select(
        "block",
        {
            "metadata__properties__name": "species",
            "metadata__properties__values__contains": "mouse",
        },
    )
    assert [b.name for b in found] == ["m"]
    assert found[0].metadata.properties["species"].values == ["mouse"]
    by_query = alice.Block.where(
        {"metadata": {"properties": {"name": "species", "values__contains": "rat"}}}
    )
    assert [b.name for b in by_query] == ["r"]


def test_unstored_metadata_goes_up_with_the_tree(alice: Any) -> None:
    doc = subject_document("mouse")
    block = simple_block(0, nb_segment=1)
    block.metadata = doc.sections["Subject"]
    block.segments[0].metadata = doc.sections["Subject"].sections["Surgery"]
    stored = alice.set(block, recursive=True)
    assert stored.metadata.properties["species"].values == ["mouse"]
    fetched = alice.get(stored.location, recursive=True)
    assert fetched.metadata.name == "Subject"
    assert fetched.segments[0].metadata.properties["drug"].values == ["isoflurane"]


def test_a_signal_fetched_alone_is_lazy_and_a_time_slice_reads_only_its_bytes(
    alice: Any,
) -> None:
    data = np.arange(40_000, dtype="<f4").reshape(10_000, 4)
    signal = neo.AnalogSignal(data, units="mV", sampling_rate=1 * pq.kHz, t_start=2 * pq.s)
    segment = neo.Segment()
    segment.analogsignals.append(signal)
    stored = alice.set(segment, recursive=True)
    location = stored.analogsignals[0].location
    reads: list[tuple[int | None, int | None]] = []
    blobs = alice.blobs
    original = type(blobs).read

    def spy(self: Any, sha: str, start: int | None = None, stop: int | None = None) -> bytes:
        reads.append((start, stop))
        return original(self, sha, start, stop)

    type(blobs).read = spy  # type: ignore[method-assign]
    try:
        lazy = alice.get(location)
        assert isinstance(lazy, LazyDataObject) and reads == []
        assert lazy.shape == (10_000, 4) and lazy.t_stop == 12 * pq.s
        window = lazy.time_slice(3 * pq.s, 3.1 * pq.s)
    finally:
        type(blobs).read = original  # type: ignore[method-assign]
    expected = signal.time_slice(3 * pq.s, 3.1 * pq.s)
    np.testing.assert_array_equal(window.magnitude, expected.magnitude)
    assert window.t_start == expected.t_start
    [(start, stop)] = reads
    assert start is not None and stop is not None and stop - start < 110 * 16
    whole = lazy.load()
    np.testing.assert_array_equal(whole.magnitude, data)


def test_a_fetched_object_set_again_is_updated_and_collisions_are_caught(alice: Any) -> None:
    stored = alice.set(neo.Block("first name"))
    assert stored.stored_version == 1
    stored.name = "second name"
    again = alice.set(stored)
    assert again.location == stored.location and again.stored_version == 2
    assert alice.Block.count() == 1
    stale = stored  # still carries version 1
    stale.description = "a late change"
    with pytest.raises(Conflict):
        alice.set(stale, avoid_collisions=True)
    current = alice.get(stored.location, refresh=True)
    assert current.name == "second name" and current.description is None


def test_a_shared_tree_is_readable_arrays_included(
    alice: Any, make_user: Any, make_session: Any
) -> None:
    make_user("bob")
    bob = make_session("bob")
    stored = alice.set(simple_block(2, nb_segment=1), recursive=True)
    with pytest.raises(NotFound):
        bob.get(stored.location, recursive=True)
    alice.share(stored, "bob")
    seen = bob.get(stored.location, recursive=True)
    assert_same_sub_schema(stored, seen)


def test_page_001_builds_a_tree_one_object_at_a_time(alice: Any) -> None:
    block = alice.set(neo.Block("Experiment One"))
    segment = alice.set(neo.Segment("Trial 01"))
    segment.block = block
    segment = alice.set(segment)
    signal = alice.set(
        neo.AnalogSignal(
            signal=pq.Quantity(np.random.rand(100), "mV"),
            t_start=100 * pq.ms,
            sampling_rate=1 * pq.kHz,
        )
    )
    signal.segment = segment
    signal = alice.set(signal)
    assert signal.stored_version == 2
    tree = alice.get(block.location, recursive=True)
    [stored_signal] = tree.segments[0].analogsignals
    assert stored_signal.t_start == 100 * pq.ms
    lazy = alice.get(signal.location)
    np.testing.assert_array_equal(np.asarray(lazy), stored_signal.magnitude)


def test_a_group_set_alone_brings_its_members_once(alice: Any) -> None:
    segment = neo.Segment()
    trains = [neo.SpikeTrain([1, 2] * pq.s, t_stop=3 * pq.s, name=f"t{i}") for i in range(3)]
    segment.spiketrains.extend(trains)
    block = neo.Block()
    block.segments.append(segment)
    stored = alice.set(block, recursive=True)
    inner = neo.Group(stored.segments[0].spiketrains[:1], name="inner")
    outer = neo.Group(stored.segments[0].spiketrains[1:], name="outer")
    outer.add(inner)
    outer.block = stored
    alice.set(outer, recursive=True)
    tree = alice.get(stored.location, recursive=True)
    [group] = tree.groups
    assert [t.name for t in group.spiketrains] == ["t1", "t2"]
    assert [g.name for g in group.groups] == ["inner"]
    assert [t.name for t in group.groups[0].spiketrains] == ["t0"]
    assert alice.GroupMember.count() == 4  # t1, t2 and inner in outer; t0 in inner


def test_signals_fetched_whole_once_read_offline_from_the_cache_dir(
    app: Any, make_user: Any, tmp_path: Any
) -> None:
    import labstore
    from tests.conftest import PASSWORD
    from tests.support.inprocess import AppTransport

    make_user("carol", projects=("lab",))
    cache = tmp_path / "cache"
    options = {"location": "http://testserver", "username": "carol", "password": PASSWORD,
               "cache_dir": str(cache)}  # fmt: skip
    online = labstore.Session(options, file_name=tmp_path / "c.toml", transport=AppTransport(app))
    stored = online.set(simple_block(6, nb_segment=1), recursive=True)
    online.get(stored.location, recursive=True)  # the tree, and every array, into cache_dir
    online.refresh_cache()
    signal_location = stored.segments[0].analogsignals[0].location
    online.close()
    offline = labstore.Session({"cache_dir": str(cache)}, file_name=tmp_path / "o.toml")
    assert offline.mode == "local"
    lazy = offline.get(signal_location)
    assert isinstance(lazy, LazyDataObject)
    loaded = lazy.load()
    np.testing.assert_array_equal(loaded.magnitude, stored.segments[0].analogsignals[0].magnitude)
    assert [b.name for b in offline.select("block")] == [stored.name]
    offline.close()

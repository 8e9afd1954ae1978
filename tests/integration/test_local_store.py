"""The local store: modes, incremental sync through the change feed, offline reads."""

from __future__ import annotations

import datetime as dt
import sqlite3

import httpx
import pytest

import labstore
from labstore.errors import ConfigError, ForbiddenRequest, InvalidInput, NotFound
from tests.conftest import PASSWORD
from tests.support.inprocess import AppTransport, CountingTransport


class Unreachable(httpx.BaseTransport):
    """A network where the server cannot be reached."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


def options_for(username, cache):
    """Session options of a user with a cache_dir, for the in-process server."""
    return {
        "location": "http://testserver",
        "username": username,
        "password": PASSWORD,
        "cache_dir": str(cache),
    }


@pytest.fixture
def world(app, make_user, tmp_path):
    make_user("alice", projects=("lab",))
    cache = tmp_path / "cache"
    options = options_for("alice", cache)
    writer = labstore.Session(options, file_name=tmp_path / "w.toml", transport=AppTransport(app))
    lab = writer.set(writer.Lab.new(name="cortexlab"))
    for i in range(5):
        writer.set(writer.Subject.new(nickname=f"ZM_{i}", lab=lab))
    yield writer, options, cache
    writer.close()


def session(app, options, tmp_path, **kwargs):
    transport = kwargs.pop("transport", None) or AppTransport(app)
    return labstore.Session(options, file_name=tmp_path / "r.toml", transport=transport, **kwargs)


def test_auto_mode_syncs_then_answers_locally(app, world, tmp_path):
    writer, options, _ = world
    counting = CountingTransport(app)
    s = session(app, options, tmp_path, mode="auto", transport=counting)
    assert s.cache_info["expired"] and s.cache_info["loaded_time"] is None
    assert sorted(x.nickname for x in s.Subject.where({"lab__name": "cortexlab"})) == [
        f"ZM_{i}" for i in range(5)
    ]
    assert s.cache_info["counts"]["experiment/subject"] == 5
    counting.requests.clear()
    assert s.Subject.count() == 5 and len(s.select("subject", {"nickname__startswith": "ZM"})) == 5
    assert counting.requests == []  # fresh store: no request at all
    writer.set(writer.Subject.new(nickname="late"))
    assert s.Subject.count() == 5  # not expired yet
    assert s.Subject.count(query_type="refresh") == 6  # sync for this call
    assert s.Subject.count(query_type="remote") == 6
    s.close()


def test_incremental_sync_sends_only_changes(app, world, tmp_path):
    writer, options, _ = world
    counting = CountingTransport(app)
    s = session(app, options, tmp_path, transport=counting)
    first = s.refresh_cache()
    assert isinstance(first, dt.datetime)
    counting.requests.clear()
    renamed = writer.Subject.one({"nickname": "ZM_0"})
    renamed.nickname = "ZM_zero"
    writer.set(renamed)
    writer.delete(writer.Subject.one({"nickname": "ZM_1"}))
    s.refresh_cache()
    assert counting.requests == [("GET", "/api/changes")]
    local = sorted(x.nickname for x in s.Subject.all(query_type="local"))
    assert local == ["ZM_2", "ZM_3", "ZM_4", "ZM_zero"]
    s.close()


def test_a_session_with_only_a_cache_dir_is_local(app, world, tmp_path):
    _, options, cache = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    location = s.Subject.one({"nickname": "ZM_3"}, query_type="local").location
    s.close()
    offline = labstore.Session({"cache_dir": str(cache)}, file_name=tmp_path / "o.toml")
    assert offline.offline and offline.mode == "local"
    assert offline.get(location).nickname == "ZM_3"
    assert offline.Subject.count() == 5
    assert [
        x.nickname
        for x in offline.query({"__model__": "Subject", "__query__": {"nickname": "ZM_4"}})
    ] == ["ZM_4"]
    assert offline.get(location).lab.name == "cortexlab"  # relations from the store too
    with pytest.raises(NotFound):
        offline.get("experiment/subject/NOSUCH1234")
    with pytest.raises(ForbiddenRequest):
        offline.set(offline.Lab.new(name="x"))
    with pytest.raises(ConfigError):
        offline.Subject.count(query_type="remote")
    offline.close()


def test_auto_mode_falls_back_to_the_store_when_the_server_is_unreachable(app, world, tmp_path):
    _, options, _ = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    s.close()
    token_only = {k: v for k, v in options.items() if k != "password"}
    cut_off = session(app, token_only, tmp_path, mode="auto", transport=Unreachable())
    cut_off.cache_expiry = dt.timedelta(0)
    with pytest.warns(UserWarning, match="cannot be reached"):
        assert cut_off.Subject.count() == 5
    cut_off.close()


def test_lost_access_leaves_the_store_at_the_next_sync(app, world, make_user, tmp_path):
    writer, _, _ = world
    make_user("bob")
    lab = writer.Lab.one({"name": "cortexlab"})
    writer.share(lab, "bob")
    bob = session(app, options_for("bob", tmp_path / "bobcache"), tmp_path)
    bob.refresh_cache()
    assert bob.Lab.count(query_type="local") == 1
    writer.unshare(lab, "bob")
    bob.refresh_cache()
    assert bob.Lab.count(query_type="local") == 0
    bob.close()


def test_a_corrupt_or_newer_store_is_rebuilt(app, world, tmp_path, caplog):
    _, options, _ = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    path = s.local_store.path
    s.close()
    path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    again = session(app, options, tmp_path)
    assert again.Subject.count(query_type="refresh") == 5
    assert "rebuilding the local store" in caplog.text
    again.local_store.set_meta(format="99")
    again.close()
    caplog.clear()
    newest = session(app, options, tmp_path)
    assert newest.Subject.count(query_type="refresh") == 5
    assert "newer labstore" in caplog.text
    newest.close()


def test_rest_answers_are_cached_per_user(app, world, tmp_path):
    writer, options, _ = world
    counting = CountingTransport(app)
    s = session(app, options, tmp_path, transport=counting)
    counting.requests.clear()
    first = s.rest("experiment/subject", "list", lab__name="cortexlab")
    assert len(first) == 5
    assert s.rest("experiment/subject", "list", lab__name="cortexlab") == first
    assert counting.requests == [("GET", "/api/experiment/subject")]
    writer.set(writer.Subject.new(nickname="new", lab=writer.Lab.one()))
    assert len(s.rest("experiment/subject", "list", lab__name="cortexlab")) == 5  # cached
    assert len(s.rest("experiment/subject", "list", no_cache=True, lab__name="cortexlab")) == 6
    with s.no_cache():
        assert s.rest("experiment/subject", "count") == {"count": 6}
    assert s.rest("experiment/subject", "read", id=first[0]["id"])["id"] == first[0]["id"]
    s.rest_cache_expiry = dt.timedelta(0)
    assert len(s.rest("experiment/subject", "list", lab__name="cortexlab")) == 6
    # Another user's session never gets alice's answers.
    make_answers = [r for r in counting.requests if r[1] == "/api/experiment/subject"]
    assert len(make_answers) >= 3
    s.close()
    counting = CountingTransport(app)  # closing a session closes its transport
    uncached = session(app, options, tmp_path, cache_rest=None, transport=counting)
    counting.requests.clear()
    uncached.rest("experiment/subject", "count")
    uncached.rest("experiment/subject", "count")
    assert counting.requests.count(("GET", "/api/experiment/subject/count")) == 2
    uncached.close()


def test_rest_cache_keys_include_the_user(app, world, make_user, tmp_path):
    _, options, _ = world
    make_user("bob")
    alice = session(app, options, tmp_path)
    assert alice.rest("experiment/subject", "count") == {"count": 5}
    bob = session(app, {**options, "username": "bob"}, tmp_path)
    assert bob.rest("experiment/subject", "count") == {"count": 0}
    alice.close()
    bob.close()


def test_with_cache_derives_a_session(app, world, tmp_path):
    _, options, _ = world
    s = session(app, options, tmp_path)
    subject = s.Subject.one()
    quiet = s.with_cache(using_requests=False, using_models=True)
    assert quiet.get(subject.location).nickname == subject.nickname  # from the shared cache
    with pytest.raises(ForbiddenRequest, match="GET /api/experiment/subject"):
        quiet.select("subject")
    fresh = s.with_cache(timeout=5, verbose=True)
    assert fresh.options["request_timeout"] == 5.0
    assert fresh.Subject.count() == 5
    quiet.close()
    assert s.Subject.count() == 5  # closing a derived session leaves its parent working
    s.close()


def test_recursive_get_brings_the_subtree_into_the_store(app, world, tmp_path):
    writer, options, cache = world
    subject = writer.Subject.one({"nickname": "ZM_2"})
    experiment = writer.set(writer.Experiment.new(subject=subject, date="2024-01-02"))
    s = session(app, options, tmp_path)
    s.get(subject.location, recursive=True)
    s.close()
    offline = labstore.Session({"cache_dir": str(cache)}, file_name=tmp_path / "o.toml")
    assert offline.get(experiment.location).subject.nickname == "ZM_2"
    offline.close()


def test_tags_paths_and_folders_work_offline_and_follow_changes(app, world, tmp_path):
    writer, options, cache = world
    subjects = {s.nickname: s for s in writer.Subject.all()}
    writer.tag(subjects["ZM_0"], "good")
    writer.tag(subjects["ZM_1"], "good", "todo", project="lab")
    writer.create_paths("/lab/raw/2024")
    writer.assign_paths({"entity": subjects["ZM_0"], "path": "/lab/raw"})
    s = session(app, options, tmp_path)
    s.refresh_cache()
    writer.untag(subjects["ZM_0"], "good")
    writer.tag(subjects["ZM_2"], "good")
    writer.assign_paths({"entity": subjects["ZM_0"], "path": "/lab/raw/2024", "name": "zero"})
    writer.create_paths("/lab/processed")
    s.refresh_cache()  # an incremental sync brings every change above
    s.close()

    offline = labstore.Session({"cache_dir": str(cache)}, file_name=tmp_path / "o.toml")
    good = offline.Subject.where({"tags__contains": "good"})
    assert sorted(x.nickname for x in good) == ["ZM_1", "ZM_2"]
    assert offline.Subject.count({"tags__isnull": True}) == 3
    assert offline.list_tags(subjects["ZM_1"]) == writer.list_tags(subjects["ZM_1"])
    for path in ("/", "/lab", "/lab/raw", "/lab/raw/2024"):
        assert offline.ls_path(path) == writer.ls_path(path), path
    assert offline.ls_path("/lab", {"resource_type": "folder", "name__icontains": "PRO"}) == [
        {"resource_type": "folder", "name": "processed", "path": "/lab/processed"}
    ]
    assert offline.stat_path("/lab/raw/2024/zero")["location"] == subjects["ZM_0"].location
    located = [subjects["ZM_0"], subjects["ZM_3"].location]
    assert offline.get_paths(*located) == {
        subjects["ZM_0"].location: "/lab/raw/2024/zero",
        subjects["ZM_3"].location: None,
    }
    with pytest.raises(NotFound):
        offline.stat_path("/lab/raw/nothing")
    with pytest.raises(InvalidInput):
        offline.ls_path("relative/path")
    offline.close()

    writer.remove_paths("/lab/raw", recursive=True)
    writer.delete(subjects["ZM_1"])
    s = session(app, options, tmp_path)
    s.refresh_cache()
    assert s.ls_path("/lab", query_type="local") == writer.ls_path("/lab")
    assert s.get_paths(subjects["ZM_0"], query_type="local") == {subjects["ZM_0"].location: None}
    assert [x.nickname for x in s.Subject.where({"tags": "good"}, query_type="local")] == ["ZM_2"]
    with pytest.raises(NotFound):
        s.list_tags(subjects["ZM_1"], query_type="local")
    s.close()


def test_another_users_tags_and_folders_never_reach_the_store(app, world, make_user, tmp_path):
    writer, _, _ = world
    make_user("bob", projects=("other",))
    subjects = {s.nickname: s for s in writer.Subject.all()}
    for subject in subjects.values():
        writer.tag(subject, "seen-by-alice")
    writer.create_paths("/lab/raw")
    writer.assign_paths(*({"entity": s, "path": "/lab/raw"} for s in subjects.values()))
    writer.share(subjects["ZM_4"], "bob")
    bob = session(app, options_for("bob", tmp_path / "bobcache"), tmp_path)
    bob.refresh_cache()
    store = bob.local_store
    with store.engine.connect() as conn:
        tagged = conn.exec_driver_sql("SELECT object_id FROM object_tag").scalars().all()
        filed = conn.exec_driver_sql("SELECT object_id FROM path_entry").scalars().all()
        folders = conn.exec_driver_sql("SELECT path FROM folder").scalars().all()
    assert tagged == filed == [subjects["ZM_4"].id]
    assert folders == []  # lab's folders are its members'
    assert bob.get_paths(subjects["ZM_4"], query_type="local") == {
        subjects["ZM_4"].location: "/lab/raw/ZM_4"
    }
    with pytest.raises(NotFound):
        bob.ls_path("/lab", query_type="local")
    writer.unshare(subjects["ZM_4"], "bob")
    bob.refresh_cache()
    with store.engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT count(*) FROM object_tag").scalar()
        left += conn.exec_driver_sql("SELECT count(*) FROM path_entry").scalar()
    assert left == 0
    bob.close()


def test_a_store_of_an_older_format_syncs_in_full_once(app, world, tmp_path):
    writer, options, _ = world
    writer.tag(writer.Subject.one({"nickname": "ZM_3"}), "good")
    s = session(app, options, tmp_path)
    s.refresh_cache()
    store = s.local_store
    with store.engine.begin() as conn:  # as a format-1 store was: no tags replicated
        conn.exec_driver_sql("DELETE FROM object_tag")
    store.set_meta(format="1")
    s.close()
    again = session(app, options, tmp_path)
    assert again.local_store.get_meta("cursor") is None
    assert again.local_store.get_meta("format") == "2"
    assert again.Subject.count({"tags": "good"}, query_type="refresh") == 1
    again.close()


def test_local_answers_are_stubs_that_load_on_first_use(app, world, tmp_path):
    writer, options, cache = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    s.close()
    offline = labstore.Session({"cache_dir": str(cache)}, file_name=tmp_path / "o.toml")
    found = offline.Subject.where({"nickname__startswith": "ZM_"})
    assert isinstance(found, list) and len(found) == 5
    assert list.__len__(found) == 0  # no object made yet: the list holds the ids
    assert not any("_meta" in vars(x) for x in found)  # only ids were read
    assert [x.location for x in found] == [x.location for x in writer.Subject.all()]
    assert [x.nickname for x in found] == [f"ZM_{i}" for i in range(5)]
    assert all("_meta" in vars(x) and x._stub is None for x in found)
    assert found[0] == writer.get(found[0].location)
    again = offline.Subject.where({"nickname": "ZM_1"})
    offline.local_store.clear()  # the object leaves the store before it is first used
    with pytest.raises(NotFound, match="has left the local store"):
        _ = again[0].nickname
    offline.close()


def test_pattern_searches_through_distinct_values_match_full_scans(
    app, world, tmp_path, monkeypatch
):
    from labstore.client import patterns

    writer, options, _ = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    queries = [
        {"nickname__icontains": "zm_"},
        {"nickname__iendswith": "_3"},
        {"__not__": {"nickname__startswith": "ZM_1"}},
        {"lab": {"name__icontains": "CORTEX"}},
    ]
    scanned = []
    monkeypatch.setattr(patterns, "MAX_DISTINCT", 2)  # too many distinct values: plain scans
    for query in queries:
        scanned.append([x.location for x in s.Subject.where(query, query_type="local")])
    monkeypatch.undo()
    s.local_store.patterns._known.clear()
    for query, expected in zip(queries, scanned, strict=True):
        got = [x.location for x in s.Subject.where(query, query_type="local")]
        assert got == expected, query
        assert got == [x.location for x in s.Subject.where(query, query_type="remote")]
    # A sync that brings a new value is seen: the distinct values follow the file's version.
    writer.set(writer.Subject.new(nickname="zm_late"))
    s.refresh_cache()
    assert s.Subject.count({"nickname__icontains": "LATE"}, query_type="local") == 1
    s.close()


def test_replica_indexes_are_added_to_an_existing_store(app, world, tmp_path):
    _, options, _ = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    path = s.local_store.path
    s.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX ix_replica_experiment_subject_lab_id")
    again = session(app, options, tmp_path)
    assert again.Subject.count({"lab__name": "cortexlab"}, query_type="local") == 5
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM experiment_subject WHERE lab_id = 'x' "
            "ORDER BY created, id"
        ).fetchall()
    assert "COVERING INDEX ix_replica_experiment_subject_lab_id" in str(plan)
    again.close()


def ids_plan(store, model_name, query):
    """The local store's ids statement for a query (after its rewriting), and SQLite's plan."""
    from sqlalchemy.dialects import sqlite

    from labstore.query.jsonquery import parse_query
    from labstore.store.select import page_statement

    parsed = parse_query(store.registry, {"__model__": model_name, "__query__": query})
    node = store.rewrite(parsed.model, parsed.node)
    stmt = page_statement(
        store.compiler, parsed.model, node, parsed.order, limit=None, columns=["id"]
    )
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(store.path) as conn:
        plan = " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    return node, plan


def test_a_condition_on_one_parent_reads_ids_in_order_from_the_replica_index(app, world, tmp_path):
    from labstore.query.ast import Condition, Related

    writer, options, _ = world
    other = writer.set(writer.Lab.new(name="churchland"))
    writer.set(writer.Subject.new(nickname="CH_1", lab=other))
    s = session(app, options, tmp_path)
    s.refresh_cache()
    store = s.local_store
    lab = writer.Lab.one({"name": "cortexlab"})
    node, plan = ids_plan(store, "Subject", {"lab__name": "cortexlab"})
    assert node == Condition("lab", "exact", lab.id)  # the lab's id, looked up first
    assert "USING COVERING INDEX ix_replica_experiment_subject_lab_id (lab_id=?)" in plan
    assert "TEMP B-TREE" not in plan
    # Two labs match: the condition stays a subquery (and the answer is still right).
    node, plan = ids_plan(store, "Subject", {"lab__name__in": ["cortexlab", "churchland"]})
    assert isinstance(node, Related) and "TEMP B-TREE" in plan
    queries = [
        {"lab__name": "cortexlab"},
        {"lab__name__in": ["cortexlab", "churchland"]},
        {"lab__name": "nosuchlab"},
        {"__not__": {"lab__name": "cortexlab"}},
        {"__not__": {"lab__name": "nosuchlab"}},
        {"lab": {"name__icontains": "CHURCH"}},
    ]
    for query in queries:
        local = [x.location for x in s.Subject.where(query, query_type="local")]
        assert local == [x.location for x in s.Subject.where(query, query_type="remote")], query
        assert s.Subject.count(query, query_type="local") == len(local), query
    # A grandparent's condition resolves first, then the parent's.
    subject = writer.Subject.one({"nickname": "CH_1"})
    made = writer.set(writer.Experiment.new(subject=subject, date="2024-01-02"))
    s.refresh_cache()
    found = s.Experiment.where({"subject__lab__name": "churchland"}, query_type="local")
    assert [x.location for x in found] == [made.location]
    assert ids_plan(store, "Experiment", {"subject__lab__name": "churchland"})[0] == Condition(
        "subject", "exact", subject.id
    )
    s.close()


def test_a_query_and_its_lookups_read_one_state_of_the_store(app, world, tmp_path):
    _, options, _ = world
    s = session(app, options, tmp_path)
    s.refresh_cache()
    store = s.local_store
    lab = s.Lab.one(query_type="local")
    with store.statements.snapshot():
        before = s.Subject.count({"lab__name": "cortexlab"}, query_type="local")
        with store.engine.begin() as conn:  # a sync committing meanwhile
            conn.exec_driver_sql("DELETE FROM experiment_subject WHERE lab_id = ?", (lab.id,))
        assert s.Subject.count({"lab__name": "cortexlab"}, query_type="local") == before == 5
    assert s.Subject.count({"lab__name": "cortexlab"}, query_type="local") == 0
    s.close()

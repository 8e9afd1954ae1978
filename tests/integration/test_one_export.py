"""ONE interop: the local store exported as ONE-api cache tables, opened with the real ONE-api.

Objects are made through the real app (in-process), synced into a local store, exported with
``export_one_cache`` (and the ``labstore export-one-cache`` command), then opened with ONE-api
3.6.1 in local mode: its searches must find the experiments and datasets that the equivalent
labstore queries find on the same store.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import one.api as one_api  # ONE-api 3.6.1, a test dependency (the dev extra)
import pytest
import tomli_w
from click.testing import CliRunner

import labstore
from labstore.cli import main
from labstore.client.one_export import export_one_cache, one_uuid, rel_path
from tests.conftest import PASSWORD
from tests.support.inprocess import AppTransport

# ONE-api 3.6.1 under pandas 3 warns about its own use of ``astype(copy=False)``.
pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")

NOT_CRITICAL = {"__not__": "CRITICAL"}  # ONE's searches and listings skip CRITICAL datasets


@pytest.fixture(autouse=True)
def one_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ONE-api keeps its parameter files under ~: give it a home of its own, and a fresh ONE."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ONE_SAVE_ON_DELETE", raising=False)
    for name in list(os.environ):
        if name.startswith("LABSTORE_"):
            monkeypatch.delenv(name)
    one_api.ONE.cache_clear()  # the factory is lru-cached
    yield
    one_api.ONE.cache_clear()


def open_one(dest: Path) -> Any:
    one = one_api.ONE(cache_dir=str(dest), mode="local")
    assert type(one) is one_api.One and one.offline  # local files only: no Alyx client
    return one


@pytest.fixture
def world(app: Any, make_user: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two labs, three subjects, experiments with datasets; and bob's private experiment."""
    make_user("alice", projects=("ibl",))
    make_user("bob")
    options = {
        "location": "http://testserver",
        "username": "alice",
        "password": PASSWORD,
        "cache_dir": str(tmp_path / "cache"),
    }
    w = labstore.Session(options, file_name=tmp_path / "w.toml", transport=AppTransport(app))
    cortex = w.set(w.Lab.new(name="cortexlab"))
    church = w.set(w.Lab.new(name="churchlandlab"))
    ks023 = w.set(w.Subject.new(nickname="KS023", lab=cortex))
    ks024 = w.set(w.Subject.new(nickname="KS024", lab=cortex))
    ch001 = w.set(w.Subject.new(nickname="CSHL001", lab=church))
    day = dt.date(2024, 1, 1)
    experiments = []
    for i in range(6):
        experiments.append(
            w.set(
                w.Experiment.new(
                    subject=ks023, lab=cortex, date=day + dt.timedelta(days=i), number=1,
                    task_protocol="_iblrig_tasks_trainingChoiceWorld6.4.2",
                    projects=["ibl_neuropixel_brainwide_01", "ibl_training"],
                )
            )
        )  # fmt: skip
    second = w.set(w.Experiment.new(subject=ks023, lab=cortex, date=day, number=2))
    other = w.set(w.Experiment.new(subject=ks024, lab=cortex, date=day + dt.timedelta(days=2)))
    # No lab of its own: the export takes its subject's lab, as an Alyx session would have.
    labless = w.set(w.Experiment.new(subject=ch001, date=day + dt.timedelta(days=3)))
    empty = w.set(w.Experiment.new(subject=ch001, lab=church, date=day + dt.timedelta(days=4)))
    for n, exp in enumerate([*experiments, second, other, labless]):
        w.set(w.Dataset.new(experiment=exp, collection="alf", name="trials.table.pqt",
                            size=1000 + n, hash=f"{n:032x}", qc="PASS"))  # fmt: skip
        if n % 2 == 0:
            w.set(w.Dataset.new(experiment=exp, collection="alf/probe00",
                                name="spikes.times.npy", size=10**9 + n, qc="WARNING"))  # fmt: skip
    # Revisions, CRITICAL QC (which ONE's searches skip) and an empty size.
    w.set(w.Dataset.new(experiment=experiments[1], collection="alf/probe00", revision="2024-05-06",
                        name="spikes.times.npy", qc="NOT_SET", default_revision=True))  # fmt: skip
    w.set(w.Dataset.new(experiment=experiments[3], collection="alf/probe00",
                        name="spikes.times.npy", qc="CRITICAL"))  # fmt: skip
    w.set(w.Dataset.new(experiment=other, name="_iblrig_taskData.raw.jsonable", qc="FAIL"))
    # bob's own lab and experiment, which alice may not see: not in her store, nor her export.
    b = labstore.Session(
        {**options, "username": "bob", "cache_dir": str(tmp_path / "bobcache")},
        file_name=tmp_path / "b.toml",
        transport=AppTransport(app),
    )
    blab = b.set(b.Lab.new(name="bobslab"))
    bsub = b.set(b.Subject.new(nickname="KS023", lab=blab))
    bexp = b.set(b.Experiment.new(subject=bsub, lab=blab, date=day))
    b.set(b.Dataset.new(name="spikes.times.npy", experiment=bexp))
    b.close()
    s = labstore.Session(options, file_name=tmp_path / "r.toml", transport=AppTransport(app))
    s.refresh_cache()
    yield {
        "writer": w, "session": s, "options": options, "experiments": experiments,
        "second": second, "other": other, "labless": labless, "empty": empty,
    }  # fmt: skip
    s.close()
    w.close()


def eids(objects: Any) -> set[uuid.UUID]:
    return {one_uuid(o.location) for o in objects}


def local(s: labstore.Session, query: dict[str, Any]) -> set[uuid.UUID]:
    found = eids(s.Experiment.where(query, query_type="local"))
    assert found, f"the test data should make {query} find something"
    return found


def listed(one: Any, eid: uuid.UUID, **kwargs: Any) -> list[str]:
    """``one.list_datasets(eid)``, which answers an empty data frame for a session without any."""
    answer = one.list_datasets(eid, **kwargs)
    return answer if isinstance(answer, list) else list(answer["rel_path"])


def test_one_finds_what_labstore_finds(world: dict[str, Any], tmp_path: Path) -> None:
    s = world["session"]
    dest = tmp_path / "one"
    counts = export_one_cache(s.local_store, dest)
    assert {p.name for p in dest.iterdir()} == {"sessions.pqt", "datasets.pqt", "cache_info.json"}
    n_experiments = s.Experiment.count(query_type="local")
    n_datasets = s.Dataset.count(query_type="local")
    assert (counts["sessions"], counts["datasets"]) == (n_experiments, n_datasets) == (10, 17)
    assert counts["skipped_datasets"] == 0
    one = open_one(dest)
    assert len(one._cache.sessions) == n_experiments and len(one._cache.datasets) == n_datasets
    assert set(one._cache.sessions.index) == eids(s.Experiment.all(query_type="local"))
    assert "bobslab" not in set(one._cache.sessions["lab"])

    # by lab (the experiment's lab, else its subject's)
    for lab in ("cortexlab", "churchlandlab"):
        by_lab = {"__or__": [{"lab__name": lab}, {"lab": None, "subject__lab__name": lab}]}
        assert set(one.search(lab=lab)) == local(s, by_lab)
    assert one_uuid(world["labless"].location) in set(one.search(lab="churchlandlab"))
    assert one.search(lab="bobslab") == []

    # by subject and date range (both ends included); ONE's subject is a partial match
    found = one.search(subject="KS023", date_range=["2024-01-02", "2024-01-04"])
    assert set(found) == local(
        s, {"subject__nickname": "KS023", "date__range": ["2024-01-02", "2024-01-04"]}
    )
    assert len(found) == 3
    assert set(one.search(subject="KS02")) == local(s, {"subject__nickname__contains": "KS02"})
    assert set(one.search(date_range="2024-01-01")) == local(s, {"date": "2024-01-01"})

    # by dataset name, exactly and by pattern (ONE: a regular expression on the file name)
    exact = {"datasets": {"name": "spikes.times.npy", "qc": NOT_CRITICAL}}
    assert set(one.search(datasets="spikes.times.npy")) == local(s, exact)
    critical_only = one_uuid(world["experiments"][3].location)
    assert critical_only not in local(s, exact)
    assert critical_only in local(s, {"datasets__name": "spikes.times.npy"})
    pattern = {"datasets": {"name__icontains": "times", "qc": NOT_CRITICAL}}
    assert set(one.search(datasets=".*times.*")) == local(s, pattern)
    both = {
        "__and__": [
            {"datasets": {"name": "spikes.times.npy", "qc": NOT_CRITICAL}},
            {"datasets": {"name": "trials.table.pqt", "qc": NOT_CRITICAL}},
        ]
    }
    assert set(one.search(datasets=["spikes.times.npy", "trials.table.pqt"])) == local(s, both)
    assert set(one.search(task_protocol="training")) == local(
        s, {"task_protocol__contains": "training"}
    )
    assert set(one.search(projects="ibl_training")) == local(
        s, {"projects": {"__contains__": "ibl_training"}}
    )
    assert set(one.search(number=2)) == local(s, {"number": 2})

    # the datasets of one experiment
    for exp in [*world["experiments"], world["other"], world["empty"]]:
        mine = list(s.Dataset.where({"experiment": exp.location}, query_type="local"))
        paths = sorted(rel_path(d.collection, d.revision, d.name) for d in mine)
        eid = one_uuid(exp.location)
        assert listed(one, eid, qc="CRITICAL") == paths
        assert listed(one, eid) == sorted(
            rel_path(d.collection, d.revision, d.name) for d in mine if d.qc != "CRITICAL"
        )
    assert listed(one, one_uuid(world["empty"].location)) == []
    revised = one.list_datasets(one_uuid(world["experiments"][1].location))
    assert "alf/probe00/#2024-05-06#/spikes.times.npy" in revised


def test_exported_fields_and_ids(world: dict[str, Any], tmp_path: Path) -> None:
    s = world["session"]
    export_one_cache(s.local_store, tmp_path / "one")
    one = open_one(tmp_path / "one")
    exp = world["experiments"][0]
    details = one.get_details(one_uuid(exp.location))
    assert (details["lab"], details["subject"], details["number"]) == ("cortexlab", "KS023", 1)
    assert details["date"] == dt.date(2024, 1, 1)
    assert details["task_protocol"] == "_iblrig_tasks_trainingChoiceWorld6.4.2"
    assert details["projects"] == "ibl_neuropixel_brainwide_01,ibl_training"
    second = one.get_details(one_uuid(world["second"].location))
    assert (second["number"], second["task_protocol"], second["projects"]) == (2, "", "")
    frame = one.list_datasets(one_uuid(exp.location), details=True)
    by_path = {row.rel_path: row for row in frame.itertuples()}
    trials = s.Dataset.one({"experiment": exp.location, "name": "trials.table.pqt"}, "local")
    row = by_path["alf/trials.table.pqt"]
    assert row.Index == one_uuid(trials.location)
    assert (row.file_size, row.hash, row.qc, row.exists) == (1000, f"{0:032x}", "PASS", True)
    assert bool(row.default_revision) is True
    assert str(one._cache.datasets["qc"].dtype) == "category"
    assert one._cache.datasets["qc"].cat.ordered
    assert one._cache.datasets.index.is_monotonic_increasing  # written sorted: ONE need not sort
    assert one._cache.sessions.index.is_monotonic_increasing
    # The same ids on every export, however the tables are chunked.
    again = export_one_cache(s.local_store, tmp_path / "again", chunk_rows=3)
    assert again["datasets"] == 17
    one_api.ONE.cache_clear()
    other = open_one(tmp_path / "again")
    assert other._cache.datasets.index.equals(one._cache.datasets.index)
    assert other._cache.sessions.equals(one._cache.sessions)


def test_export_follows_the_store(world: dict[str, Any], tmp_path: Path) -> None:
    s, w = world["session"], world["writer"]
    gone = world["other"]
    w.delete(gone)  # its datasets go with it
    w.set(w.Experiment.new(subject=w.Subject.one({"nickname": "KS024"}), date=dt.date(2024, 3, 1)))
    s.refresh_cache()
    counts = export_one_cache(s.local_store, tmp_path / "one")
    assert counts["sessions"] == 10 and counts["datasets"] == 15
    one = open_one(tmp_path / "one")
    assert one_uuid(gone.location) not in set(one._cache.sessions.index)
    assert set(one.search(subject="KS024")) == local(s, {"subject__nickname": "KS024"})


def test_an_empty_store_exports_empty_tables(app: Any, make_user: Any, tmp_path: Path) -> None:
    make_user("carol")
    options = {"location": "http://testserver", "username": "carol", "password": PASSWORD,
               "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    with labstore.Session(options, file_name=tmp_path / "c.toml", transport=AppTransport(app)) as s:
        s.refresh_cache()
        counts = export_one_cache(s.local_store, tmp_path / "one")
    assert (counts["sessions"], counts["datasets"]) == (0, 0)
    one = open_one(tmp_path / "one")
    assert one.search(lab="x") == [] and one.search(datasets="x") == []
    assert one._cache.sessions.empty and one._cache.datasets.empty
    # (ONE's list_datasets() fails on an empty datasets table, its own writer's included: the
    # QC categories live in the data pages, and an empty Parquet file has none.)


# -- the command ------------------------------------------------------------------------------


def write_config(path: Path, **profile: str) -> Path:
    path.write_text(tomli_w.dumps({"default_profile": "lab", "profiles": {"lab": profile}}))
    return path


def test_cli_exports_a_synced_store_offline(world: dict[str, Any], tmp_path: Path) -> None:
    s = world["session"]
    cache = world["options"]["cache_dir"]
    runner = CliRunner()
    # A profile with only a cache_dir is a local session: no network at all.
    config = write_config(tmp_path / "local.toml", cache_dir=cache)
    dest = tmp_path / "cli-one"
    result = runner.invoke(main, ["export-one-cache", str(dest), "--config", str(config)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"wrote 10 sessions and 17 datasets to {dest}" in result.stdout
    one = open_one(dest)
    exact = {"datasets": {"name": "spikes.times.npy", "qc": NOT_CRITICAL}}
    assert set(one.search(datasets="spikes.times.npy")) == local(s, exact)
    # A full profile, named, with --offline: exports without trying the server.
    full = write_config(tmp_path / "full.toml", location="http://testserver",
                        username="alice", cache_dir=cache)  # fmt: skip
    dest2 = tmp_path / "cli-two"
    result = runner.invoke(
        main,
        ["export-one-cache", str(dest2), "--config", str(full), "--profile", "lab", "--offline"],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "wrote 10 sessions and 17 datasets" in result.stdout


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "profile, words",
    [
        ({}, ["no server location"]),
        (
            {"location": "http://127.0.0.1:{port}", "username": "alice"},
            ["local store", "cache_dir"],
        ),
        (
            {"location": "http://127.0.0.1:{port}", "username": "alice", "cache_dir": "{cache}"},
            ["127.0.0.1"],
        ),
    ],
    ids=["no-location", "no-cache-dir", "server-unreachable"],
)
def test_cli_errors_are_one_line(tmp_path: Path, profile: dict[str, str], words: list[str]) -> None:
    port = unused_port()
    values = {k: v.format(port=port, cache=tmp_path / "cache") for k, v in profile.items()}
    config = write_config(tmp_path / "c.toml", **values)
    offline = ["--offline"] if "cache_dir" not in values and values else []
    result = CliRunner().invoke(
        main, ["export-one-cache", str(tmp_path / "out"), "--config", str(config), *offline]
    )
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "out" / "sessions.pqt").exists()

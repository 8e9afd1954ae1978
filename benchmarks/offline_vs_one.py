"""Offline labstore beside ONE-api: the same experiments searched both ways, in one run.

The data are the ``experiment`` pack shaped like an IBL/Alyx database: by default 20 labs,
1,000 subjects, 20,000 experiments (Alyx sessions) and 1,000,000 datasets (50 per experiment,
ALF names such as ``trials.table.pqt`` or ``spikes.times.npy``). They are generated straight
into a labstore local store (the SQLite replica an offline ``Session`` reads), then exported
to ONE's cache tables with ``labstore.client.one_export.export_one_cache`` (what
``labstore export-one-cache`` writes), so both sides hold exactly the same data.

Each side then runs in a subprocess of its own (so its peak memory is its own) and times:

* opening: ``labstore.Session({"cache_dir": DIR})`` and a first query, beside
  ``ONE(cache_dir=DIR, mode="local")`` (imports are done before the clock starts);
* search by lab; by subject and date range; by dataset name exactly and by pattern;
* listing the datasets of one experiment;
* peak memory: the process's high-water resident memory (``VmHWM``) at the end.

ONE's searches answer lists of eids; labstore's answer lists of model objects, made when the
list is first used (``LazyResultList``): the table times each call as it returns, and the
breakdown also gives the time of the call with every object of its answer made. Every
search's answer is compared between the two sides (ONE's UUIDs are the labstore locations'
``one_uuid``). The labstore side also reports what its numbers are made of: the same query in
the store alone (ids only, no objects built), and its SQL run bare.
``EXPLAIN QUERY PLAN`` shows which searches scan a whole table.

Last, the sync figure: a real ``labstore serve`` with ``--sync-datasets`` datasets (20,000
by default, loaded through the API: a million would take most of an hour that way), a full
sync of a fresh local store, then 1% of the datasets changed and a sync again; the bytes of
``GET /api/changes`` answers are counted by a transport wrapping ``httpx.HTTPTransport``.

Usage::

    .venv/bin/python benchmarks/offline_vs_one.py           # default run, about 3 minutes
    .venv/bin/python benchmarks/offline_vs_one.py --quick   # a smoke test, under a minute
    .venv/bin/python benchmarks/offline_vs_one.py --experiments 5000 --datasets 250000

The figures are also written to ``benchmarks/results/offline_vs_one.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

USERNAME = "bench"
PASSWORD = "pw12345"
SEED = 20240501
STORE_SERVER = "bench.invalid"  # the store's folder: <cache_dir>/<server>/<user>/store.sqlite3


@dataclass(frozen=True)
class Plan:
    labs: int
    subjects: int
    experiments: int
    datasets: int
    sync_datasets: int
    runs: int
    budget_s: float


DEFAULT_PLAN = Plan(20, 1000, 20_000, 1_000_000, 20_000, runs=15, budget_s=20.0)
QUICK_PLAN = Plan(20, 100, 1000, 50_000, 5_000, runs=5, budget_s=5.0)

TARGETS = {  # how many times faster (or smaller) than ONE labstore must be
    "open": 100.0,
    "lab": 10.0,
    "subject_dates": 10.0,
    "dataset_exact": 100.0,
    "dataset_pattern": 100.0,
    "list_datasets": 10.0,
    "peak_memory": 4.0,
}
SYNC_TARGET = 0.03  # incremental bytes / full bytes after 1% of the datasets changed


# -- the data ---------------------------------------------------------------------------------

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # labstore's ids: Crockford's base32
_ID_SPACE = 1 << 50
_ID_STEP = 0x1B3F_5D7E_9A2C_5  # odd, so ``i * step mod 2**50`` never repeats


def make_id(serial: int) -> str:
    """A 10-character id as labstore makes them, unique for each serial number."""
    v = (serial * _ID_STEP + 0x2468_ACE0_1357) % _ID_SPACE
    return "".join(_ALPHABET[(v >> shift) & 31] for shift in range(45, -1, -5))


LAB_PREFIXES = ("KS", "CSH_ZAD", "SWC", "NYU", "ibl_witten", "DY", "UCLA", "ZFM", "MFD", "PL")
PROTOCOLS = tuple(
    f"_iblrig_tasks_{task}ChoiceWorld{version}"
    for task in ("training", "biased", "ephys", "passive", "habituation")
    for version in ("6.4.2", "7.2.3", "8.12.1")
)
_TRIALS = (
    "table.pqt",
    "goCue_times.npy",
    "stimOn_times.npy",
    "feedback_times.npy",
    "response_times.npy",
    "choice.npy",
    "contrastLeft.npy",
    "contrastRight.npy",
    "feedbackType.npy",
    "firstMovement_times.npy",
    "intervals.npy",
    "probabilityLeft.npy",
    "rewardVolume.npy",
    "stimOff_times.npy",
    "goCueTrigger_times.npy",
    "quiescencePeriod.npy",
)
_CAMERAS = ("left", "right", "body")
BEHAVIOUR = (
    [("alf", f"trials.{a}") for a in _TRIALS]
    + [("alf", f"wheel.{a}.npy") for a in ("position", "timestamps")]
    + [("alf", f"wheelMoves.{a}.npy") for a in ("intervals", "peakAmplitude")]
    + [("alf", "licks.times.npy")]
    + [
        ("alf", f"_ibl_{c}Camera.{a}")
        for c in _CAMERAS
        for a in ("times.npy", "dlc.pqt", "features.pqt")
    ]
    + [
        ("raw_behavior_data", f"_iblrig_{a}")
        for a in (
            "taskData.raw.jsonable",
            "taskSettings.raw.json",
            "encoderEvents.raw.ssv",
            "encoderPositions.raw.ssv",
            "encoderTrialInfo.raw.ssv",
            "ambientSensorData.raw.jsonable",
            "stimPositionScreen.raw.csv",
            "syncSquareUpdate.raw.csv",
        )
    ]
    + [
        ("raw_video_data", f"_iblrig_{c}Camera.{a}")
        for c in _CAMERAS
        for a in ("raw.mp4", "frameData.bin", "timestamps.ssv")
    ]
    + [("alf", f"_ibl_passive{a}.table.csv") for a in ("Gabor", "Stims", "RFMap")]
    + [("alf", f"_ibl_{c}Camera.ROIMotionEnergy.npy") for c in _CAMERAS]
)
_PROBE = (
    [
        (f"alf/probe0{p}", f"spikes.{a}.npy")
        for p in (0, 1)
        for a in ("times", "clusters", "amps", "depths")
    ]
    + [(f"alf/probe0{p}", f"clusters.{a}") for p in (0, 1) for a in ("metrics.pqt", "channels.npy")]
    + [
        (f"alf/probe0{p}", f"channels.{a}.npy")
        for p in (0, 1)
        for a in ("localCoordinates", "rawInd")
    ]
    + [
        (f"raw_ephys_data/probe0{p}", f"_spikeglx_ephysData_g0_t0.imec{p}.{a}.cbin")
        for p in (0, 1)
        for a in ("ap", "lf")
    ]
)
QC = ("NOT_SET", "PASS", "WARNING", "FAIL")  # no CRITICAL: ONE's searches would skip those
FIRST_DAY = dt.date(2020, 1, 1)
DAYS = (dt.date(2024, 12, 31) - FIRST_DAY).days + 1
EPHYS_EVERY = 10  # one experiment in ten records from probes (and has spikes.times.npy)


class LabData:
    """Deterministic rows of the experiment pack, in the local store's columns."""

    def __init__(self, labs: int, subjects: int, experiments: int, datasets: int) -> None:
        self.labs, self.subjects, self.experiments = labs, subjects, experiments
        self.per_experiment = max(1, datasets // experiments)
        self.datasets = self.per_experiment * experiments
        self.now = dt.datetime.now(dt.UTC)
        width = min(len(BEHAVIOUR), self.per_experiment)
        self.catalogs = (
            BEHAVIOUR[:width],
            (BEHAVIOUR[: max(0, width - len(_PROBE))] + _PROBE)[:width],
        )
        if self.per_experiment > len(BEHAVIOUR):
            raise ValueError(f"at most {len(BEHAVIOUR)} datasets per experiment")

    # ids: labs, then subjects, experiments, datasets
    def lab_id(self, i: int) -> str:
        return make_id(i)

    def subject_id(self, i: int) -> str:
        return make_id(self.labs + i)

    def experiment_id(self, j: int) -> str:
        return make_id(self.labs + self.subjects + j)

    def dataset_id(self, k: int) -> str:
        return make_id(self.labs + self.subjects + self.experiments + k)

    def _common(self, ident: str, i: int, n: int) -> dict[str, Any]:
        created = self.now - dt.timedelta(days=365) * (1 - i / max(1, n))
        return {
            "id": ident,
            "version": 1,
            "owner": USERNAME,
            "project": None,
            "created": created,
            "modified": created,
            "safety_level": 2,
            "access_group": ident,
        }

    def lab_name(self, i: int) -> str:
        return f"lab{i:02d}"

    def nickname(self, i: int) -> str:
        return f"{LAB_PREFIXES[(i % self.labs) % len(LAB_PREFIXES)]}_{i:04d}"

    def subject_of(self, j: int) -> int:
        return j % self.subjects

    def date_of(self, j: int) -> dt.date:
        """Experiments of a subject spread over the five years, none on the same day."""
        k = j // self.subjects
        per_subject = -(-self.experiments // self.subjects)
        step = max(1, DAYS // per_subject)
        jitter = (j * 37) % max(1, step - 1)
        return FIRST_DAY + dt.timedelta(days=(k * step + jitter) % DAYS)

    def is_ephys(self, j: int) -> bool:
        return j % EPHYS_EVERY == 0

    def lab_rows(self) -> list[dict[str, Any]]:
        return [
            {
                **self._common(self.lab_id(i), i, self.labs),
                "name": self.lab_name(i),
                "institution": f"Institute {i % 7}",
                "timezone": "Europe/London",
            }
            for i in range(self.labs)
        ]

    def subject_rows(self) -> list[dict[str, Any]]:
        return [
            {
                **self._common(self.subject_id(i), i, self.subjects),
                "nickname": self.nickname(i),
                "species": "Mus musculus",
                "strain": "C57BL/6J",
                "sex": "MF"[i % 2],
                "birth_date": FIRST_DAY - dt.timedelta(days=90 + i % 365),
                "description": None,
                "lab_id": self.lab_id(i % self.labs),
            }
            for i in range(self.subjects)
        ]

    def experiment_rows(self, first: int, last: int) -> list[dict[str, Any]]:
        rng = random.Random(SEED + first)
        rows = []
        for j in range(first, last):
            subject = self.subject_of(j)
            date = self.date_of(j)
            start = dt.datetime(date.year, date.month, date.day, 8, tzinfo=dt.UTC)
            start += dt.timedelta(seconds=rng.randrange(10 * 3600))
            rows.append(
                {
                    **self._common(self.experiment_id(j), j, self.experiments),
                    "date": date,
                    "number": 1,
                    "task_protocol": PROTOCOLS[rng.randrange(len(PROTOCOLS))],
                    "projects": ["ibl_neuropixel_brainwide_01"]
                    if self.is_ephys(j)
                    else ["ibl_behaviour"],
                    "start_time": start,
                    "end_time": start + dt.timedelta(seconds=3600),
                    "narrative": None,
                    "qc": QC[j % len(QC)],
                    "subject_id": self.subject_id(subject),
                    "lab_id": self.lab_id(subject % self.labs),
                }
            )
        return rows

    def dataset_rows(self, first_experiment: int, last_experiment: int) -> list[dict[str, Any]]:
        rng = random.Random(SEED + 7 * first_experiment)
        rows = []
        n = self.per_experiment
        for j in range(first_experiment, last_experiment):
            catalog = self.catalogs[1 if self.is_ephys(j) else 0]
            for position, (collection, name) in enumerate(catalog):
                k = j * n + position
                rows.append(
                    {
                        **self._common(self.dataset_id(k), k, self.datasets),
                        "access_group": self.experiment_id(j),
                        "collection": collection,
                        "revision": "",
                        "name": name,
                        "size": rng.randrange(1_000, 5_000_000_000),
                        "hash": f"{rng.getrandbits(128):032x}",
                        "qc": QC[k % len(QC)],
                        "default_revision": True,
                        "experiment_id": self.experiment_id(j),
                        "file_id": None,
                    }
                )
        return rows

    # what the searches look for --------------------------------------------------------------
    @property
    def probe_lab(self) -> str:
        return self.lab_name(min(7, self.labs - 1))

    @property
    def probe_subject(self) -> int:
        return min(421, self.subjects - 1)

    @property
    def probe_experiment(self) -> int:
        """An ephys experiment in the middle, whose datasets are listed."""
        middle = self.experiments // 2
        return middle - middle % EPHYS_EVERY


def build_store(path: Path, data: LabData) -> dict[str, Any]:
    """Write the rows into a new local store at ``path`` (SQLAlchemy Core, in chunks)."""
    from sqlalchemy import text

    from labstore.client.store import LocalStore
    from labstore.schema.packs import builtin_registry
    from labstore.store.engine import write_transaction

    registry = builtin_registry()
    store = LocalStore.open(path, registry)  # tables, and meta format/models/created_time
    tables = {
        key: store.tables(registry.model(key))
        for key in (
            "experiment/lab",
            "experiment/subject",
            "experiment/experiment",
            "experiment/dataset",
        )
    }
    began = time.perf_counter()
    with store.engine.connect() as conn:  # indexes are built once, sorted, after the rows
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('experiment_experiment', 'experiment_dataset')"
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.commit()
    chunk = 500
    with write_transaction(store.engine) as conn:
        conn.execute(tables["experiment/lab"].insert(), data.lab_rows())
        conn.execute(tables["experiment/subject"].insert(), data.subject_rows())
    for first in range(0, data.experiments, chunk):
        last = min(data.experiments, first + chunk)
        with write_transaction(store.engine) as conn:
            conn.execute(
                tables["experiment/experiment"].insert(), data.experiment_rows(first, last)
            )
            conn.execute(tables["experiment/dataset"].insert(), data.dataset_rows(first, last))
    with store.engine.connect() as conn:
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
        conn.commit()
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    store.set_meta(loaded_time=dt.datetime.now(dt.UTC).isoformat())
    counts = store.counts()
    store.close()
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "counts": counts,
        "bytes": path.stat().st_size,
    }


# -- the searches -------------------------------------------------------------------------------


def searches(data: LabData) -> list[dict[str, Any]]:
    """Each search as labstore asks it and as ONE does (the same answer, by construction)."""
    nickname = data.nickname(data.probe_subject)
    return [
        {
            "key": "lab",
            "label": f"search by lab ({data.probe_lab})",
            "labstore": {"lab__name": data.probe_lab},
            "one": {"lab": data.probe_lab},
        },
        {
            "key": "subject_dates",
            "label": "search by subject + date range (one year)",
            "labstore": {
                "subject__nickname": nickname,
                "date__range": ["2022-01-01", "2022-12-31"],
            },
            "one": {"subject": nickname, "date_range": ["2022-01-01", "2022-12-31"]},
        },
        {
            "key": "dataset_exact",
            "label": "search by dataset name (spikes.times.npy)",
            "labstore": {"datasets": {"name": "spikes.times.npy"}},
            "one": {"datasets": "spikes.times.npy"},
        },
        {
            "key": "dataset_pattern",
            "label": "search by dataset name pattern (spikes.times)",
            "labstore": {"datasets": {"name__icontains": "spikes.times"}},
            "one": {"datasets": r"(?i).*spikes\.times.*"},
        },
    ]


def timed_runs(call: Callable[[], Any], runs: int, budget_s: float) -> tuple[list[float], Any]:
    """Durations of up to ``runs`` calls (at least one; fewer once ``budget_s`` is spent)."""
    durations: list[float] = []
    answer = None
    spent = 0.0
    while len(durations) < runs and (not durations or spent < budget_s):
        began = time.perf_counter()
        answer = call()
        durations.append(time.perf_counter() - began)
        spent += durations[-1]
    return durations, answer


def figure(durations: Sequence[float]) -> dict[str, Any]:
    return {
        "median_ms": round(1000 * statistics.median(durations), 3),
        "min_ms": round(1000 * min(durations), 3),
        "runs": len(durations),
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory, MiB.

    ``VmHWM`` of ``/proc/self/status``: the high-water mark of this program's own memory.
    (``getrusage().ru_maxrss`` would not do in a subprocess: Linux keeps the maximum across
    ``execve``, so a child would report the parent's memory at fork time.)
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the two workers (each in a subprocess of its own) ---------------------------------------


def labstore_worker(spec: dict[str, Any]) -> dict[str, Any]:
    began = time.perf_counter()
    import labstore
    from labstore.client.one_export import one_uuid, rel_path
    from labstore.query.jsonquery import parse_query

    imported = time.perf_counter() - began
    rss_imported = peak_rss_mib()
    config = Path(spec["work"]) / "labstore-worker.toml"
    began = time.perf_counter()
    s = labstore.Session({"cache_dir": spec["cache_dir"]}, file_name=config)
    first = s.Experiment.first(1, query_type="local")
    opened = time.perf_counter() - began
    assert len(first) == 1
    out: dict[str, Any] = {
        "import_s": round(imported, 3),
        "rss_after_import_mib": round(rss_imported, 1),
        "open": figure([opened]),
        "searches": {},
        "store_only": {},
    }
    store = s.local_store
    assert store is not None
    sql: dict[str, str] = {}
    calls: list[tuple[str, Callable[[], Sequence[Any]], Any]] = []
    for search in spec["searches"]:

        def run(query: dict[str, Any] = search["labstore"]) -> Sequence[Any]:
            return s.Experiment.where(query, query_type="local")

        parsed = parse_query(
            s.registry, {"__model__": "Experiment", "__query__": search["labstore"]}
        )
        calls.append((search["key"], run, parsed))
    location = spec["list_experiment"]

    def listing() -> Sequence[Any]:
        return s.Dataset.where({"experiment": location}, query_type="local")

    parsed = parse_query(
        s.registry, {"__model__": "Dataset", "__query__": {"experiment": location}}
    )
    calls.append(("list_datasets", listing, parsed))
    out["objects_made"] = {}
    for key, call, parsed in calls:
        # The call as a user makes it: the answer is a list whose objects are made when it
        # is first used (ONE's search answers a list of eids).
        durations, answer = timed_runs(call, spec["runs"], spec["budget_s"])
        if key == "list_datasets":
            found = sorted(rel_path(d.collection, d.revision, d.name) for d in answer)
        else:
            found = sorted(str(one_uuid(o.location)) for o in answer)
        out["searches"][key] = {**figure(durations), "answer": found}
        # The call and every object of its answer made (iterated once).
        durations, _ = timed_runs(lambda call=call: list(call()), spec["runs"], spec["budget_s"])
        out["objects_made"][key] = figure(durations)
        durations, _ = timed_runs(
            lambda p=parsed: store.query_ids(p), spec["runs"], spec["budget_s"]
        )
        out["store_only"][key] = figure(durations)
        sql[key] = compiled_sql(store, parsed)
    path = store.path
    s.close()
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    out["raw_sql"] = {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        conn.execute("PRAGMA case_sensitive_like=ON")  # as the store's engine sets it
        for key, text in sql.items():
            durations, _ = timed_runs(
                lambda text=text: conn.execute(text).fetchall(), spec["runs"], spec["budget_s"]
            )
            out["raw_sql"][key] = figure(durations)
    return out


def compiled_sql(store: Any, parsed: Any) -> str:
    """The SQL the local store runs for a parsed query (``LocalStore.query_ids``: pattern
    conditions as their matching distinct values), values inlined."""
    from sqlalchemy.dialects import sqlite

    from labstore.store.select import page_statement

    node = store.rewrite(parsed.model, parsed.node)
    stmt = page_statement(
        store.compiler, parsed.model, node, parsed.order, limit=None, columns=["id"]
    )
    return str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def one_worker(spec: dict[str, Any]) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")  # ONE-api 3.6.1 under pandas 3: deprecation warnings
    began = time.perf_counter()
    from one.api import ONE

    imported = time.perf_counter() - began
    rss_imported = peak_rss_mib()
    began = time.perf_counter()
    one = ONE(cache_dir=spec["one_dir"], mode="local")
    opened = time.perf_counter() - began
    out: dict[str, Any] = {
        "import_s": round(imported, 3),
        "rss_after_import_mib": round(rss_imported, 1),
        "open": figure([opened]),
        "searches": {},
        "class": type(one).__name__,
        "sessions": len(one._cache["sessions"]),
        "datasets": len(one._cache["datasets"]),
    }
    for search in spec["searches"]:
        kwargs = search["one"]
        durations, answer = timed_runs(
            lambda kwargs=kwargs: one.search(**kwargs), spec["runs"], spec["budget_s"]
        )
        out["searches"][search["key"]] = {
            **figure(durations),
            "answer": sorted(str(e) for e in answer),
        }
    eid = spec["list_eid"]
    durations, answer = timed_runs(lambda: one.list_datasets(eid), spec["runs"], spec["budget_s"])
    out["searches"]["list_datasets"] = {**figure(durations), "answer": sorted(answer)}
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


WORKERS = {"labstore": labstore_worker, "one": one_worker}


def read_through(*folders: str) -> None:
    """Read every file under ``folders`` once, so both sides start from the OS page cache."""
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                with path.open("rb") as fh:
                    while fh.read(1 << 20):
                        pass


def run_worker(name: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one side in a fresh interpreter (its files in the page cache); returns its figures."""
    read_through(spec["cache_dir"], spec["one_dir"])
    spec_path = work / f"{name}-spec.json"
    out_path = work / f"{name}-out.json"
    spec_path.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABSTORE_", "ONE_"))}
    # Bytecode is cached (outside the venv) so that modules imported lazily inside a timed
    # call cost what they cost a user, not a compilation (see ``warm_up``).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    home = work / "home"  # ONE-api writes its parameter files under ~
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, __file__, "--worker", name, str(spec_path), str(out_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {name} worker failed:\n{result.stdout}\n{result.stderr}")
    figures: dict[str, Any] = json.loads(out_path.read_text())
    return figures


def warm_up(work: Path) -> None:
    """Run both workers once on a tiny copy of the data: their bytecode is cached after."""
    from labstore.client.one_export import export_one_cache, one_uuid
    from labstore.client.store import LocalStore

    tiny = LabData(2, 2, 4, 8)
    folder = work / "warm-up"
    shutil.rmtree(folder, ignore_errors=True)  # left by an earlier run with --keep
    store_path = folder / "labstore-cache" / STORE_SERVER / USERNAME / "store.sqlite3"
    build_store(store_path, tiny)
    store = LocalStore.open(store_path)
    export_one_cache(store, folder / "one-cache")
    store.close()
    listed = f"experiment/experiment/{tiny.experiment_id(0)}"
    spec = {
        "work": str(folder), "cache_dir": str(folder / "labstore-cache"),
        "one_dir": str(folder / "one-cache"), "searches": searches(tiny),
        "list_experiment": listed, "list_eid": str(one_uuid(listed)), "runs": 1,
        "budget_s": 1.0,
    }  # fmt: skip
    for name in WORKERS:
        run_worker(name, spec, work)


# -- query plans --------------------------------------------------------------------------------


def explain(store_path: Path, spec: dict[str, Any]) -> dict[str, list[str]]:
    """``EXPLAIN QUERY PLAN`` of each labstore search as the local store compiles it."""

    from labstore.client.store import LocalStore
    from labstore.query.jsonquery import parse_query

    store = LocalStore.open(store_path)
    plans: dict[str, list[str]] = {}
    queries = [(s["key"], "Experiment", s["labstore"]) for s in spec["searches"]]
    queries.append(("list_datasets", "Dataset", {"experiment": spec["list_experiment"]}))
    try:
        with contextlib.closing(sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)) as conn:
            for key, model_name, query in queries:
                parsed = parse_query(store.registry, {"__model__": model_name, "__query__": query})
                sql = compiled_sql(store, parsed)
                rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
                plans[key] = [str(row[-1]) for row in rows]
    finally:
        store.close()
    return plans


# -- the sync figure ----------------------------------------------------------------------------


class CountingTransport:
    """An httpx transport (wrapping ``httpx.HTTPTransport``) counting ``/api/changes`` bytes."""

    def __init__(self) -> None:
        import httpx

        self._httpx = httpx
        self.inner = httpx.HTTPTransport()
        self.bytes = 0
        self.requests = 0

    def handle_request(self, request: Any) -> Any:
        response = self.inner.handle_request(request)
        if request.url.path != "/api/changes":
            return response
        body = b"".join(response.iter_raw())  # the body as sent (the server does not compress)
        response.close()
        self.bytes += len(body)
        self.requests += 1
        return self._httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


def sync_figure(work: Path, plan: Plan) -> dict[str, Any]:
    """Full sync, then 1% of the datasets changed and a sync: bytes of the change feed."""
    import httpx
    from _support import LabstoreServer

    import labstore

    per_experiment = 50
    experiments = max(1, plan.sync_datasets // per_experiment)
    subjects = max(1, experiments // 20)
    data = LabData(min(plan.labs, subjects), subjects, experiments, plan.sync_datasets)
    server = LabstoreServer(work / "server-data")
    print(
        f"[sync] starting labstore serve, loading {data.datasets:,} datasets through "
        "POST /api/batch ...",
        flush=True,
    )
    server.add_user(USERNAME, PASSWORD)
    with server:
        server.start()
        token = httpx.post(
            f"{server.url}/api/auth/token", json={"username": USERNAME, "password": PASSWORD}
        ).json()["token"]
        client = httpx.Client(
            base_url=server.url, timeout=600, headers={"Authorization": f"Bearer {token}"}
        )
        began = time.perf_counter()
        locations = load_through_api(client, data)
        loaded = time.perf_counter() - began
        counting = CountingTransport()
        options = {
            "location": server.url,
            "username": USERNAME,
            "password": PASSWORD,
            "cache_dir": str(work / "sync-cache"),
        }
        with labstore.Session(
            options,
            file_name=work / "sync.toml",
            transport=counting,  # type: ignore[arg-type]
        ) as s:
            began = time.perf_counter()
            s.refresh_cache()
            full_s = time.perf_counter() - began
            full = (counting.bytes, counting.requests)
            counted = s.Dataset.count(query_type="local")
            changed = locations[::100][: max(1, len(locations) // 100)]
            for first in range(0, len(changed), 2000):
                entries = [
                    {"ref": f"c{i}", "location": loc, "data": {"qc": "CRITICAL"}}
                    for i, loc in enumerate(changed[first : first + 2000])
                ]
                client.post("/api/batch", json={"objects": entries}).raise_for_status()
            counting.bytes = counting.requests = 0
            began = time.perf_counter()
            s.refresh_cache()
            incremental_s = time.perf_counter() - began
            incremental = (counting.bytes, counting.requests)
            critical = s.Dataset.count({"qc": "CRITICAL"}, query_type="local")
        client.close()
    if counted != data.datasets or critical != len(changed):
        raise RuntimeError(
            f"sync: {counted} datasets, {critical} changed: expected "
            f"{data.datasets} and {len(changed)}"
        )
    return {
        "datasets": data.datasets,
        "experiments": data.experiments,
        "changed": len(changed),
        "load_s": round(loaded, 1),
        "full_bytes": full[0],
        "full_requests": full[1],
        "full_s": round(full_s, 2),
        "incremental_bytes": incremental[0],
        "incremental_requests": incremental[1],
        "incremental_s": round(incremental_s, 3),
        "ratio": round(incremental[0] / full[0], 5),
    }


def load_through_api(client: Any, data: LabData) -> list[str]:
    """Create the data with ``POST /api/batch``; returns the datasets' locations."""

    def batch(
        model: str, rows: list[dict[str, Any]], parents: dict[str, dict[str, str]]
    ) -> list[str]:
        entries = []
        for i, row in enumerate(rows):
            fields = {
                k: v
                for k, v in row.items()
                if k
                not in (
                    "id",
                    "version",
                    "owner",
                    "project",
                    "created",
                    "modified",
                    "safety_level",
                    "access_group",
                    "file_id",
                )
                and not k.endswith("_id")
            }
            for column, (relation, by_id) in parents.items():
                fields[relation] = by_id[row[column]]
            entries.append({"ref": f"r{i}", "model": model, "data": _jsonable(fields)})
        answer = client.post("/api/batch", json={"objects": entries})
        answer.raise_for_status()
        refs = answer.json()["refs"]
        return [refs[f"r{i}"] for i in range(len(rows))]

    def ids(rows: list[dict[str, Any]], locations: list[str]) -> dict[str, str]:
        return {row["id"]: loc for row, loc in zip(rows, locations, strict=True)}

    labs = data.lab_rows()
    lab_of = ids(labs, batch("experiment/lab", labs, {}))
    subjects = data.subject_rows()
    subject_of = ids(subjects, batch("experiment/subject", subjects, {"lab_id": ("lab", lab_of)}))
    datasets: list[str] = []
    step = max(1, 2000 // data.per_experiment)
    for first in range(0, data.experiments, step):
        last = min(data.experiments, first + step)
        rows = data.experiment_rows(first, last)
        experiment_of = ids(
            rows,
            batch(
                "experiment/experiment",
                rows,
                {"subject_id": ("subject", subject_of), "lab_id": ("lab", lab_of)},
            ),
        )
        rows = data.dataset_rows(first, last)
        datasets += batch(
            "experiment/dataset", rows, {"experiment_id": ("experiment", experiment_of)}
        )
    return datasets


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in fields.items()}


# -- the run ------------------------------------------------------------------------------------


def compare(lab: dict[str, Any], one: dict[str, Any]) -> dict[str, str]:
    """For each search, whether both sides answered the same."""
    verdicts = {}
    for key, mine in lab["searches"].items():
        theirs = one["searches"][key]["answer"]
        ours = mine["answer"]
        if ours == theirs:
            verdicts[key] = f"same answer ({len(ours)})"
        else:
            verdicts[key] = (
                f"DIFFERENT ANSWER: labstore {len(ours)}, ONE {len(theirs)}, "
                f"{len(set(ours) & set(theirs))} in common"
            )
    return verdicts


ROWS = (
    ("open", "open an offline session (+ first query)"),
    ("lab", None),
    ("subject_dates", None),
    ("dataset_exact", None),
    ("dataset_pattern", None),
    ("list_datasets", "list the datasets of one experiment"),
)


def print_table(
    lab: dict[str, Any], one: dict[str, Any], labels: dict[str, str], verdicts: dict[str, str]
) -> dict[str, Any]:
    """The side-by-side table with ratios against the targets; returns the ratios."""
    ratios: dict[str, Any] = {}
    print()
    head = f"{'':44}{'ONE-api':>12}{'labstore':>12}{'ONE/labstore':>14}{'target':>9}   verdict"
    print(head)
    print("-" * (len(head) + 16))
    for key, label in ROWS:
        theirs = one["open"] if key == "open" else one["searches"][key]
        ours = lab["open"] if key == "open" else lab["searches"][key]
        ratio = theirs["median_ms"] / max(ours["median_ms"], 1e-6)
        ok = ratio >= TARGETS[key]
        ratios[key] = {"ratio": round(ratio, 1), "target": TARGETS[key], "met": ok}
        print(
            f"{label or labels[key]:44}{_ms(theirs['median_ms']):>12}{_ms(ours['median_ms']):>12}"
            f"{ratio:>13.1f}x{TARGETS[key]:>8.0f}x   {'ok' if ok else 'SHORT'}"
            + (f"  [{verdicts[key]}]" if key in verdicts else "")
        )
    ratio = one["peak_rss_mib"] / lab["peak_rss_mib"]
    ok = ratio >= TARGETS["peak_memory"]
    ratios["peak_memory"] = {"ratio": round(ratio, 2), "target": TARGETS["peak_memory"], "met": ok}
    print(
        f"{'peak memory (VmHWM, MiB)':44}{one['peak_rss_mib']:>12.0f}"
        f"{lab['peak_rss_mib']:>12.0f}{ratio:>13.1f}x{TARGETS['peak_memory']:>8.0f}x   "
        f"{'ok' if ok else 'SHORT'}"
    )
    return ratios


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.2f} ms"


def print_breakdown(lab: dict[str, Any], one: dict[str, Any], labels: dict[str, str]) -> None:
    print(
        "\nWhere labstore's time goes (medians, ms): the call as timed above (its answer is a"
        "\nlist whose objects are made when it is first used); the call with every object of"
        "\nthe answer made (list(answer)); the same query in the store alone"
        "\n(LocalStore.query_ids: ids only); its SQL run bare with sqlite3 (ids as tuples):"
    )
    print(f"  {'':44}{'call':>10}{'+objects':>10}{'store':>10}{'raw SQL':>10}")
    for key, label in ROWS[1:]:
        whole, made = lab["searches"][key], lab["objects_made"][key]
        store, raw = lab["store_only"][key], lab["raw_sql"][key]
        print(
            f"  {label or labels[key]:44}{whole['median_ms']:>10.2f}{made['median_ms']:>10.2f}"
            f"{store['median_ms']:>10.2f}{raw['median_ms']:>10.2f}   ({len(whole['answer'])} "
            f"objects; runs: labstore {whole['runs']}, ONE {one['searches'][key]['runs']})"
        )
    print(
        f"  opening: {lab['open']['median_ms']:.0f} ms (the Session, LocalStore.open reading the "
        "file's schema and metadata, the first query)"
    )
    print(
        f"  imports (not timed above): labstore {lab['import_s']:.2f} s, "
        f"ONE-api {one['import_s']:.2f} s; memory after imports: labstore "
        f"{lab['rss_after_import_mib']:.0f} MiB, ONE-api {one['rss_after_import_mib']:.0f} MiB"
    )


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(description="Offline labstore beside ONE-api.")
    parser.add_argument("--quick", action="store_true", help="a small run (a smoke test)")
    parser.add_argument("--experiments", type=int, help="experiments (20000)")
    parser.add_argument("--datasets", type=int, help="datasets (1000000; 50 per experiment)")
    parser.add_argument("--subjects", type=int, help="subjects (1000)")
    parser.add_argument("--sync-datasets", type=int, help="datasets on the sync server (20000)")
    parser.add_argument("--runs", type=int, help="timed runs of each search (15)")
    parser.add_argument("--budget", type=float, help="seconds a search may spend on runs (20)")
    parser.add_argument("--skip-sync", action="store_true", help="leave out the sync figure")
    parser.add_argument("--keep", type=Path, help="build the data in this folder and keep it")
    args = parser.parse_args(argv)
    base = QUICK_PLAN if args.quick else DEFAULT_PLAN
    plan = Plan(
        labs=base.labs,
        subjects=args.subjects or base.subjects,
        experiments=args.experiments or base.experiments,
        datasets=args.datasets or base.datasets,
        sync_datasets=args.sync_datasets or base.sync_datasets,
        runs=args.runs or base.runs,
        budget_s=args.budget or base.budget_s,
    )
    if plan.experiments < plan.subjects or plan.datasets < plan.experiments:
        parser.error("need at least one experiment per subject and one dataset per experiment")
    return plan, args


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    plan, args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from _support import machine_facts, write_results

    from labstore.client.one_export import export_one_cache, one_uuid
    from labstore.client.store import LocalStore

    began = time.perf_counter()
    facts = machine_facts(None)
    import one as one_package

    facts["one_api"] = one_package.__version__
    print("labstore offline beside ONE-api")
    for key, value in facts.items():
        if key != "postgresql":
            print(f"  {key + ':':12} {value}")
    print(
        f"  {'plan:':12} {plan.labs} labs, {plan.subjects:,} subjects, "
        f"{plan.experiments:,} experiments, {plan.datasets:,} datasets; "
        f"sync server {plan.sync_datasets:,} datasets\n",
        flush=True,
    )
    work = args.keep or Path(tempfile.mkdtemp(prefix="labstore-one-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = LabData(plan.labs, plan.subjects, plan.experiments, plan.datasets)
        cache_dir = work / "labstore-cache"
        store_path = cache_dir / STORE_SERVER / USERNAME / "store.sqlite3"
        if store_path.exists():
            print(f"[data] reusing {store_path}", flush=True)
            built: dict[str, Any] = {"reused": True}
        else:
            print(f"[data] writing {data.datasets:,} datasets into a local store ...", flush=True)
            built = build_store(store_path, data)
            print(f"[data] {built['seconds']} s, {built['bytes'] / 2**20:.0f} MiB", flush=True)
        one_dir = work / "one-cache"
        print("[export] export_one_cache -> sessions.pqt, datasets.pqt ...", flush=True)
        t0 = time.perf_counter()
        store = LocalStore.open(store_path)
        exported = export_one_cache(store, one_dir)
        store.close()
        export_s = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in one_dir.glob("*.pqt")}
        print(
            f"[export] {exported['sessions']:,} sessions, {exported['datasets']:,} datasets "
            f"in {export_s:.1f} s ({sum(sizes.values()) / 2**20:.0f} MiB of Parquet)",
            flush=True,
        )
        listed = f"experiment/experiment/{data.experiment_id(data.probe_experiment)}"
        spec = {
            "work": str(work),
            "cache_dir": str(cache_dir),
            "one_dir": str(one_dir),
            "searches": searches(data),
            "list_experiment": listed,
            "list_eid": str(one_uuid(listed)),
            "runs": plan.runs,
            "budget_s": plan.budget_s,
        }
        print("[warm-up] both sides once on tiny data (caches their bytecode) ...", flush=True)
        warm_up(work)
        print("[ONE-api] open and search, in a subprocess ...", flush=True)
        one = run_worker("one", spec, work)
        print(f"[ONE-api] opened in {one['open']['median_ms'] / 1000:.1f} s", flush=True)
        print("[labstore] open and search, in a subprocess ...", flush=True)
        lab = run_worker("labstore", spec, work)
        labels = {s["key"]: s["label"] for s in spec["searches"]}
        verdicts = compare(lab, one)
        ratios = print_table(lab, one, labels, verdicts)
        print_breakdown(lab, one, labels)
        plans = explain(store_path, spec)
        print("\nEXPLAIN QUERY PLAN of labstore's searches on the local store:")
        for key, lines in plans.items():
            scans = [line for line in lines if line.startswith("SCAN")]
            print(
                f"  {labels.get(key, key)}: "
                + ("; ".join(lines) if len(lines) <= 6 else "; ".join(lines[:6]) + "; ...")
                + (f"  <- scans: {', '.join(scans)}" if scans else "")
            )
        sync: dict[str, Any] | None = None
        if not args.skip_sync:
            sync = sync_figure(work, plan)
            ok = sync["ratio"] <= SYNC_TARGET
            print(
                f"\nsync after {sync['changed']:,} of {sync['datasets']:,} datasets (1%) changed "
                f"(server loaded through the API in {sync['load_s']} s):"
            )
            print(
                f"  full sync      {sync['full_bytes']:>14,} bytes in {sync['full_requests']} "
                f"requests, {sync['full_s']} s"
            )
            print(
                f"  after changes  {sync['incremental_bytes']:>14,} bytes in "
                f"{sync['incremental_requests']} requests, {sync['incremental_s']} s"
            )
            print(
                f"  ratio          {100 * sync['ratio']:.2f}% of a full sync "
                f"(target at most {100 * SYNC_TARGET:.0f}%)   {'ok' if ok else 'SHORT'}"
            )
            ratios["sync_bytes"] = {"ratio": sync["ratio"], "target": SYNC_TARGET, "met": ok}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    short = [k for k, v in ratios.items() if not v["met"]]
    elapsed = time.perf_counter() - began
    path = write_results(
        "offline_vs_one",
        {
            "machine": facts,
            "plan": asdict(plan),
            "store": built,
            "export": {
                **{k: v for k, v in exported.items() if k != "files"},
                "seconds": round(export_s, 1),
                "bytes": sizes,
            },
            "one": _without_answers(one),
            "labstore": _without_answers(lab),
            "answers": verdicts,
            "ratios": ratios,
            "plans": plans,
            "sync": sync,
            "seconds": round(elapsed, 1),
        },
    )
    print(
        f"\ntargets met: {len(ratios) - len(short)} of {len(ratios)}"
        + (f"; short: {', '.join(short)}" if short else "")
    )
    print(f"{elapsed:.0f} s in all; figures written to {path}")
    return 0


def _without_answers(figures: dict[str, Any]) -> dict[str, Any]:
    out = dict(figures)
    out["searches"] = {
        k: {**{kk: vv for kk, vv in v.items() if kk != "answer"}, "answers": len(v["answer"])}
        for k, v in figures["searches"].items()
    }
    return out


def worker_main(argv: Sequence[str]) -> int:
    name, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text())
    figures = WORKERS[name](spec)
    Path(out_path).write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2:]))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the server is stopped", file=sys.stderr)
        sys.exit(130)

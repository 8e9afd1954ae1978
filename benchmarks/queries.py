"""Query benchmark: latency of typical JSON queries on a million objects, server beside local store.

The data is the ``experiment`` pack in the shape of an IBL/Alyx database: 20 labs, subjects
(each in a lab), experiments (each of a subject and its lab, dates over 2020-2024, a start time)
and datasets (each of an experiment, ~9 per experiment, with ALF names and collections) making
up the rest of ``--objects`` (1,000,000 by default: 2,000 subjects, 100,000 experiments,
897,980 datasets). Every table's ``created`` spans the year before the run. The rows are
generated deterministically, in chunks of 10,000, and written straight into the databases
(no API calls), all owned by the benchmark user ``bench``, with the access columns the server
would give them when the schema has them (``access_group``: the owning parent's, else their own):

* the **server's SQLite** file, its schema made by ``labstore user add`` (which migrates), the
  rows inserted with SQLAlchemy Core (one transaction per chunk);
* the **server's PostgreSQL** database, the same way, the rows sent with ``COPY`` (twice as
  fast as INSERTs); skipped with ``--skip-postgres`` or when PostgreSQL is not installed;
* a **local store**: a SQLite file with the client's tables (``StoreTables(builtin_registry())``
  and ``metadata.create_all``), holding the very same rows (copied from the server's file with
  ``INSERT ... SELECT`` through ``ATTACH``).

The plain indexes are dropped for the load and created again afterwards with their own
``CREATE INDEX`` statements (same schema, built sorted instead of row by row).
Then every database is ``ANALYZE``d (PostgreSQL: ``VACUUM ANALYZE``) and each query is timed
four ways:

1. **server SQLite** and 2. **server PostgreSQL**: ``Session.query(q)`` (or
   ``Session.<Model>.count()``) against a real ``labstore serve`` on 127.0.0.1: parsing on the
   client, HTTP, the server's parse, compile and execute with the visibility rule, JSON both
   ways, objects built on the client;
3. **local store**: in process, ``parse_query`` + ``Compiler`` + ``select_page`` (or
   ``count_rows``) in a ``read_transaction`` on the local file, as the client's local store
   runs them;
4. **raw SQL**: the equivalent hand-written SQL through the ``sqlite3`` module on the same local
   file, rows fetched as tuples: the physical bound of the local store.

Each query runs ``--warmup`` times untimed, then up to ``--runs`` times (fewer when one path
has used up ``--budget`` seconds on it); the table shows median and 95th percentile in ms, the
rows returned, and two ratios of medians: ``srv/local`` (server SQLite over local store: what
HTTP, JSON, permissions and objects cost) and ``local/raw`` (local store over raw SQL: what the
parser, compiler and SQLAlchemy cost). Every path's first answer is compared (ids, in order)
with the raw SQL's, so a path answering differently is reported.

Usage::

    .venv/bin/python benchmarks/queries.py                 # 1,000,000 objects, 3-5 minutes
    .venv/bin/python benchmarks/queries.py --quick         # 20,000 objects, a smoke test
    .venv/bin/python benchmarks/queries.py --objects 200000 --skip-postgres
    .venv/bin/python benchmarks/queries.py --quick --explain   # also the local store's SQL + plans

The figures are also written to ``benchmarks/results/queries.json``. Nothing asserts a timing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _support import (
    LabstoreServer,
    Postgres,
    analyze,
    exit_on_sigterm,
    json_text,
    latency_ms,
    machine_facts,
    parse_scale,
    postgres_cluster,
    secondary_indexes,
    write_results,
)
from sqlalchemy import JSON, Engine, Table, func, select

import labstore
from labstore.query.compile import Compiler
from labstore.query.jsonquery import parse_query
from labstore.schema.packs import builtin_registry
from labstore.schema.registry import Registry
from labstore.schema.types import Model
from labstore.store.engine import create_store_engine, read_transaction, write_transaction
from labstore.store.select import count_rows, select_page
from labstore.store.tables import StoreTables

USERNAME = "bench"
PASSWORD = "pw12345"
MAX_LIMIT = 1000
"""The server's default page limit (``max_page_size``); the local store parses with it too."""
CHUNK = 10_000
"""Rows generated and inserted at a time (one transaction each)."""
SEED = 20240501


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much data, and how many timed runs of each query on each path."""

    objects: int
    labs: int
    subjects: int
    experiments: int
    datasets: int
    runs: int
    warmup: int
    budget_s: float

    @classmethod
    def for_objects(cls, objects: int, runs: int, warmup: int, budget_s: float) -> Plan:
        """Labs, subjects and experiments in IBL's proportions; datasets make up the rest."""
        experiments = max(1, objects // 10)
        subjects = max(1, experiments // 50)
        labs = max(1, min(20, subjects))
        datasets = objects - experiments - subjects - labs
        if datasets < experiments:
            raise ValueError(f"--objects {objects} is too few (at least 100)")
        return cls(objects, labs, subjects, experiments, datasets, runs, warmup, budget_s)


# -- the data --------------------------------------------------------------------------------

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # labstore's: Crockford's base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> 2 characters
_ID_SPACE = 1 << 50
_ID_STEP = 0x2F0E_1D3C_5B4A_B  # odd, so ``i * step mod 2**50`` never repeats an id


def make_id(serial: int) -> str:
    """A 10-character base32 id, as labstore makes them, unique for each serial number."""
    v = (serial * _ID_STEP + 0x1234_5678_9ABC) % _ID_SPACE
    p = _PAIRS
    return (
        p[v >> 40] + p[(v >> 30) & 1023] + p[(v >> 20) & 1023] + p[(v >> 10) & 1023] + p[v & 1023]
    )


LAB_PREFIXES = ("KS", "CSH_ZAD", "SWC", "NYU", "ibl_witten", "DY", "UCLA", "ZFM", "MFD", "PL")
PROTOCOLS = tuple(
    f"_iblrig_tasks_{task}ChoiceWorld{version}"
    for task in ("training", "biased", "ephys", "passive", "habituation")
    for version in ("6.4.2", "7.2.3", "8.12.1")
)
COLLECTIONS_AND_NAMES = (
    ("alf", "trials.table.pqt"),
    ("alf", "trials.goCueTrigger_times.npy"),
    ("alf", "trials.stimOn_times.npy"),
    ("alf", "wheel.position.npy"),
    ("alf", "wheel.timestamps.npy"),
    ("alf", "wheelMoves.intervals.npy"),
    ("alf", "_ibl_leftCamera.times.npy"),
    ("alf", "licks.times.npy"),
    ("alf/probe00", "spikes.times.npy"),
    ("alf/probe00", "spikes.clusters.npy"),
    ("alf/probe00", "spikes.amps.npy"),
    ("alf/probe00", "clusters.metrics.pqt"),
    ("alf/probe01", "spikes.times.npy"),
    ("alf/probe01", "spikes.clusters.npy"),
    ("alf/probe01", "spikes.amps.npy"),
    ("alf/probe01", "clusters.metrics.pqt"),
    ("raw_behavior_data", "_iblrig_taskData.raw.jsonable"),
    ("raw_behavior_data", "_iblrig_taskSettings.raw.json"),
    ("raw_behavior_data", "_iblrig_encoderEvents.raw.ssv"),
    ("raw_ephys_data/probe00", "_spikeglx_ephysData_g0_t0.imec0.ap.cbin"),
    ("raw_ephys_data/probe00", "_spikeglx_ephysData_g0_t0.imec0.lf.cbin"),
    ("raw_ephys_data/probe01", "_spikeglx_ephysData_g0_t0.imec1.ap.cbin"),
    ("raw_video_data", "_iblrig_leftCamera.raw.mp4"),
    ("raw_video_data", "_iblrig_bodyCamera.raw.mp4"),
    ("raw_passive_data", "_iblrig_RFMapStim.raw.bin"),
    ("alf", "_ibl_passiveGabor.table.csv"),
    ("alf", "_ibl_trials.laserStimulation.npy"),
    ("alf/probe00/pykilosort", "spikes.times.npy"),
    ("alf/probe01/pykilosort", "spikes.times.npy"),
    ("alf", "_ibl_bodyCamera.dlc.pqt"),
)
QC = ("NOT_SET", "PASS", "WARNING", "FAIL", "CRITICAL")
FIRST_DAY = dt.date(2020, 1, 1)
DAYS = (dt.date(2024, 12, 31) - FIRST_DAY).days + 1
CREATED_SPAN = dt.timedelta(days=365)
"""Every table's ``created`` runs over the year before the data were generated."""


@dataclass
class LabData:
    """Deterministic rows of the experiment pack, and facts the queries need."""

    plan: Plan
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    # serial numbers (for ids): labs, then subjects, experiments, datasets
    def lab_id(self, i: int) -> str:
        return make_id(i)

    def subject_id(self, i: int) -> str:
        return make_id(self.plan.labs + i)

    def experiment_id(self, i: int) -> str:
        return make_id(self.plan.labs + self.plan.subjects + i)

    def dataset_id(self, i: int) -> str:
        return make_id(self.plan.labs + self.plan.subjects + self.plan.experiments + i)

    def _created(self, i: int, n: int) -> dt.datetime:
        start = self.now - CREATED_SPAN
        return start + CREATED_SPAN * (i / n)

    def _common(self, ident: str, i: int, n: int) -> dict[str, Any]:
        created = self._created(i, n)
        return {"id": ident, "version": 1, "owner": USERNAME, "project": None,
                "created": created, "modified": created}  # fmt: skip

    def subject_lab(self, i: int) -> int:
        return i % self.plan.labs

    def experiment_day(self, j: int) -> tuple[int, int]:
        """(day number from 2020-01-01, number within the day) of experiment ``j``."""
        plan = self.plan
        per_subject = -(-plan.experiments // plan.subjects)
        step = max(1, DAYS // per_subject)
        k = j // plan.subjects
        jitter = (j * 7919) % step
        serial = k * step + jitter
        return serial % DAYS, 1 + serial // DAYS

    def experiment_date(self, j: int) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.experiment_day(j)[0])

    def first_dataset(self, j: int) -> int:
        """The index of experiment ``j``'s first dataset (datasets come grouped)."""
        return -(-j * self.plan.datasets // self.plan.experiments)

    def labs(self) -> list[dict[str, Any]]:
        n = self.plan.labs
        return [
            {**self._common(self.lab_id(i), i, n), "name": f"lab{i:02d}",
             "institution": f"Institute {i % 7}", "timezone": "Europe/London"}
            for i in range(n)
        ]  # fmt: skip

    def subjects(self, first: int, last: int) -> list[dict[str, Any]]:
        n = self.plan.subjects
        rows = []
        for i in range(first, last):
            lab = self.subject_lab(i)
            rows.append(
                {**self._common(self.subject_id(i), i, n),
                 "nickname": f"{LAB_PREFIXES[lab % len(LAB_PREFIXES)]}_{i:04d}",
                 "species": "Mus musculus", "strain": "C57BL/6J", "sex": "MF"[i % 2],
                 "birth_date": FIRST_DAY - dt.timedelta(days=90 + i % 365),
                 "description": None, "lab_id": self.lab_id(lab)}
            )  # fmt: skip
        return rows

    def experiments(self, first: int, last: int) -> list[dict[str, Any]]:
        plan = self.plan
        rng = random.Random(SEED + first)
        rows = []
        for j in range(first, last):
            subject = j % plan.subjects
            day, number = self.experiment_day(j)
            date = FIRST_DAY + dt.timedelta(days=day)
            start = dt.datetime(date.year, date.month, date.day, 8, tzinfo=dt.UTC)
            start += dt.timedelta(seconds=rng.randrange(10 * 3600))
            rows.append(
                {**self._common(self.experiment_id(j), j, plan.experiments),
                 "date": date, "number": number,
                 "task_protocol": PROTOCOLS[rng.randrange(len(PROTOCOLS))],
                 "projects": ["ibl_neuropixel_brainwide_01"],
                 "start_time": start, "end_time": start + dt.timedelta(seconds=3600 + j % 1800),
                 "narrative": None, "qc": QC[j % len(QC)],
                 "subject_id": self.subject_id(subject),
                 "lab_id": self.lab_id(self.subject_lab(subject))}
            )  # fmt: skip
        return rows

    def datasets(self, first: int, last: int) -> list[dict[str, Any]]:
        plan = self.plan
        rng = random.Random(SEED + first)
        rows = []
        j = first * plan.experiments // plan.datasets
        while self.first_dataset(j + 1) <= first:
            j += 1
        catalog = len(COLLECTIONS_AND_NAMES)
        start, end = self.first_dataset(j), self.first_dataset(j + 1)
        experiment_id = self.experiment_id(j)
        for i in range(first, last):
            while end <= i:
                j += 1
                start, end = end, self.first_dataset(j + 1)
                experiment_id = self.experiment_id(j)
            position = i - start
            collection, name = COLLECTIONS_AND_NAMES[(j * 7 + position) % catalog]
            rows.append(
                {**self._common(self.dataset_id(i), i, plan.datasets),
                 "collection": collection, "revision": "", "name": name,
                 "size": rng.randrange(1_000, 50_000_000_000),
                 "hash": f"{rng.getrandbits(128):032x}",
                 "qc": QC[i % len(QC)], "default_revision": True,
                 "experiment_id": experiment_id, "file_id": None}
            )  # fmt: skip
        return rows

    def chunks(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(model key, rows) in insertion order, parents first, at most ``CHUNK`` rows each."""
        plan = self.plan
        yield "experiment/lab", self.labs()
        for model, n, make in (
            ("experiment/subject", plan.subjects, self.subjects),
            ("experiment/experiment", plan.experiments, self.experiments),
            ("experiment/dataset", plan.datasets, self.datasets),
        ):
            for first in range(0, n, CHUNK):
                yield model, make(first, min(n, first + CHUNK))

    # facts the queries are built from -------------------------------------------------------
    @property
    def probe_experiment(self) -> int:
        """The experiment whose datasets query 1b lists (one in the middle)."""
        return self.plan.experiments // 2

    @property
    def probe_lab(self) -> str:
        return f"lab{min(7, self.plan.labs - 1):02d}"

    @property
    def probe_date(self) -> dt.date:
        return self.experiment_date(self.probe_experiment)


# -- loading ----------------------------------------------------------------------------------

MODELS = ("experiment/lab", "experiment/subject", "experiment/experiment", "experiment/dataset")


def access_columns(model: Model, table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What completes a row of ``model`` with the access columns, if the schema has them.

    As the server does on create: an object joins the access group of the parent that owns
    it (the relation deleting it with the parent: a dataset its experiment's) and otherwise
    is a group of its own; ``safety_level`` keeps its server default. (Parents here are in
    groups of their own, so the owning parent's group is its id.)
    """
    if "access_group" not in table.c:
        return lambda row: row
    owning = [r.column for r in model.relations if r.on_delete == "cascade"]

    def complete(row: dict[str, Any]) -> dict[str, Any]:
        parent = next((row[c] for c in owning if row.get(c)), None)
        row["access_group"] = parent or row["id"]
        return row

    return complete


@contextlib.contextmanager
def indexes_dropped(engine: Engine, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' plain indexes for a bulk load and create them again afterwards.

    The schema ends up exactly as it was (the same ``CREATE INDEX`` statements), but the
    indexes are built once, sorted, instead of row by row in random id order.
    """
    with write_transaction(engine) as conn:
        dropped = [ix for table in tables for ix in secondary_indexes(conn, table)]
        for name, _ in dropped:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    with write_transaction(engine) as conn:
        for _, sql in dropped:
            conn.exec_driver_sql(sql)


class Target:
    """A server database being filled: SQLAlchemy Core inserts (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, name: str, url: str, registry: Registry) -> None:
        self.name = name
        self.registry = registry
        self.tables = StoreTables(registry, server_tables=True)
        self.engine = create_store_engine(url)
        self.seconds = 0.0

    def table(self, model_key: str) -> Table:
        return self.tables(self.registry.model(model_key))

    def insert(self, model_key: str, rows: list[dict[str, Any]]) -> None:
        began = time.perf_counter()
        table = self.table(model_key)
        complete = access_columns(self.registry.model(model_key), table)
        rows = [complete(r) for r in rows]
        if self.engine.dialect.name == "postgresql":
            self._copy(table, rows)
        else:
            with write_transaction(self.engine) as conn:
                conn.execute(table.insert(), rows)
        self.seconds += time.perf_counter() - began

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """``COPY ... FROM STDIN``: twice as fast as multi-row INSERTs on PostgreSQL."""
        columns = [c for c in table.c if c.name in rows[0]]
        names = [c.name for c in columns]
        convert: list[Callable[[Any], Any] | None] = [
            json_text if isinstance(c.type, JSON) else c.type.bind_processor(self.engine.dialect)
            for c in columns
        ]
        pairs = list(zip(names, convert, strict=True))
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            column_list = ", ".join(f'"{n}"' for n in names)
            with cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([f(row[n]) if f else row[n] for n, f in pairs])
            raw.commit()
        finally:
            raw.close()

    def finish(self) -> None:
        self.engine.dispose()


def load_servers(data: LabData, targets: Sequence[Target]) -> dict[str, float]:
    """Every generated row into every server database, then indexes and statistics.

    Returns the seconds spent: inserting into each database, and building the indexes and
    statistics of all of them.
    """
    table_names = [targets[0].table(m).name for m in MODELS]
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(indexes_dropped(target.engine, table_names))
        done = 0
        for model_key, rows in data.chunks():
            for target in targets:
                target.insert(model_key, rows)
            done += len(rows)
            if done % 200_000 < len(rows):
                print(f"[load] {done:,} of {data.plan.objects:,} objects", flush=True)
        print("[load] building indexes, ANALYZE ...", flush=True)
        began = time.perf_counter()
    for target in targets:
        analyze(target.engine)
        target.finish()
    seconds = {f"insert {TITLES[t.name]}": t.seconds for t in targets}
    seconds["indexes + ANALYZE on the servers"] = time.perf_counter() - began
    return seconds


def build_local_store(path: Path, server_file: Path, registry: Registry) -> Engine:
    """The local store: the client's tables, holding the server's rows (copied in SQL)."""
    engine = create_store_engine(f"sqlite:///{path}", foreign_keys=False)
    tables = StoreTables(registry)
    tables.metadata.create_all(engine)
    names = [tables(registry.model(m)).name for m in MODELS]
    with (
        indexes_dropped(engine, names),
        contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn,
    ):
        conn.execute("ATTACH DATABASE ? AS server", (str(server_file),))
        conn.execute("BEGIN")
        for model_key in MODELS:
            table = tables(registry.model(model_key))
            columns = ", ".join(f'"{c.name}"' for c in table.c)
            conn.execute(
                f'INSERT INTO main."{table.name}" ({columns}) '
                f'SELECT {columns} FROM server."{table.name}" ORDER BY rowid'
            )
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE server")
    analyze(engine)
    return engine


# -- the queries ------------------------------------------------------------------------------


def sqlite_time(value: dt.datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (naive, microseconds)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class Query:
    """One benchmarked query: its JSON, and the hand-written SQL of the same answer."""

    key: str
    label: str
    json: dict[str, Any]
    raw_sql: str
    raw_params: Callable[[], Sequence[Any]]
    count: bool = False
    """Whether it counts (``POST /api/query/count``, ``count_rows``) instead of listing."""
    moving: bool = False
    """Relative to now: paths asked a moment apart may see different rows."""

    @property
    def model(self) -> str:
        return str(self.json["__model__"])


DATASET_ROWS = (
    "FROM experiment_dataset d JOIN experiment_experiment e ON e.id = d.experiment_id "
    "JOIN experiment_subject s ON s.id = e.subject_id JOIN experiment_lab l ON l.id = s.lab_id "
    "WHERE l.name = ?"
)


def make_queries(data: LabData) -> list[Query]:
    """The typical queries, with parameters taken from the generated data."""
    experiment = data.experiment_id(data.probe_experiment)
    lab = data.probe_lab
    date = data.probe_date
    week = (dt.datetime(2023, 3, 1, tzinfo=dt.UTC), dt.datetime(2023, 3, 8, tzinfo=dt.UTC))
    limit = {"limit": 100}

    def dataset(query: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"__model__": "Dataset", "__query__": query, **extra}

    return [
        Query(
            "list",
            "0 listing: first 100 datasets",
            dataset({}, __options__=limit),
            "SELECT * FROM experiment_dataset ORDER BY created, id LIMIT 100",
            lambda: (),
        ),
        Query(
            "eq_name",
            "1a equality: dataset name+collection",
            dataset({"name": "spikes.times.npy", "collection": "alf/probe00"}, __options__=limit),
            "SELECT * FROM experiment_dataset WHERE name = ? AND collection = ? "
            "ORDER BY created, id LIMIT 100",
            lambda: ("spikes.times.npy", "alf/probe00"),
        ),
        Query(
            "eq_parent",
            "1b equality: datasets of 1 experiment",
            dataset({"experiment": f"experiment/experiment/{experiment}"}),
            "SELECT * FROM experiment_dataset WHERE experiment_id = ? ORDER BY created, id",
            lambda: (experiment,),
        ),
        Query(
            "rel_lab",
            "2a relation: dataset.experiment.subject.lab",
            dataset({"experiment": {"subject": {"lab": {"name": lab}}}}, __options__=limit),
            f"SELECT d.* {DATASET_ROWS} ORDER BY d.created, d.id LIMIT 100",
            lambda: (lab,),
        ),
        Query(
            "rel_lab_count",
            "2a count (POST /api/query/count)",
            dataset({"experiment": {"subject": {"lab": {"name": lab}}}}),
            f"SELECT count(*) {DATASET_ROWS}",
            lambda: (lab,),
            count=True,
        ),
        Query(
            "rel_child",
            "2b child relation: subjects.experiments",
            {
                "__model__": "Subject",
                "__query__": {"experiments": {"date": date.isoformat()}},
                "__options__": limit,
            },
            "SELECT * FROM experiment_subject WHERE id IN "
            "(SELECT subject_id FROM experiment_experiment WHERE date = ?) "
            "ORDER BY created, id LIMIT 100",
            lambda: (date.isoformat(),),
        ),
        Query(
            "icontains_name",
            "3a icontains: dataset name ~ 'trials'",
            dataset({"name": {"__icontains__": "trials"}}, __options__=limit),
            "SELECT * FROM experiment_dataset WHERE name LIKE ? ORDER BY created, id LIMIT 100",
            lambda: ("%trials%",),
        ),
        Query(
            "icontains_nickname",
            "3b icontains: subject nickname ~ 'zad'",
            {
                "__model__": "Subject",
                "__query__": {"nickname": {"__icontains__": "zad"}},
                "__options__": limit,
            },
            "SELECT * FROM experiment_subject WHERE nickname LIKE ? ORDER BY created, id LIMIT 100",
            lambda: ("%zad%",),
        ),
        Query(
            "icontains_count",
            "3a count: every dataset ~ 'trials'",
            dataset({"name": {"__icontains__": "trials"}}),
            "SELECT count(*) FROM experiment_dataset WHERE name LIKE ?",
            lambda: ("%trials%",),
            count=True,
        ),
        Query(
            "window_start",
            "4a window: experiment start_time, 7 days",
            {
                "__model__": "Experiment",
                "__query__": {"start_time": {"__range__": [w.isoformat() for w in week]}},
                "__options__": limit,
            },
            "SELECT * FROM experiment_experiment WHERE start_time >= ? AND start_time <= ? "
            "ORDER BY created, id LIMIT 100",
            lambda: tuple(sqlite_time(w) for w in week),
        ),
        Query(
            "window_created",
            "4b window: datasets created last day",
            dataset({"created": {"__time__": {"__days__": -1}}}, __options__=limit),
            "SELECT * FROM experiment_dataset WHERE created >= ? ORDER BY created, id LIMIT 100",
            lambda: (sqlite_time(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)),),
            moving=True,
        ),
    ]


# -- the measurements ---------------------------------------------------------------------

Answer = list[str] | int
"""What one run returns: the ids in order, or the count."""
Runner = Callable[[Query], Answer]

PATHS = ("server_sqlite", "server_postgresql", "local", "raw")
TITLES = {
    "server_sqlite": "server SQLite",
    "server_postgresql": "server PostgreSQL",
    "local": "local store",
    "raw": "raw SQL",
}


def local_runner(engine: Engine, registry: Registry) -> Runner:
    """The local store's path: parse, compile and run in process, exactly as the client."""
    tables = StoreTables(registry)

    def run(query: Query) -> Answer:
        parsed = parse_query(registry, query.json, max_limit=MAX_LIMIT)
        with read_transaction(engine) as conn:
            compiler = Compiler(registry, tables)
            if query.count:
                return count_rows(conn, compiler, parsed.model, parsed.node)
            page = select_page(
                conn, compiler, parsed.model, parsed.node, parsed.order,
                limit=parsed.limit or MAX_LIMIT, offset=parsed.offset, cursor=parsed.cursor,
            )  # fmt: skip
        return [row["id"] for row in page.rows]

    return run


def raw_runner(conn: sqlite3.Connection) -> Runner:
    """Hand-written SQL through ``sqlite3``, rows as tuples (``id`` is the first column)."""

    def run(query: Query) -> Answer:
        rows = conn.execute(query.raw_sql, tuple(query.raw_params())).fetchall()
        if query.count:
            return int(rows[0][0])
        return [row[0] for row in rows]

    return run


def server_runner(session: labstore.Session) -> Runner:
    """The server's path: ``Session.query()`` or ``Session.<Model>.count()`` over HTTP."""

    def run(query: Query) -> Answer:
        if query.count:
            return session.model_interface(query.model).count(query.json["__query__"])
        return [str(o.id) for o in session.query(query.json)]

    return run


@dataclass
class Series:
    """The timed runs of one query on one path, and its first answer."""

    samples: list[float] = field(default_factory=list)
    answer: Answer | None = None

    def figures(self) -> dict[str, Any]:
        rows = self.answer if isinstance(self.answer, int) else len(self.answer or [])
        return {**latency_ms(self.samples), "runs": len(self.samples), "rows": rows}


def measure(
    queries: Sequence[Query], runners: dict[str, Runner], plan: Plan
) -> dict[str, dict[str, Series]]:
    """Every query on every path; the paths take turns run by run, so drift hits all alike.

    A path stops early once its runs of a query have taken ``plan.budget_s`` seconds (after
    at least 5 runs), so that a slow query cannot take the benchmark's whole time.
    """
    out: dict[str, dict[str, Series]] = {}
    for query in queries:
        series = {path: Series() for path in runners}
        for path, run in runners.items():
            series[path].answer = run(query)
            for _ in range(plan.warmup - 1):
                run(query)
        for _ in range(plan.runs):
            busy = False
            for path, run in runners.items():
                samples = series[path].samples
                if len(samples) >= 5 and sum(samples) >= plan.budget_s:
                    continue
                busy = True
                began = time.perf_counter()
                run(query)
                samples.append(time.perf_counter() - began)
            if not busy:
                break
        out[query.key] = series
        shown = ", ".join(
            f"{path} {latency_ms(s.samples)['median_ms']:.2f} ms" for path, s in series.items()
        )
        print(f"  {query.key:20} {shown}", flush=True)
    return out


def open_session(url: str, config_dir: Path) -> labstore.Session:
    """A logged-in Session whose config and token files live in ``config_dir``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    return labstore.Session(
        {"location": url, "username": USERNAME, "password": PASSWORD},
        file_name=config_dir / "config.toml",
    )


def measure_server(
    name: str, server: LabstoreServer, queries: Sequence[Query], plan: Plan, work_dir: Path
) -> dict[str, Series]:
    """Start ``server``, run the queries through a Session, stop it."""
    print(f"[{name}] labstore serve, {len(queries)} queries ...", flush=True)
    with server:
        server.start()
        with open_session(server.url, work_dir / f"{name}-client") as session:
            found = measure(queries, {name: server_runner(session)}, plan)
    return {key: series[name] for key, series in found.items()}


# -- output ---------------------------------------------------------------------------------


def disagreements(query: Query, series: dict[str, Series]) -> list[str]:
    """Paths whose first answer differs from the reference path's (raw SQL, else local)."""
    reference = "raw" if "raw" in series else "local"
    expected = series[reference].answer
    out = []
    for path, found in series.items():
        answer = found.answer
        if query.moving and isinstance(answer, list) and isinstance(expected, list):
            same = len(answer) == len(expected)  # the window moved between the paths
        else:
            same = answer == expected
        if not same:
            shown = answer if isinstance(answer, int) else f"{len(answer or [])} rows"
            wanted = expected if isinstance(expected, int) else f"{len(expected or [])} rows"
            out.append(
                f"{query.key}: {TITLES[path]} answered {shown} (ids in order differ)"
                f" where {TITLES[reference]} answered {wanted}"
            )
    return out


def _cell(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "skipped"
    return f"{figures['median_ms']:.2f} / {figures['p95_ms']:.2f}"


def _ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> str:
    if top is None or bottom is None or not bottom["median_ms"]:
        return "-"
    return f"{top['median_ms'] / bottom['median_ms']:.1f}x"


def print_table(queries: Sequence[Query], results: dict[str, dict[str, Any]]) -> None:
    label_width = max(len(q.label) for q in queries)
    width = 19
    heads = [TITLES[p] for p in PATHS]
    print("\nmedian / p95 latency in ms (rows: objects returned, or the count)")
    print(
        f"{'query':{label_width}} {'rows':>7}"
        + "".join(f"{h:>{width}}" for h in heads)
        + f"{'srv/local':>11}{'local/raw':>11}"
    )
    print("-" * (label_width + 8 + width * len(heads) + 22))
    for query in queries:
        figures = results[query.key]
        present = [f for f in figures.values() if f is not None]
        rows = {f["rows"] for f in present}
        shown_rows = f"{rows.pop():,}" if len(rows) == 1 else "differ"
        cells = [_cell(figures.get(p)) for p in PATHS]
        print(
            f"{query.label:{label_width}} {shown_rows:>7}"
            + "".join(f"{c:>{width}}" for c in cells)
            + f"{_ratio(figures.get('server_sqlite'), figures.get('local')):>11}"
            + f"{_ratio(figures.get('local'), figures.get('raw')):>11}"
        )


def print_facts(facts: dict[str, Any], plan: Plan) -> None:
    print("labstore query benchmark")
    for key, value in facts.items():
        print(f"  {key + ':':12} {value if value is not None else '-'}")
    print(
        f"  {'data:':12} {plan.objects:,} objects: {plan.labs} labs, {plan.subjects:,} subjects, "
        f"{plan.experiments:,} experiments, {plan.datasets:,} datasets"
    )
    print(
        f"  {'runs:':12} {plan.warmup} warm-up + up to {plan.runs} timed runs of each query on "
        f"each path (at most {plan.budget_s:g} s of runs)"
    )
    print(flush=True)


def explain(engine: Engine, registry: Registry, queries: Sequence[Query]) -> None:
    """The local store's SQL of each query and SQLite's plan for it."""
    tables = StoreTables(registry)
    compiler = Compiler(registry, tables)
    for query in queries:
        parsed = parse_query(registry, query.json, max_limit=MAX_LIMIT)
        table = tables(parsed.model)
        where = compiler.where(parsed.model, parsed.node)
        if query.count:
            stmt = select(func.count()).select_from(table).where(where)
        else:
            stmt = (
                select(table)
                .where(where)
                .order_by(*compiler.order_by(parsed.model, parsed.order))
                .limit((parsed.limit or MAX_LIMIT) + 1)
            )
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        print(f"\n-- {query.key}: {query.label}\n{sql}")
        with engine.connect() as conn:
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"):
                print(f"   plan: {row[3]}")


# -- the run --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, bool, bool]:
    scale = parse_scale(
        "Latency of typical JSON queries on the server (SQLite, PostgreSQL) and "
        "on the local store, beside hand-written SQL.",
        None if argv is None else list(argv),
        runs=(30, "on each path"),
        budget=(4.0, " and path"),
        explain_help="print the local store's SQL and query plans",
        min_objects=100,
    )
    plan = Plan.for_objects(scale.objects, scale.runs, scale.warmup, scale.budget)
    return plan, scale.skip_postgres, scale.explain


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    plan, skip_postgres, show_plans = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    began = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="labstore-bench-queries-"))
    try:
        with postgres_cluster(work_dir, wanted=not skip_postgres) as pg:
            facts = machine_facts(pg.version() if pg.cluster else None)
            facts["load_average_at_start"] = _load_average()
            print_facts(facts, plan)
            run = run_all(work_dir, plan, pg, show_plans)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    queries, series, phases = run
    results = {
        q.key: {p: series[p][q.key].figures() if p in series else None for p in PATHS}
        for q in queries
    }
    print_table(queries, results)
    problems = [
        line for q in queries for line in disagreements(q, {p: s[q.key] for p, s in series.items()})
    ]
    for line in problems:
        print(f"DIFFERENT ANSWER: {line}")
    if pg.cluster is None:
        print(f"\nPostgreSQL skipped: {pg.reason}")
    elapsed = time.perf_counter() - began
    facts["load_average_at_end"] = _load_average()
    print(
        f"\nload average (1, 5, 15 min): {facts['load_average_at_start']} at the start, "
        f"{facts['load_average_at_end']} at the end (other work on the machine moves figures)"
    )
    print("seconds: " + ", ".join(f"{name} {seconds:.0f}" for name, seconds in phases.items()))
    path = write_results(
        "queries",
        {
            "machine": facts,
            "plan": asdict(plan),
            "queries": {
                q.key: {
                    "label": q.label,
                    "json": q.json,
                    "raw_sql": q.raw_sql,
                    "paths": results[q.key],
                }
                for q in queries
            },
            "different_answers": problems,
            "phases_s": {k: round(v, 1) for k, v in phases.items()},
            "postgresql_skipped": pg.reason or None,
            "seconds": round(elapsed, 1),
        },
    )
    print(f"{elapsed:.0f} s in all; figures written to {path}")
    return 0


def run_all(
    work_dir: Path, plan: Plan, pg: Postgres, show_plans: bool
) -> tuple[list[Query], dict[str, dict[str, Series]], dict[str, float]]:
    """Build the databases, then time every query on every path."""
    registry = builtin_registry()
    data = LabData(plan)
    queries = make_queries(data)
    phases: dict[str, float] = {}
    began = time.perf_counter()

    servers: dict[str, LabstoreServer] = {}
    targets: list[Target] = []
    servers["server_sqlite"] = LabstoreServer(work_dir / "sqlite-data")
    server_file = work_dir / "sqlite-data" / "labstore.sqlite3"
    if pg.cluster is not None:
        servers["server_postgresql"] = LabstoreServer(
            work_dir / "postgresql-data", pg.create_database("bench")
        )
    for name, server in servers.items():
        server.add_user(USERNAME, PASSWORD)  # also creates the schema
        url = server.env.get("LABSTORE_DATABASE_URL") or f"sqlite:///{server_file}"
        targets.append(Target(name, url, registry))
    print(f"[load] {plan.objects:,} objects into {', '.join(TITLES[t.name] for t in targets)}")
    phases.update(load_servers(data, targets))
    print("[load] local store ...", flush=True)
    local_began = time.perf_counter()
    local_path = work_dir / "local-store.sqlite3"
    engine = build_local_store(local_path, server_file, registry)
    phases["local store"] = time.perf_counter() - local_began
    phases["loading in all"] = time.perf_counter() - began

    series: dict[str, dict[str, Series]] = {}
    try:
        if show_plans:
            explain(engine, registry, queries)
        began = time.perf_counter()
        print(f"[local] {len(queries)} queries on the local store and as raw SQL ...")
        with contextlib.closing(sqlite3.connect(local_path)) as raw:
            found = measure(
                queries, {"local": local_runner(engine, registry), "raw": raw_runner(raw)}, plan
            )
        for path in ("local", "raw"):
            series[path] = {key: s[path] for key, s in found.items()}
    finally:
        engine.dispose()
    for name, server in servers.items():
        series[name] = measure_server(name, server, queries, plan, work_dir)
    phases["queries"] = time.perf_counter() - began
    return queries, series, phases


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers and the PostgreSQL cluster are stopped", file=sys.stderr)
        sys.exit(130)

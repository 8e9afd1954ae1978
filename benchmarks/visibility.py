"""Visibility benchmark: what the access rule costs a user who sees 10% of the objects.

The issue's question: "listing and query cost for a user who sees 10% of 1,000,000 objects
through 10,000 shares, against an admin who sees all: print the ratio (target: at most 1.5
times)".

The data is the ``experiment`` pack, written straight into the server's database with
SQLAlchemy Core (PostgreSQL: ``COPY``), its schema made by ``labstore db upgrade``:
20 labs, ``--objects``/500 subjects, ``--objects``/10 experiments (each of a subject and its
lab, dates over 2020-2024) and datasets (~9 per experiment) making up the rest. Everything is
owned by ``olive``, private (safety level 1) and in no project. Access groups are as labstore
makes them: labs, subjects and experiments are each their own group, and datasets join their
experiment's (``experiment`` is an ownership relation). Three users are added with
``labstore user add``: ``olive`` (the owner), ``boss`` (a site administrator: sees all) and
``viewer`` (a plain user), and ``viewer`` is given read on one experiment in ten, chosen at
random, through one ``access_share`` row each: 10,000 shares by default, which make ~10% of
the experiments and ~10% of the datasets visible to ``viewer`` (``--quick``: 20,000 objects,
200 shares, and page 17 instead of 50). The databases are then ``ANALYZE``d (PostgreSQL:
``VACUUM ANALYZE``); the plain indexes are dropped for the load and built again afterwards
from their own ``CREATE INDEX`` statements.

Each query then runs through a real ``labstore serve`` (SQLite, and PostgreSQL unless
``--skip-postgres``) and a ``labstore.Session`` of each user, ``boss`` and ``viewer`` taking
turns run by run so that drift hits both alike; ``--warmup`` untimed runs, then up to
``--runs`` timed ones (fewer once a user's runs of a query have taken ``--budget`` seconds).
The requests go through ``Session._request`` (and ``Session.Dataset.count()``), so what is
timed is HTTP and the server (parse, compile, SQL, JSON), not building client objects, which
costs both users the same:

========================  ===================================================================
list                      ``GET /api/experiment/dataset?limit=100`` (the first page)
list name=                ... ``&name=spikes.times.npy`` (an indexed equality)
list name~                ... ``&name__icontains=trials`` (a substring: no index helps)
query relation            ``POST /api/query``: datasets whose ``experiment.date >= 2023-01-01``
count                     ``Session.Dataset.count()`` (``POST /api/query/count``)
count name=               ``Session.Dataset.count({"name": "spikes.times.npy"})``
page 50                   ``GET /api/experiment/dataset?limit=100&cursor=...``: the 50th page
                          (its cursor, the one after 4,900 objects, found beforehand)
first 5,000               the objects of pages 1 to 50: ``GET ...?limit=1000`` five times,
                          following the cursors, as ``Session`` iterates (1,000 at a time)
========================  ===================================================================

After the server's runs, the same reads run in this process on the same database, without
HTTP: ``Compiler`` with ``visibility(principal, access_share)`` (as the server builds it for
``boss`` and for ``viewer``), then ``select_page`` or ``count_rows`` in a
``read_transaction``, as ``labstore.server.reads.Reader`` does. That is the SQL's own cost:
through the server each request also pays a few ms of HTTP and JSON, the same for both users,
which makes the server's ratios smaller than the SQL's.

The table shows, for each database, the median and 95th percentile in ms of each user through
the server, their ratio (viewer / admin, medians; the issue's target is at most 1.5), the
objects returned (or the count), then the in-process medians and their ratio. The viewer's
count is checked against the number of datasets in the shared experiments. With ``--explain``
the script also prints, for each query and user, the SQL as the database receives it, its
bound parameters and its plan (SQLite: ``EXPLAIN QUERY PLAN`` with the same parameters bound,
as SQLite plans some conditions differently when it sees literal values; PostgreSQL:
``EXPLAIN (ANALYZE, BUFFERS)``).

Usage::

    .venv/bin/python benchmarks/visibility.py                 # 1,000,000 objects, ~5 minutes
    .venv/bin/python benchmarks/visibility.py --quick         # 20,000 objects, a smoke test
    .venv/bin/python benchmarks/visibility.py --objects 200000 --skip-postgres --explain

The figures are also written to ``benchmarks/results/visibility.json``. Nothing asserts a
timing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import random
import shutil
import signal
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
from sqlalchemy import JSON, Engine, Table, event

import labstore
from labstore.query.compile import Compiler
from labstore.query.jsonquery import ParsedQuery, parse_query
from labstore.schema.packs import builtin_registry
from labstore.schema.registry import Registry
from labstore.server.access import PRIVATE, visibility
from labstore.server.auth import Principal
from labstore.store.engine import create_store_engine, read_transaction, write_transaction
from labstore.store.select import RowPage, count_rows, select_page
from labstore.store.tables import StoreTables

OWNER, ADMIN, VIEWER = "olive", "boss", "viewer"
PASSWORD = "pw12345"
USERS = (ADMIN, VIEWER)
USER_KEYS = ("admin", "viewer")
TARGET = 1.5
"""The issue's target for viewer / admin."""
CHUNK = 10_000
"""Rows generated and inserted at a time (one transaction each)."""
SEED = 20240601
PAGE = 100
DEEP_PAGES = 50
BIG_PAGE = 1000
"""The pages of the walk: the client's (``Session`` iterates 1,000 objects at a time)."""
MODELS = ("experiment/lab", "experiment/subject", "experiment/experiment", "experiment/dataset")
DATASETS = "/api/experiment/dataset"


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much data, how many shares, how many timed runs."""

    objects: int
    labs: int
    subjects: int
    experiments: int
    datasets: int
    shares: int
    deep_pages: int
    """The deep page: page 50, or the viewer's last full page when it has fewer."""
    runs: int
    warmup: int
    budget_s: float

    @classmethod
    def for_objects(cls, objects: int, runs: int, warmup: int, budget_s: float) -> Plan:
        """One object in ten an experiment, one in 500 a subject, one share per ten
        experiments; datasets make up the rest."""
        experiments = max(10, objects // 10)
        subjects = max(1, objects // 500)
        labs = max(1, min(20, subjects))
        datasets = objects - experiments - subjects - labs
        if datasets < experiments:
            raise ValueError(f"--objects {objects} is too few (at least 1000)")
        shares = experiments // 10
        deep_pages = max(2, min(DEEP_PAGES, shares * datasets // experiments // PAGE))
        return cls(
            objects, labs, subjects, experiments, datasets, shares, deep_pages, runs, warmup,
            budget_s,
        )  # fmt: skip


# -- the data --------------------------------------------------------------------------------

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # labstore's: Crockford's base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> 2 characters
_ID_SPACE = 1 << 50
_ID_STEP = 0x1D3C_5B4A_2F0E_B  # odd, so ``i * step mod 2**50`` never repeats an id


def make_id(serial: int) -> str:
    """A 10-character base32 id, in no particular order, unique for each serial number."""
    v = (serial * _ID_STEP + 0x0BAD_CAFE_1234) % _ID_SPACE
    p = _PAIRS
    return (
        p[v >> 40] + p[(v >> 30) & 1023] + p[(v >> 20) & 1023] + p[(v >> 10) & 1023] + p[v & 1023]
    )


NAMES = (
    ("alf", "trials.table.pqt"),
    ("alf", "trials.stimOn_times.npy"),
    ("alf", "wheel.position.npy"),
    ("alf", "wheel.timestamps.npy"),
    ("alf", "licks.times.npy"),
    ("alf/probe00", "spikes.times.npy"),
    ("alf/probe00", "spikes.clusters.npy"),
    ("alf/probe00", "clusters.metrics.pqt"),
    ("alf/probe01", "spikes.times.npy"),
    ("alf/probe01", "spikes.clusters.npy"),
    ("raw_behavior_data", "_iblrig_taskData.raw.jsonable"),
    ("raw_ephys_data/probe00", "_spikeglx_ephysData_g0_t0.imec0.ap.cbin"),
    ("raw_video_data", "_iblrig_leftCamera.raw.mp4"),
    ("alf", "_ibl_leftCamera.times.npy"),
)
QC = ("NOT_SET", "PASS", "WARNING", "FAIL", "CRITICAL")
FIRST_DAY = dt.date(2020, 1, 1)
DAYS = (dt.date(2024, 12, 31) - FIRST_DAY).days + 1
SPAN = dt.timedelta(days=365)
"""Objects were created over the year before the benchmark: labs, subjects, experiments and
their datasets in turn, so ``created`` increases with the serial number of every table."""


@dataclass
class Data:
    """Deterministic rows, the shared experiments, and what the viewer should see."""

    plan: Plan
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    shared: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        rng = random.Random(SEED)
        self.shared = frozenset(rng.sample(range(self.plan.experiments), self.plan.shares))

    def lab_id(self, i: int) -> str:
        return make_id(i)

    def subject_id(self, i: int) -> str:
        return make_id(self.plan.labs + i)

    def experiment_id(self, j: int) -> str:
        return make_id(self.plan.labs + self.plan.subjects + j)

    def dataset_id(self, i: int) -> str:
        return make_id(self.plan.labs + self.plan.subjects + self.plan.experiments + i)

    def first_dataset(self, j: int) -> int:
        """Index of experiment ``j``'s first dataset (datasets come grouped by experiment)."""
        return -(-j * self.plan.datasets // self.plan.experiments)

    def created(self, i: int, n: int) -> dt.datetime:
        return self.now - SPAN + SPAN * (i / n)

    def common(self, ident: str, created: dt.datetime, group: str) -> dict[str, Any]:
        return {"id": ident, "version": 1, "owner": OWNER, "project": None,
                "safety_level": PRIVATE, "access_group": group,
                "created": created, "modified": created}  # fmt: skip

    def subject_lab(self, i: int) -> int:
        return i % self.plan.labs

    def experiment_date(self, j: int) -> dt.date:
        """Each subject's experiments spread over 2020-2024, one a day at most (unique)."""
        per_subject = -(-self.plan.experiments // self.plan.subjects)
        step = max(1, DAYS // per_subject)
        k = j // self.plan.subjects
        return FIRST_DAY + dt.timedelta(days=(k * step + (j * 7919) % step) % DAYS)

    def visible_datasets(self) -> int:
        """How many datasets ``viewer`` may see: those of the shared experiments."""
        return sum(self.first_dataset(j + 1) - self.first_dataset(j) for j in self.shared)

    def labs(self) -> list[dict[str, Any]]:
        n = self.plan.labs
        return [
            {**self.common(self.lab_id(i), self.created(i, n), self.lab_id(i)),
             "name": f"lab{i:02d}", "institution": f"Institute {i % 7}",
             "timezone": "Europe/London"}
            for i in range(n)
        ]  # fmt: skip

    def subjects(self, first: int, last: int) -> list[dict[str, Any]]:
        n = self.plan.subjects
        return [
            {**self.common(self.subject_id(i), self.created(i, n), self.subject_id(i)),
             "nickname": f"SW_{i:05d}", "species": "Mus musculus", "strain": "C57BL/6J",
             "sex": "MF"[i % 2], "birth_date": FIRST_DAY - dt.timedelta(days=90 + i % 365),
             "description": None, "lab_id": self.lab_id(self.subject_lab(i))}
            for i in range(first, last)
        ]  # fmt: skip

    def experiment(self, j: int) -> dict[str, Any]:
        subject = j % self.plan.subjects
        date = self.experiment_date(j)
        start = dt.datetime(date.year, date.month, date.day, 9, tzinfo=dt.UTC)
        start += dt.timedelta(seconds=(j * 104_729) % 30_000)
        ident = self.experiment_id(j)
        return {**self.common(ident, self.created(j, self.plan.experiments), ident),
                "date": date, "number": 1,
                "task_protocol": f"_iblrig_tasks_ephysChoiceWorld{j % 3}.{j % 7}",
                "projects": ["brainwide"], "start_time": start,
                "end_time": start + dt.timedelta(seconds=3600 + j % 1800),
                "narrative": None, "qc": QC[j % len(QC)],
                "subject_id": self.subject_id(subject),
                "lab_id": self.lab_id(self.subject_lab(subject))}  # fmt: skip

    def datasets_of(self, j: int) -> list[dict[str, Any]]:
        group = self.experiment_id(j)
        first, last = self.first_dataset(j), self.first_dataset(j + 1)
        rows = []
        for i in range(first, last):
            collection, name = NAMES[(j * 5 + i - first) % len(NAMES)]
            rows.append(
                {**self.common(self.dataset_id(i), self.created(i, self.plan.datasets), group),
                 "collection": collection, "revision": "", "name": name,
                 "size": (i * 2_654_435_761) % 50_000_000_000, "hash": f"{i * 977:032x}",
                 "qc": QC[i % len(QC)], "default_revision": True,
                 "experiment_id": group, "file_id": None}
            )  # fmt: skip
        return rows

    def shares(self) -> list[dict[str, Any]]:
        return [
            {"access_group": self.experiment_id(j), "kind": "user", "principal": VIEWER,
             "permissions": 1}
            for j in sorted(self.shared)
        ]  # fmt: skip

    def chunks(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(table key, rows), parents first, about ``CHUNK`` rows at a time."""
        plan = self.plan
        yield "experiment/lab", self.labs()
        for first in range(0, plan.subjects, CHUNK):
            yield "experiment/subject", self.subjects(first, min(plan.subjects, first + CHUNK))
        for first in range(0, plan.experiments, CHUNK):
            last = min(plan.experiments, first + CHUNK)
            yield "experiment/experiment", [self.experiment(j) for j in range(first, last)]
        rows: list[dict[str, Any]] = []
        for j in range(plan.experiments):
            rows.extend(self.datasets_of(j))
            if len(rows) >= CHUNK:
                yield "experiment/dataset", rows
                rows = []
        if rows:
            yield "experiment/dataset", rows
        yield "access_share", self.shares()


# -- loading ----------------------------------------------------------------------------------


@contextlib.contextmanager
def indexes_dropped(engine: Engine, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' plain indexes for the bulk load and create the same ones afterwards."""
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
        self.url = url
        self.registry = registry
        self.tables = StoreTables(registry, server_tables=True)
        self.engine = create_store_engine(url)
        self.seconds = 0.0

    def table(self, key: str) -> Table:
        if "/" in key:
            return self.tables(self.registry.model(key))
        return self.tables.metadata.tables[key]

    def insert(self, key: str, rows: list[dict[str, Any]]) -> None:
        began = time.perf_counter()
        table = self.table(key)
        if self.engine.dialect.name == "postgresql":
            self._copy(table, rows)
        else:
            with write_transaction(self.engine) as conn:
                conn.execute(table.insert(), rows)
        self.seconds += time.perf_counter() - began

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """``COPY ... FROM STDIN``, about twice as fast as multi-row INSERTs."""
        columns = [c for c in table.c if c.name in rows[0]]
        convert = [
            json_text if isinstance(c.type, JSON) else c.type.bind_processor(self.engine.dialect)
            for c in columns
        ]
        pairs = list(zip([c.name for c in columns], convert, strict=True))
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(f'"{c.name}"' for c in columns)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([f(row[n]) if f else row[n] for n, f in pairs])
            raw.commit()
        finally:
            raw.close()


def load(data: Data, targets: Sequence[Target]) -> None:
    """Every row into every database, indexes built afterwards, then statistics."""
    names = [targets[0].table(m).name for m in MODELS]
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(indexes_dropped(target.engine, names))
        done = 0
        for key, rows in data.chunks():
            for target in targets:
                target.insert(key, rows)
            done += len(rows)
            if done % 200_000 < len(rows):
                print(f"[load] {done:,} rows", flush=True)
        print("[load] building indexes ...", flush=True)
        began = time.perf_counter()
    indexing = time.perf_counter() - began
    for target in targets:
        target.seconds += indexing / len(targets)  # built one database after the other
        started = time.perf_counter()
        analyze(target.engine)
        target.seconds += time.perf_counter() - started


# -- the queries ------------------------------------------------------------------------------

Answer = int
"""What one run returns: the objects returned, or the count."""


@dataclass(frozen=True)
class Query:
    """One timed request, and the JSON query it amounts to (for ``--explain``)."""

    key: str
    label: str
    kind: str
    """``list`` (GET a page), ``query`` (POST /api/query), ``count``, ``page`` (GET with the
    cursor of the deep page, the 50th), ``walk`` (the objects of pages 1 to 50, fetched in
    pages of 1,000 following the cursors, as ``Session`` iterates)."""
    params: tuple[tuple[str, Any], ...] = ()
    body: dict[str, Any] = field(default_factory=dict)


RELATION = {"experiment": {"date": {"__ge__": "2023-01-01"}}}
QUERIES = (
    Query("list", "list: GET ?limit=100", "list", (("limit", PAGE),),
          {"__query__": {}}),
    Query("list_eq", "list name=spikes.times.npy", "list",
          (("name", "spikes.times.npy"), ("limit", PAGE)),
          {"__query__": {"name": "spikes.times.npy"}}),
    Query("list_icontains", "list name__icontains=trials", "list",
          (("name__icontains", "trials"), ("limit", PAGE)),
          {"__query__": {"name": {"__icontains__": "trials"}}}),
    Query("query_relation", "query experiment.date>=2023", "query", (),
          {"__query__": RELATION}),
    Query("count", "count: Dataset.count()", "count", (), {"__query__": {}}),
    Query("count_eq", "count name=spikes.times.npy", "count", (),
          {"__query__": {"name": "spikes.times.npy"}}),
    Query("page_deep", "list page {n} (cursor)", "page", (("limit", PAGE),),
          {"__query__": {}}),
    Query("walk", "first {objects} (pages of 1,000)", "walk",
          (("limit", PAGE),), {"__query__": {}}),
)  # fmt: skip


def title(query: Query, plan: Plan) -> str:
    """The query's label, with the number of the deep page."""
    n = plan.deep_pages
    return query.label.format(n=n, objects=f"{n * PAGE:,}")


def json_body(query: Query, limit: int | None = PAGE) -> dict[str, Any]:
    body: dict[str, Any] = {"__model__": "Dataset", **query.body}
    if limit is not None and query.kind not in ("count",):
        body["__options__"] = {"limit": limit}
    return body


class Client:
    """One user's Session, and the cursor of their 50th page."""

    def __init__(self, session: labstore.Session) -> None:
        self.session = session
        self.deep_cursor: str | None = None
        self.deep_pages = DEEP_PAGES

    def get_page(self, params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self.session._request("GET", DATASETS, params=list(params)).json()
        return answer

    def walk(self, objects: int) -> tuple[int, str | None]:
        """The first ``objects`` objects, in pages of at most ``BIG_PAGE`` following the
        cursors: how many came, and the cursor after the last."""
        cursor: str | None = None
        found = 0
        while found < objects:
            params = [("limit", min(BIG_PAGE, objects - found))]
            page = self.get_page([*params, *([("cursor", cursor)] if cursor else [])])
            found += len(page["items"])
            cursor = page.get("next")
            if not cursor:
                break
        return found, cursor

    def prepare(self, deep_pages: int) -> None:
        """Find the cursor of page ``deep_pages`` of ``PAGE`` objects: the one after the
        first ``(deep_pages - 1) * PAGE`` objects, whatever the size of the pages."""
        self.deep_pages = deep_pages
        _, self.deep_cursor = self.walk((deep_pages - 1) * PAGE)

    def run(self, query: Query) -> Answer:
        s = self.session
        if query.kind == "list":
            return len(self.get_page(query.params)["items"])
        if query.kind == "query":
            answer = s._request("POST", "/api/query", json=json_body(query)).json()
            return len(answer["items"])
        if query.kind == "count":
            return s.Dataset.count(query.body["__query__"])
        if query.kind == "page":
            if self.deep_cursor is None:
                return 0  # fewer pages than that
            return len(self.get_page([*query.params, ("cursor", self.deep_cursor)])["items"])
        if query.kind == "walk":
            return self.walk(self.deep_pages * PAGE)[0]
        raise ValueError(query.kind)


# -- the measurements ---------------------------------------------------------------------

Runner = Callable[[Query], Answer]


@dataclass
class Series:
    samples: list[float] = field(default_factory=list)
    answer: Answer | None = None

    def figures(self) -> dict[str, Any]:
        return {**latency_ms(self.samples), "runs": len(self.samples), "rows": self.answer}


def measure(runners: dict[str, Runner], plan: Plan, what: str) -> dict[str, dict[str, Series]]:
    """Every query for every user; the users take turns run by run (the first alternating).

    A user's runs of a query stop once they have taken ``plan.budget_s`` seconds (after at
    least 5), so that a slow query cannot take the benchmark's whole time.
    """
    out: dict[str, dict[str, Series]] = {}
    for query in QUERIES:
        series = {user: Series() for user in runners}
        for user, run in runners.items():
            began = time.perf_counter()
            series[user].answer = run(query)
            for _ in range(plan.warmup - 1):
                if time.perf_counter() - began > plan.budget_s / 4:
                    break  # a slow query: one untimed run warms it enough
                run(query)
        turns = list(runners.items())
        for i in range(plan.runs):
            busy = False
            for user, run in turns if i % 2 == 0 else turns[::-1]:
                samples = series[user].samples
                if len(samples) >= 5 and sum(samples) >= plan.budget_s:
                    continue
                busy = True
                began = time.perf_counter()
                run(query)
                samples.append(time.perf_counter() - began)
            if not busy:
                break
        out[query.key] = series
        admin, viewer = (latency_ms(series[u].samples)["median_ms"] for u in USERS)
        print(
            f"[{what}] {query.key:15} admin {admin:9.2f} ms   viewer {viewer:9.2f} ms   "
            f"{viewer / admin:6.2f}x",
            flush=True,
        )
    return out


def open_session(url: str, user: str, config_dir: Path) -> labstore.Session:
    """A logged-in Session whose config and token files live in ``config_dir``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    return labstore.Session(
        {"location": url, "username": user, "password": PASSWORD},
        file_name=config_dir / "config.toml",
    )


# -- the server's SQL, in process -----------------------------------------------------------


def principal(user: str) -> Principal:
    """The principal the server resolves for ``user`` (neither has a project)."""
    return Principal(id=user, username=user, is_admin=user == ADMIN)


class InProcess:
    """The server's reads for one user without HTTP: the compiler the server builds
    (``Compiler`` with ``visibility(principal, access_share)``), then ``select_page`` or
    ``count_rows`` in a ``read_transaction``, as ``labstore.server.reads.Reader`` runs them."""

    def __init__(self, engine: Engine, tables: StoreTables, user: str) -> None:
        self.engine = engine
        self.registry = tables.registry
        shares = tables.metadata.tables["access_share"]
        self.compiler = Compiler(self.registry, tables, visibility(principal(user), shares))
        self.deep_cursor: str | None = None
        self.deep_pages = DEEP_PAGES
        self._parsed: dict[str, ParsedQuery] = {}

    def parsed(self, query: Query) -> ParsedQuery:
        if query.key not in self._parsed:
            self._parsed[query.key] = parse_query(self.registry, json_body(query), max_limit=1000)
        return self._parsed[query.key]

    def page(self, query: Query, limit: int, cursor: str | None) -> RowPage:
        parsed = self.parsed(query)
        with read_transaction(self.engine) as conn:
            return select_page(
                conn, self.compiler, parsed.model, parsed.node, parsed.order,
                limit=limit, cursor=cursor,
            )  # fmt: skip

    def walk(self, objects: int) -> tuple[int, str | None]:
        """As :meth:`Client.walk`: pages of at most ``BIG_PAGE`` following the cursors."""
        cursor: str | None = None
        found = 0
        while found < objects:
            page = self.page(QUERIES[0], min(BIG_PAGE, objects - found), cursor)
            found += len(page.rows)
            cursor = page.next
            if not cursor:
                break
        return found, cursor

    def prepare(self, deep_pages: int) -> None:
        self.deep_pages = deep_pages
        _, self.deep_cursor = self.walk((deep_pages - 1) * PAGE)

    def run(self, query: Query) -> Answer:
        if query.kind in ("list", "query"):
            return len(self.page(query, PAGE, None).rows)
        if query.kind == "count":
            parsed = self.parsed(query)
            with read_transaction(self.engine) as conn:
                return count_rows(conn, self.compiler, parsed.model, parsed.node)
        if query.kind == "page":
            if self.deep_cursor is None:
                return 0
            return len(self.page(query, PAGE, self.deep_cursor).rows)
        if query.kind == "walk":
            return self.walk(self.deep_pages * PAGE)[0]
        raise ValueError(query.kind)


@contextlib.contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements executed on ``engine`` meanwhile, with their bound parameters."""
    found: list[tuple[str, Any]] = []

    def hook(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def explain(name: str, runners: dict[str, InProcess], plan: Plan) -> None:
    """Each query's SQL for each user as the database receives it, and its plan.

    The plan is asked with the very parameters bound (not inlined): SQLite plans some
    conditions differently when it sees the values. PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)``.
    """
    for query in QUERIES:
        for user, runner in runners.items():
            engine = runner.engine
            with captured(engine) as found:
                rows = runner.run(query)
            statement, parameters = found[-1]  # the walk: its last page
            print(f"\n-- [{name}] {title(query, plan)}, as {user}: {rows:,} rows")
            print(statement)
            print(f"   parameters: {parameters}")
            sqlite = engine.dialect.name == "sqlite"
            prefix = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN (ANALYZE, BUFFERS)"
            with read_transaction(engine) as conn:
                for row in conn.exec_driver_sql(f"{prefix} {statement}", parameters):
                    print(f"   plan: {row[3] if sqlite else row[0]}")


# -- one database ---------------------------------------------------------------------------


@dataclass
class Measured:
    """One database's series: through the server (HTTP) and the server's SQL in process."""

    http: dict[str, dict[str, Series]]
    sql: dict[str, dict[str, Series]]


def measure_backend(
    name: str, server: LabstoreServer, plan: Plan, work_dir: Path, show_plans: bool
) -> Measured:
    """Time the queries through a real server, then its SQL in process (server stopped)."""
    print(f"[{name}] labstore serve, {len(QUERIES)} queries for {' and '.join(USERS)} ...")
    with server, contextlib.ExitStack() as stack:
        server.start()
        clients = {
            user: Client(
                stack.enter_context(open_session(server.url, user, work_dir / f"{name}-{user}"))
            )
            for user in USERS
        }
        for client in clients.values():
            client.prepare(plan.deep_pages)
        http = measure({u: c.run for u, c in clients.items()}, plan, f"{name} http")
    print(f"[{name}] the same SQL in process (no HTTP) ...", flush=True)
    engine = create_store_engine(database_url(server))
    try:
        tables = StoreTables(builtin_registry(), server_tables=True)
        runners = {user: InProcess(engine, tables, user) for user in USERS}
        for runner in runners.values():
            runner.prepare(plan.deep_pages)
        sql = measure({u: r.run for u, r in runners.items()}, plan, f"{name} sql ")
        if show_plans:
            explain(name, runners, plan)
    finally:
        engine.dispose()
    return Measured(http, sql)


# -- output ---------------------------------------------------------------------------------

TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _pair(series: dict[str, Series]) -> dict[str, Any]:
    admin, viewer = series[ADMIN].figures(), series[VIEWER].figures()
    ratio = viewer["median_ms"] / admin["median_ms"] if admin["median_ms"] else None
    return {"admin": admin, "viewer": viewer, "ratio": round(ratio, 2) if ratio else None}


def figures_of(measured: Measured, plan: Plan) -> dict[str, Any]:
    return {
        q.key: {
            "label": title(q, plan),
            "http": _pair(measured.http[q.key]),
            "sql_in_process": _pair(measured.sql[q.key]),
        }
        for q in QUERIES
    }


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def print_table(name: str, figures: dict[str, Any]) -> None:
    label_width = max(len(f["label"]) for f in figures.values())
    print(
        f"\n{TITLES[name]}: through the server, median / p95 ms; rows: objects returned or the "
        "count;\nSQL only: the server's SQL in process, median ms"
    )
    heads = (
        f"{'query':{label_width}} {'admin ms':>17} {'viewer ms':>17} {'viewer/admin':>13}"
        f" {'admin rows':>11} {'viewer rows':>12} {'SQL admin':>10} {'SQL viewer':>11}"
        f" {'SQL ratio':>10}"
    )
    print(heads)
    print("-" * len(heads))
    for f in figures.values():
        http, sql = f["http"], f["sql_in_process"]
        cells = [f"{http[u]['median_ms']:.2f} / {http[u]['p95_ms']:.2f}" for u in USER_KEYS]
        print(
            f"{f['label']:{label_width}} {cells[0]:>17} {cells[1]:>17}"
            f" {_ratio(http['ratio']):>13} {http['admin']['rows']:>11,}"
            f" {http['viewer']['rows']:>12,} {sql['admin']['median_ms']:>10.2f}"
            f" {sql['viewer']['median_ms']:>11.2f} {_ratio(sql['ratio']):>10}"
        )
    over = [f["label"] for f in figures.values() if (f["http"]["ratio"] or 0) > TARGET]
    print(f"viewer/admin above the target ({TARGET}x): {', '.join(over) if over else 'none'}")


def print_facts(facts: dict[str, Any], plan: Plan, visible: int) -> None:
    print("labstore visibility benchmark: a viewer with shares against an admin")
    for key, value in facts.items():
        print(f"  {key + ':':12} {value if value is not None else '-'}")
    print(
        f"  {'data:':12} {plan.objects:,} objects of {OWNER!r}, private: {plan.labs} labs, "
        f"{plan.subjects:,} subjects, {plan.experiments:,} experiments, "
        f"{plan.datasets:,} datasets"
    )
    print(
        f"  {'shares:':12} {plan.shares:,} on experiments, to {VIEWER!r}: it sees "
        f"{plan.shares:,} experiments and {visible:,} datasets "
        f"({(plan.shares + visible) / plan.objects:.1%} of the objects); {ADMIN!r} sees all"
    )
    print(
        f"  {'runs:':12} {plan.warmup} warm-up + up to {plan.runs} timed runs of each query "
        f"for each user (at most {plan.budget_s:g} s of runs)"
    )
    print(flush=True)


# -- the run --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, bool, bool]:
    scale = parse_scale(
        "Listing and query cost of a user who sees 10% of the objects through "
        "shares, against an administrator who sees them all (SQLite, PostgreSQL).",
        None if argv is None else list(argv),
        runs=(20, "for each user"),
        budget=(3.0, ", user"),
        explain_help="print each query's SQL and its plan",
        min_objects=1000,
    )
    plan = Plan.for_objects(scale.objects, scale.runs, scale.warmup, scale.budget)
    return plan, scale.skip_postgres, scale.explain


def main(argv: Sequence[str] | None = None) -> int:
    plan, skip_postgres, show_plans = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    began = time.perf_counter()
    data = Data(plan)
    visible = data.visible_datasets()
    work_dir = Path(tempfile.mkdtemp(prefix="labstore-bench-visibility-"))
    try:
        with postgres_cluster(work_dir, wanted=not skip_postgres) as pg:
            facts = machine_facts(pg.version() if pg.cluster else None)
            print_facts(facts, plan, visible)
            backends, phases = run_all(work_dir, data, pg, show_plans)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    results: dict[str, Any] = {}
    problems = []
    for name, measured in backends.items():
        results[name] = figures_of(measured, plan)
        print_table(name, results[name])
        for way in ("http", "sql_in_process"):
            counted = results[name]["count"][way]["viewer"]["rows"]
            if counted != visible:
                problems.append(
                    f"{TITLES[name]} ({way}): viewer counted {counted:,} datasets, not {visible:,}"
                )
    for line in problems:
        print(f"WRONG COUNT: {line}")
    if pg.cluster is None:
        print(f"\nPostgreSQL skipped: {pg.reason}")
    elapsed = time.perf_counter() - began
    print("\n" + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()))
    path = write_results(
        "visibility",
        {
            "machine": facts,
            "plan": asdict(plan),
            "viewer_sees": {"experiments": plan.shares, "datasets": visible},
            "target_ratio": TARGET,
            "queries": {
                q.key: {
                    "label": title(q, plan),
                    "kind": q.kind,
                    "params": q.params,
                    "json": json_body(q),
                }
                for q in QUERIES
            },
            "backends": results,
            "wrong_counts": problems,
            "phases_s": {k: round(v, 1) for k, v in phases.items()},
            "postgresql_skipped": pg.reason or None,
            "seconds": round(elapsed, 1),
        },
    )
    print(f"{elapsed:.0f} s in all; figures written to {path}")
    return 0


def make_schema_and_users(server: LabstoreServer) -> None:
    """``labstore db upgrade``, then ``labstore user add`` of the owner, admin and viewer."""
    server.upgrade()
    server.add_user(OWNER, PASSWORD)
    server.add_user(ADMIN, PASSWORD, admin=True)
    server.add_user(VIEWER, PASSWORD)


def database_url(server: LabstoreServer) -> str:
    return server.env.get("LABSTORE_DATABASE_URL") or (
        f"sqlite:///{server.data_dir / 'labstore.sqlite3'}"
    )


def run_all(
    work_dir: Path, data: Data, pg: Postgres, show_plans: bool
) -> tuple[dict[str, Measured], dict[str, float]]:
    """Make the databases and their users, load them, then time every query."""
    registry = builtin_registry()
    servers: dict[str, LabstoreServer] = {"sqlite": LabstoreServer(work_dir / "sqlite-data")}
    if pg.cluster is not None:
        servers["postgresql"] = LabstoreServer(
            work_dir / "postgresql-data", pg.create_database("bench")
        )
    phases: dict[str, float] = {}
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:  # the CLI starts slowly
        list(pool.map(make_schema_and_users, servers.values()))
    targets = [Target(name, database_url(server), registry) for name, server in servers.items()]
    phases["schema and users"] = time.perf_counter() - began
    print(
        f"[load] {data.plan.objects:,} objects and {data.plan.shares:,} shares into "
        f"{', '.join(TITLES[t.name] for t in targets)}",
        flush=True,
    )
    try:
        load(data, targets)
    finally:
        for target in targets:
            target.engine.dispose()
    for target in targets:
        phases[f"load {TITLES[target.name]}"] = target.seconds
    backends = {}
    for target in targets:
        began = time.perf_counter()
        backends[target.name] = measure_backend(
            target.name, servers[target.name], data.plan, work_dir, show_plans
        )
        phases[f"queries {TITLES[target.name]}"] = time.perf_counter() - began
    return backends, phases


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers and the PostgreSQL cluster are stopped", file=sys.stderr)
        sys.exit(130)

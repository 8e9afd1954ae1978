"""Foundation benchmark: how fast labstore stores and serves objects, on SQLite and PostgreSQL.

For each database a real ``labstore serve`` runs as a subprocess on 127.0.0.1 with one user
(argon2 made cheap through the ``LABSTORE_ARGON2_*`` settings, request logging at ``warning``),
and this script measures, as ``experiment/subject`` objects that all belong to one lab:

1. **single create**: objects per second stored one by one with ``Session.set()`` (one
   ``POST /api/experiment/subject`` each, one transaction each);
2. **batch create**: objects per second stored through ``POST /api/batch`` with
   ``--batch-size`` objects (500 by default) in each request, sent with ``httpx``;
3. **GET latency** of one object, median and 95th percentile in milliseconds:
   ``Session.get(location, refresh=True)`` on a cached object (a revalidation: the server
   answers 304 Not Modified), and a plain ``GET /api/{location}`` through ``httpx`` (a full
   200 answer, no client cache), the two kinds interleaved so that drift hits both alike;
4. **raw insert** (the baseline): rows per second inserted with SQLAlchemy Core into the same
   table, with the same columns, constraints and indexes, in a separate SQLite file or
   PostgreSQL database, without the server: one ``executemany`` and one transaction for each
   ``--batch-size`` rows, rows prepared before the clock starts, ``lab_id`` pointing at a real
   lab row (so the foreign key is checked, as it is by labstore).

How to read the ratios:

* ``batch / single``: how many times faster a batch is than one ``set()`` per object; above 1
  means it pays to send objects in batches.
* ``labstore batch / raw insert``: the share of the bare database's insert speed labstore's
  batch keeps (1.0 would be no overhead at all; 0.1 means the server path, with its HTTP,
  JSON, validation, permission, parent and uniqueness checks, is ten times slower than writing
  rows directly). It answers "what does going through labstore cost me compared with writing
  the rows myself?".

Every figure is one run on this machine, not an average of runs: compare figures from the
same run. Other work on the machine moves them a lot (on a busy 2-core box, by up to a factor
of two), so measure on a quiet one.

Usage::

    .venv/bin/python benchmarks/foundation.py            # default: about a minute or two
    .venv/bin/python benchmarks/foundation.py --quick    # a few seconds, a smoke test
    .venv/bin/python benchmarks/foundation.py --n-single 200 --n-batch 5000 --n-get 100

The figures are also written to ``benchmarks/results/foundation.json``.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from _support import (
    LabstoreServer,
    Postgres,
    latency_ms,
    machine_facts,
    postgres_cluster,
    write_results,
)

import labstore
from labstore.schema.packs import builtin_registry
from labstore.store.engine import create_store_engine, write_transaction
from labstore.store.records import new_id, utcnow
from labstore.store.tables import StoreTables

USERNAME = "bench"
PASSWORD = "pw12345"
MODEL = "experiment/subject"
WARMUP = 10
"""Untimed requests before each timed series (connections open, caches warm)."""


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    n_single: int
    n_batch: int
    n_get: int
    batch_size: int


DEFAULT_PLAN = Plan(n_single=1000, n_batch=20_000, n_get=500, batch_size=500)
QUICK_PLAN = Plan(n_single=20, n_batch=1000, n_get=20, batch_size=500)


# -- the measurements ---------------------------------------------------------------------


def open_session(url: str, config_dir: Path) -> labstore.Session:
    """A logged-in Session whose config and token files live in ``config_dir``."""
    return labstore.Session(
        {"location": url, "username": USERNAME, "password": PASSWORD},
        file_name=config_dir / "config.toml",
    )


def single_creates(session: labstore.Session, lab: Any, n: int) -> tuple[float, list[str]]:
    """Objects per second for ``n`` ``Session.set()`` calls; also their locations."""
    for i in range(WARMUP):
        session.set(session.Subject.new(nickname=f"warmup-{i}", lab=lab))
    locations: list[str] = []
    start = time.perf_counter()
    for i in range(n):
        stored = session.set(session.Subject.new(nickname=f"single-{i}", lab=lab))
        locations.append(stored.location)
    elapsed = time.perf_counter() - start
    return n / elapsed, locations


def batch_bodies(lab_location: str, n: int, batch_size: int) -> list[dict[str, Any]]:
    """Request bodies of ``POST /api/batch`` creating ``n`` subjects in all."""
    bodies = []
    for first in range(0, n, batch_size):
        objects = [
            {"model": MODEL, "data": {"nickname": f"batch-{i}", "lab": lab_location}}
            for i in range(first, min(n, first + batch_size))
        ]
        bodies.append({"objects": objects})
    return bodies


def batch_creates(client: httpx.Client, bodies: list[dict[str, Any]]) -> dict[str, float]:
    """Objects per second through ``POST /api/batch``, and the median request time."""
    durations = []
    created = 0
    start = time.perf_counter()
    for body in bodies:
        began = time.perf_counter()
        response = client.post("/api/batch", json=body)
        durations.append(time.perf_counter() - began)
        response.raise_for_status()
        answered = len(response.json()["objects"])
        if answered != len(body["objects"]):
            raise RuntimeError(f"batch stored {answered} of {len(body['objects'])} objects")
        created += answered
    elapsed = time.perf_counter() - start
    return {"per_s": created / elapsed, "request_median_ms": latency_ms(durations)["median_ms"]}


def get_latencies(
    session: labstore.Session, client: httpx.Client, locations: Sequence[str], n: int
) -> tuple[list[float], list[float]]:
    """Durations of ``n`` GETs of each kind, interleaved so that drift hits both alike.

    The first kind is ``Session.get(location, refresh=True)`` on a cached object (a
    revalidation: the server answers 304); the second a plain ``GET /api/{location}`` with
    ``httpx`` (a full 200 answer, no client cache).
    """

    def revalidate(location: str) -> None:
        session.get(location, refresh=True)

    def plain(location: str) -> None:
        response = client.get(f"/api/{location}")
        if response.status_code != 200:
            raise RuntimeError(f"GET /api/{location} answered {response.status_code}")
        response.json()

    for location in itertools.islice(itertools.cycle(locations), WARMUP):
        revalidate(location)
        plain(location)
    durations: tuple[list[float], list[float]] = ([], [])
    for location in itertools.islice(itertools.cycle(locations), n):
        for call, samples in zip((revalidate, plain), durations, strict=True):
            began = time.perf_counter()
            call(location)
            samples.append(time.perf_counter() - began)
    return durations


def raw_inserts(url: str, n: int, batch_size: int) -> float:
    """Rows per second inserted with SQLAlchemy Core into a fresh database at ``url``."""
    registry = builtin_registry()
    tables = StoreTables(registry)
    labs = tables(registry.model("experiment/lab"))
    subjects = tables(registry.model(MODEL))
    engine = create_store_engine(url)
    try:
        tables.metadata.create_all(engine)
        stamp = utcnow()
        common = {"version": 1, "owner": USERNAME, "project": None, "created": stamp,
                  "modified": stamp}  # fmt: skip
        lab_id = new_id()
        with write_transaction(engine) as conn:
            conn.execute(labs.insert(), [{**common, "id": lab_id, "name": "raw-lab",
                                          "institution": None, "timezone": "UTC"}])  # fmt: skip
        ids: set[str] = set()
        while len(ids) < n:
            ids.add(new_id())
        rows = [
            {**common, "id": ident, "nickname": f"raw-{i}", "species": None, "strain": None,
             "sex": "U", "birth_date": None, "description": None, "lab_id": lab_id}
            for i, ident in enumerate(sorted(ids))
        ]  # fmt: skip
        start = time.perf_counter()
        for first in range(0, n, batch_size):
            with write_transaction(engine) as conn:
                conn.execute(subjects.insert(), rows[first : first + batch_size])
        elapsed = time.perf_counter() - start
    finally:
        engine.dispose()
    return n / elapsed


def count_subjects(client: httpx.Client) -> int:
    response = client.get(f"/api/{MODEL}/count")
    response.raise_for_status()
    return int(response.json()["count"])


# -- one database ---------------------------------------------------------------------------


def run_backend(
    name: str, work_dir: Path, plan: Plan, database_url: str | None, raw_url: str
) -> dict[str, Any]:
    """Every measurement against one database; returns the figures."""
    print(f"[{name}] starting labstore serve ...", flush=True)
    server = LabstoreServer(work_dir / f"{name}-data", database_url)
    server.add_user(USERNAME, PASSWORD)
    with server:
        server.start()
        config_dir = work_dir / f"{name}-client"
        config_dir.mkdir()
        with open_session(server.url, config_dir) as session:
            lab = session.set(session.Lab.new(name=f"bench-lab-{name}"))
            print(f"[{name}] {plan.n_single} single creates ...", flush=True)
            single_per_s, locations = single_creates(session, lab, plan.n_single)
            token = session.retrieve_token(USERNAME, PASSWORD)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
                print(f"[{name}] {plan.n_batch} batch creates ...", flush=True)
                bodies = batch_bodies(lab.location, plan.n_batch, plan.batch_size)
                batch = batch_creates(client, bodies)
                print(f"[{name}] {plan.n_get} + {plan.n_get} GETs, interleaved ...", flush=True)
                revalidate, uncached = get_latencies(session, client, locations, plan.n_get)
                stored = count_subjects(client)
    expected = WARMUP + plan.n_single + plan.n_batch
    if stored != expected:
        raise RuntimeError(f"[{name}] the server holds {stored} subjects, not {expected}")
    print(f"[{name}] {plan.n_batch} raw SQLAlchemy Core inserts ...", flush=True)
    raw_per_s = raw_inserts(raw_url, plan.n_batch, plan.batch_size)
    return {
        "single_create_per_s": round(single_per_s, 1),
        "batch_create_per_s": round(batch["per_s"], 1),
        "batch_request_median_ms": batch["request_median_ms"],
        "get_revalidate_304": latency_ms(revalidate),
        "get_uncached_200": latency_ms(uncached),
        "raw_insert_per_s": round(raw_per_s, 1),
        "batch_vs_single": round(batch["per_s"] / single_per_s, 2),
        "batch_vs_raw": round(batch["per_s"] / raw_per_s, 4),
        "subjects_stored": stored,
    }


# -- output ---------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _speedup(value: float) -> str:
    return f"{value:.1f}x"


def _ratio(value: float) -> str:
    return f"{value:.3f}"


ROWS: list[tuple[str, tuple[str, ...], Callable[[float], str]]] = [
    ("single create, Session.set() (objects/s)", ("single_create_per_s",), _rate),
    ("batch create, POST /api/batch (objects/s)", ("batch_create_per_s",), _rate),
    ("  one batch request (median ms)", ("batch_request_median_ms",), _ms),
    ("GET Session.get(refresh=True), 304: median ms", ("get_revalidate_304", "median_ms"), _ms),
    ("                                       p95 ms", ("get_revalidate_304", "p95_ms"), _ms),
    ("GET /api/{location} via httpx, 200: median ms", ("get_uncached_200", "median_ms"), _ms),
    ("                                       p95 ms", ("get_uncached_200", "p95_ms"), _ms),
    ("raw SQLAlchemy Core insert (rows/s)", ("raw_insert_per_s",), _rate),
    ("speedup: batch / single", ("batch_vs_single",), _speedup),
    ("labstore batch / raw insert", ("batch_vs_raw",), _ratio),
]
"""The table's rows: label, where the figure is in a backend's results, how to show it."""


def _cell(
    figures: dict[str, Any] | None, path: tuple[str, ...], show: Callable[[float], str]
) -> str:
    if figures is None:
        return "skipped"
    value: Any = figures
    for key in path:
        value = value[key]
    return show(float(value))


TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def print_table(backends: dict[str, dict[str, Any] | None]) -> None:
    """The figures, one column per database (``None``: skipped)."""
    label_width = max(len(label) for label, _, _ in ROWS)
    names = [TITLES.get(name, name) for name in backends]
    width = 14
    print()
    print(f"{'':{label_width}}" + "".join(f"{n:>{width}}" for n in names))
    print("-" * (label_width + width * len(names)))
    for label, path, show in ROWS:
        cells = [_cell(figures, path, show) for figures in backends.values()]
        print(f"{label:{label_width}}" + "".join(f"{c:>{width}}" for c in cells))


def print_facts(facts: dict[str, Any], plan: Plan) -> None:
    print("labstore foundation benchmark")
    for key, value in facts.items():
        print(f"  {key + ':':12} {value if value is not None else '-'}")
    print(
        f"  {'plan:':12} {plan.n_single} single creates, {plan.n_batch} batch-created objects "
        f"in batches of {plan.batch_size}, {plan.n_get} GETs of each kind"
    )
    print(flush=True)


def parse_args(argv: Sequence[str] | None) -> tuple[Plan, bool]:
    parser = argparse.ArgumentParser(
        description="Measure labstore's create rates and GET latency on SQLite and PostgreSQL.",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (a smoke test)")
    parser.add_argument("--n-single", type=int, help="objects created one by one (1000)")
    parser.add_argument("--n-batch", type=int, help="objects created in batches (20000)")
    parser.add_argument("--n-get", type=int, help="GETs of each kind (500)")
    parser.add_argument("--batch-size", type=int, help="objects per batch request (500)")
    parser.add_argument("--skip-postgres", action="store_true", help="measure SQLite only")
    args = parser.parse_args(argv)
    base = QUICK_PLAN if args.quick else DEFAULT_PLAN
    plan = Plan(
        n_single=args.n_single if args.n_single is not None else base.n_single,
        n_batch=args.n_batch if args.n_batch is not None else base.n_batch,
        n_get=args.n_get if args.n_get is not None else base.n_get,
        batch_size=args.batch_size if args.batch_size is not None else base.batch_size,
    )
    if min(asdict(plan).values()) < 1:
        parser.error("--n-single, --n-batch, --n-get and --batch-size must be at least 1")
    return plan, args.skip_postgres


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so servers and the cluster are stopped


def main(argv: Sequence[str] | None = None) -> int:
    plan, skip_postgres = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    began = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="labstore-bench-"))
    try:
        with postgres_cluster(work_dir, wanted=not skip_postgres) as pg:
            facts = machine_facts(pg.version() if pg.cluster else None)
            print_facts(facts, plan)
            backends = run_all(work_dir, plan, pg)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print_table(backends)
    if pg.cluster is None:
        print(f"\nPostgreSQL skipped: {pg.reason}")
    elapsed = time.perf_counter() - began
    path = write_results(
        "foundation",
        {
            "machine": facts,
            "plan": asdict(plan),
            "backends": backends,
            "postgresql_skipped": pg.reason or None,
            "seconds": round(elapsed, 1),
        },
    )
    print(f"\n{elapsed:.0f} s in all; figures written to {path}")
    return 0


def run_all(work_dir: Path, plan: Plan, pg: Postgres) -> dict[str, dict[str, Any] | None]:
    """The figures of SQLite, and of PostgreSQL when there is a cluster."""
    backends: dict[str, dict[str, Any] | None] = {}
    raw_sqlite = f"sqlite:///{work_dir / 'raw-baseline.sqlite3'}"
    backends["sqlite"] = run_backend("sqlite", work_dir, plan, None, raw_sqlite)
    if pg.cluster is None:
        print(f"[postgresql] skipped: {pg.reason}", flush=True)
        backends["postgresql"] = None
    else:
        url = pg.create_database("bench")
        raw_url = pg.create_database("bench_raw")
        backends["postgresql"] = run_backend("postgresql", work_dir, plan, url, raw_url)
    return backends


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers and the PostgreSQL cluster are stopped", file=sys.stderr)
        sys.exit(130)

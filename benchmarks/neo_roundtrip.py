"""Store a Neo block and fetch it back through a real server, beside numpy on local disk.

The block: ``--channels`` (16) channels x ``--seconds`` (60) s at ``--rate`` (30 kHz) of
float32 samples in one AnalogSignal, plus ``--spikes`` (100,000) spike times in 16 spike
trains. labstore sends it with ``Session.set(block, recursive=True)`` (arrays streamed as
blobs, the objects in one batch) and reads it with ``Session.get(location, recursive=True)``.
The physical bound is the same arrays written with ``numpy.save`` (and fsync) and read with
``numpy.load`` on the same disk. The client's peak memory is traced (numpy's buffers
included) and printed as a multiple of the data size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import neo
import numpy as np
import quantities as pq
from _support import LabstoreServer, exit_on_sigterm, machine_facts, write_results

import labstore

USERNAME, PASSWORD = "bench", "bench-password"


def make_block(channels: int, seconds: float, rate_hz: float, spikes: int) -> Any:
    rng = np.random.default_rng(0)
    samples = int(seconds * rate_hz)
    signal_data = rng.standard_normal((samples, channels), dtype=np.float32)
    segment = neo.Segment("recording")
    segment.analogsignals.append(
        neo.AnalogSignal(signal_data, units="uV", sampling_rate=rate_hz * pq.Hz, name="raw")
    )
    for unit, times in enumerate(np.array_split(np.sort(rng.uniform(0, seconds, spikes)), 16)):
        segment.spiketrains.append(
            neo.SpikeTrain(times * pq.s, t_stop=seconds * pq.s, name=f"unit {unit}")
        )
    block = neo.Block("benchmark block")
    block.segments.append(segment)
    return block


def arrays_of(block: Any) -> list[np.ndarray[Any, Any]]:
    segment = block.segments[0]
    return [s.magnitude for s in segment.analogsignals] + [t.magnitude for t in segment.spiketrains]


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began


def traced(action: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``action``; its result and the peak memory it added (bytes). Tracing slows
    allocation down, so this is a separate run from the timed one."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = action()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return result, peak


def numpy_bound(arrays: list[np.ndarray[Any, Any]], folder: Path) -> tuple[float, float]:
    """Seconds to write (np.save + fsync) and read back (np.load) the same arrays."""
    folder.mkdir()
    began = time.perf_counter()
    for i, array in enumerate(arrays):
        with open(folder / f"{i}.npy", "wb") as out:
            np.save(out, array)
            out.flush()
            os.fsync(out.fileno())
    written = time.perf_counter() - began
    began = time.perf_counter()
    loaded = [np.load(folder / f"{i}.npy") for i in range(len(arrays))]
    read = time.perf_counter() - began
    assert all(np.array_equal(a, b) for a, b in zip(arrays, loaded, strict=True))
    return written, read


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    block = make_block(args.channels, args.seconds, args.rate, args.spikes)
    arrays = arrays_of(block)
    size = sum(a.nbytes for a in arrays)
    mb = size / 1e6
    disk_write, disk_read = numpy_bound(arrays, work_dir / "numpy")
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    same = True
    for run_name in ("timed", "traced"):  # a fresh server each: the blobs are new to both
        with LabstoreServer(work_dir / f"{run_name}-data") as server:
            server.add_user(USERNAME, PASSWORD)
            server.start()
            session = labstore.Session(
                {"location": server.url, "username": USERNAME, "password": PASSWORD},
                file_name=work_dir / run_name / "config.toml",
            )
            measure: Callable[[Callable[[], Any]], tuple[Any, float]] = (
                timed if run_name == "timed" else traced
            )
            figures = timings if run_name == "timed" else peaks
            # First use imports neo, odML and the converters: not part of the figures.
            session.get(session.set(neo.Block("warm-up"), recursive=True).location, recursive=True)
            stored, figures["store"] = measure(lambda s=session: s.set(block, recursive=True))
            fetched, figures["fetch"] = measure(
                lambda s=session, at=stored.location: s.get(at, recursive=True)
            )
            same = same and all(
                np.array_equal(a, b) for a, b in zip(arrays, arrays_of(fetched), strict=True)
            )
            del stored, fetched
            session.close()
    store_s, fetch_s = timings["store"], timings["fetch"]
    store_peak, fetch_peak = peaks["store"], peaks["fetch"]
    return {
        "data_mb": round(mb, 1),
        "store_mb_s": round(mb / store_s, 1),
        "fetch_mb_s": round(mb / fetch_s, 1),
        "numpy_write_mb_s": round(mb / disk_write, 1),
        "numpy_read_mb_s": round(mb / disk_read, 1),
        "store_over_numpy": round(disk_write / store_s, 3),
        "fetch_over_numpy": round(disk_read / fetch_s, 3),
        "store_peak_extra_x_data": round(store_peak / size, 2),
        "fetch_peak_x_data": round(fetch_peak / size, 2),
        "fetched_equal": same,
    }


def print_table(figures: dict[str, Any]) -> None:
    print(f"\n{figures['data_mb']} MB of arrays (signal + spike times)\n")
    print(f"{'':>8} {'labstore MB/s':>14} {'numpy disk MB/s':>16} {'labstore / numpy':>17}")
    for way, ours, theirs, ratio in (
        ("store", "store_mb_s", "numpy_write_mb_s", "store_over_numpy"),
        ("fetch", "fetch_mb_s", "numpy_read_mb_s", "fetch_over_numpy"),
    ):
        print(f"{way:>8} {figures[ours]:>14} {figures[theirs]:>16} {figures[ratio]:>17}")
    print(
        f"\nclient peak memory: set() added {figures['store_peak_extra_x_data']} x the data "
        f"(the block was already in memory); get() held {figures['fetch_peak_x_data']} x the "
        f"data at its peak (the fetched block itself is 1 x). Fetched arrays equal: "
        f"{figures['fetched_equal']}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=30_000.0, help="samples per second")
    parser.add_argument("--spikes", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="4 s of signal, 10,000 spikes")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.spikes = 4.0, 10_000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    work_dir = Path(tempfile.mkdtemp(prefix="labstore-neo-bench-"))
    try:
        figures = run(args, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print_table(figures)
    path = write_results(
        "neo_roundtrip", {"machine": machine_facts(None), "plan": vars(args), **figures}
    )
    print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

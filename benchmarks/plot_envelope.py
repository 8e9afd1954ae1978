"""What a signal plot costs in the web UI: min/max envelopes beside downloading the array.

A real server stores one AnalogSignal of ``--samples`` rows x ``--channels`` float32 values
(a ``.npy`` blob). The web UI draws it by asking for an envelope of the rows in view at one
point per pixel (``--points``, 1000); the alternative a page without that endpoint has is to
download the whole blob and reduce it itself (here: httpx GET and numpy, which is faster than
a browser would be). Both are timed for the whole signal and for a 1 % zoom, and the bytes
each sends over the wire are counted.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _support import LabstoreServer, exit_on_sigterm, machine_facts, write_results

USERNAME, PASSWORD = "bench", "bench-password"


def store_signal(url: str, token: str, samples: int, channels: int) -> tuple[str, str, int]:
    """Upload the signal; returns the envelope URL, the blob URL and the blob's size."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((samples, channels), dtype=np.float32)
    buffer = io.BytesIO()
    np.save(buffer, data)
    raw = buffer.getvalue()
    sha = hashlib.sha256(raw).hexdigest()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        client.put(f"/api/blobs/{sha}", content=raw).raise_for_status()
        ref = {"sha256": sha, "dtype": "<f4", "shape": [samples, channels],
               "offset": len(raw) - data.nbytes}  # fmt: skip
        made = client.post("/api/ephys/analogsignal", json={
            "name": "bench", "signal": ref, "units": "uV", "sampling_rate": 30000.0,
            "sampling_rate_units": "Hz", "t_start": 0.0, "t_start_units": "s",
        })  # fmt: skip
        made.raise_for_status()
    location = made.json()["location"]
    return f"/api/{location}/arrays/signal/envelope", f"/api/blobs/{sha}", len(raw)


def median_s(action: Callable[[], int], runs: int) -> tuple[float, int]:
    """Median seconds of ``runs`` calls, and the bytes the last one received."""
    times, received = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        received = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), received


def measure(args: argparse.Namespace, server: LabstoreServer) -> dict[str, Any]:
    token = httpx.post(
        f"{server.url}/api/auth/token", json={"username": USERNAME, "password": PASSWORD}
    ).json()["token"]
    envelope_url, blob_url, size = store_signal(server.url, token, args.samples, args.channels)
    row_bytes = 4 * args.channels
    header = size - args.samples * row_bytes
    zoom = (args.samples // 2, args.samples // 2 + max(args.samples // 100, 2))
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=600
    )

    def envelope(start: int, stop: int) -> Callable[[], int]:
        def run() -> int:
            answer = client.get(envelope_url, params={"start": start, "stop": stop,
                                                      "points": args.points})  # fmt: skip
            answer.raise_for_status()
            return len(answer.content)

        return run

    def download(start: int, stop: int) -> Callable[[], int]:
        def run() -> int:
            first, last = header + start * row_bytes, header + stop * row_bytes - 1
            answer = client.get(blob_url, headers={"Range": f"bytes={first}-{last}"})
            answer.raise_for_status()
            rows = np.frombuffer(answer.content, dtype="<f4").reshape(-1, args.channels)[:, 0]
            edges = np.linspace(0, len(rows), args.points + 1).astype(int)
            np.minimum.reduceat(rows, edges[:-1])
            np.maximum.reduceat(rows, edges[:-1])
            return len(answer.content)

        return run

    figures: dict[str, Any] = {}
    try:
        for view, (start, stop) in (("whole", (0, args.samples)), ("zoom 1%", zoom)):
            env_s, env_bytes = median_s(envelope(start, stop), args.runs)
            dl_s, dl_bytes = median_s(download(start, stop), args.runs)
            figures[view] = {
                "envelope_ms": env_s * 1000, "envelope_bytes": env_bytes,
                "download_ms": dl_s * 1000, "download_bytes": dl_bytes,
            }  # fmt: skip
    finally:
        client.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=6_000_000, help="rows (3 min at 30 kHz)")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--points", type=int, default=1000, help="plot width in points")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200,000 rows, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.runs = 200_000, 3
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="labstore-bench-") as tmp:
        server = LabstoreServer(Path(tmp) / "data")
        server.add_user(USERNAME, PASSWORD)
        server.start()
        try:
            figures = measure(args, server)
        finally:
            server.stop()
    mb = args.samples * args.channels * 4 / 1e6
    print(f"signal: {args.samples:,} rows x {args.channels} channels float32 ({mb:.0f} MB), "
          f"{args.points} points, median of {args.runs} runs")  # fmt: skip
    print(f"{'view':<9} {'envelope':>22} {'download + numpy':>24} {'time ratio':>11} "
          f"{'bytes ratio':>12}")  # fmt: skip
    for view, f in figures.items():
        print(
            f"{view:<9} {f['envelope_ms']:>9.1f} ms {f['envelope_bytes']:>9,} B "
            f"{f['download_ms']:>9.1f} ms {f['download_bytes']:>11,} B "
            f"{f['download_ms'] / f['envelope_ms']:>10.1f}x "
            f"{f['download_bytes'] / f['envelope_bytes']:>11.0f}x"
        )
    print("ratios: how many times more time / bytes the download takes than the envelope")
    path = write_results("plot_envelope", {"args": vars(args), "figures": figures,
                                           "machine": machine_facts(None)})  # fmt: skip
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

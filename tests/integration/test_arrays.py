"""Envelopes of array fields: ``GET /api/{pack}/{model}/{id}/arrays/{field}/envelope``.

Signals are real ``.npy`` blobs stored through the blob API, referenced by real ephys
objects; every envelope is compared with numpy's min/max over the same rows.
"""

from __future__ import annotations

import hashlib
import io
from itertools import pairwise

import numpy as np
import pytest

from labstore.server.arrays import ArrayRef, Window, envelope


def npy(array: np.ndarray) -> tuple[bytes, dict]:
    """The .npy bytes of ``array`` and the array reference an object stores for them."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = buffer.getvalue()
    header = len(data) - array.nbytes
    ref = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "offset": header,
    }
    return data, ref


def bucket_bounds(array: np.ndarray, start: int, stop: int, points: int, channel: int):
    rows = stop - start
    edges = [start + i * rows // points for i in range(points + 1)]
    column = array.reshape(array.shape[0], -1)[:, channel].astype(float)
    parts = [column[a:b] for a, b in pairwise(edges)]
    return [float(p.min()) for p in parts], [float(p.max()) for p in parts]


@pytest.fixture
def signal() -> np.ndarray:
    rng = np.random.default_rng(7)
    samples = rng.normal(size=(120_000, 3)).astype("<f4")
    samples[50_000, 1] = 40.0  # one spike an envelope must not miss
    return samples


@pytest.fixture
def stored(api, make_user, token_for, signal):
    make_user("alice", projects=("neuro",))
    alice = token_for("alice")
    data, ref = npy(signal)
    assert api.put(f"/api/blobs/{ref['sha256']}", content=data, headers=alice).status_code == 201
    body = {
        "name": "lfp",
        "project": "neuro",
        "signal": ref,
        "units": "mV",
        "sampling_rate": 1000.0,
        "sampling_rate_units": "Hz",
        "t_start": 0.0,
        "t_start_units": "s",
    }
    answer = api.post("/api/ephys/analogsignal", json=body, headers=alice)
    assert answer.status_code == 201, answer.text
    return f"/api/{answer.json()['location']}/arrays/signal/envelope", alice


def test_envelope_of_the_whole_signal_and_a_zoom(api, stored, signal):
    url, alice = stored
    whole = api.get(url, params={"points": 200, "channel": 1}, headers=alice).json()
    assert (whole["start"], whole["stop"], whole["length"]) == (0, 120_000, 120_000)
    assert (whole["points"], whole["channels"], whole["exact"]) == (200, 3, True)
    lows, highs = bucket_bounds(signal, 0, 120_000, 200, 1)
    assert whole["min"] == pytest.approx(lows) and whole["max"] == pytest.approx(highs)
    assert max(whole["max"]) == 40.0
    # Zoomed in further than the points asked for: one row per bucket, min == max.
    near = api.get(url, params={"start": 49_990, "stop": 50_010, "points": 800, "channel": 1},
                   headers=alice).json()  # fmt: skip
    assert near["points"] == 20 and near["min"] == near["max"]
    assert near["max"] == pytest.approx(signal[49_990:50_010, 1].astype(float).tolist())
    # Defaults: the whole array, channel 0, 1000 points.
    default = api.get(url, headers=alice).json()
    assert (default["channel"], default["points"]) == (0, 1000)
    assert default["min"][0] == pytest.approx(float(signal[:120, 0].min()))


def test_envelope_is_read_as_the_object_is(api, stored, make_user, token_for):
    url, _ = stored
    make_user("mallory", projects=("other",))
    for headers in ({}, token_for("mallory")):
        answer = api.get(url, headers=headers)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"points": 0}, "points"),
        ({"points": 10_001}, "points"),
        ({"stop": 120_001}, "stop"),
        ({"start": 10, "stop": 5}, "stop"),
        ({"start": -1}, "start"),
        ({"channel": 3}, "channel"),
        ({"points": "many"}, "points"),
        ({"zoom": 2}, "zoom"),
    ],
)
def test_bad_windows_are_400_naming_the_parameter(api, stored, params, path):
    url, alice = stored
    answer = api.get(url, params=params, headers=alice)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"]["path"] == path


def test_fields_without_an_array_are_404(api, stored):
    url, alice = stored
    for other in ("units", "nothing", "array_annotations"):
        answer = api.get(url.replace("/signal/", f"/{other}/"), headers=alice)
        assert answer.status_code == 404, (other, answer.text)


def read_from(data: bytes):
    return lambda start, stop: data[start:stop]


def test_sampled_envelope_stays_within_the_exact_one():
    array = np.sin(np.arange(100_000) / 50.0).astype("<f8")
    data, value = npy(array)
    ref = ArrayRef.from_value("signal", value)
    window = Window.parse(ref, {"points": "50"})
    exact = envelope(read_from(data), ref, window)
    sampled = envelope(read_from(data), ref, window, max_bytes=50 * 8 * 100)
    assert exact["exact"] and not sampled["exact"]
    for lo, hi, s_lo, s_hi in zip(
        exact["min"], exact["max"], sampled["min"], sampled["max"], strict=True
    ):
        assert lo <= s_lo <= s_hi <= hi


def test_nan_buckets_are_gaps_and_odd_dtypes_are_refused():
    array = np.arange(10, dtype="<f4")
    array[4:6] = np.nan
    array[7] = np.nan
    data, value = npy(array)
    ref = ArrayRef.from_value("x", value)
    answer = envelope(read_from(data), ref, Window.parse(ref, {"points": "5"}))
    assert answer["min"] == [0.0, 2.0, None, 6.0, 8.0]
    assert answer["max"] == [1.0, 3.0, None, 6.0, 9.0]
    for dtype in ("<U4", "<c8"):
        with pytest.raises(Exception, match="no numbers to plot"):
            ArrayRef.from_value("labels", {**value, "dtype": dtype})
    empty = ArrayRef.from_value("x", {**value, "shape": [0]})
    assert envelope(read_from(data), empty, Window.parse(empty, {}))["min"] == []

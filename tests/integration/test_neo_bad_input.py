"""Bad Neo input gets a clear 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import neo
import numpy as np
import pytest
import quantities as pq

from labstore.errors import InvalidInput


@pytest.fixture
def alice(make_user: Any, token_for: Any) -> Any:
    make_user("alice", projects=("neuro",))
    return token_for("alice")


def array_ref(api: Any, headers: Any, array: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Upload ``array`` as a .npy blob, the way the client does; returns its field value."""
    out = io.BytesIO()
    np.save(out, array)
    data = out.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    assert api.put(f"/api/blobs/{sha}", content=data, headers=headers).status_code in (200, 201)
    header = len(data) - array.nbytes
    return {"sha256": sha, "dtype": array.dtype.str, "shape": list(array.shape), "offset": header}


def signal_body(api: Any, alice: Any, **changes: Any) -> dict[str, Any]:
    body = {
        "name": "irregular",
        "times": array_ref(api, alice, np.arange(10.0)),
        "time_units": "s",
        "signal": array_ref(api, alice, np.zeros((10, 2), dtype="<f4")),
        "units": "mV",
    }
    body.update(changes)
    return body


def count(api: Any, alice: Any, model: str) -> int:
    return int(api.get(f"/api/ephys/{model}/count", headers=alice).json()["count"])


def refused(answer: Any, field: str, words: str) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" or error["status"] == 400
    assert field in error["message"] and words in error["message"], error["message"]


def test_a_well_formed_signal_is_accepted(api: Any, alice: Any) -> None:
    answer = api.post(
        "/api/ephys/irregularlysampledsignal", json=signal_body(api, alice), headers=alice
    )
    assert answer.status_code == 201, answer.text


def test_samples_that_disagree_with_their_times_are_refused(api: Any, alice: Any) -> None:
    body = signal_body(api, alice, signal=array_ref(api, alice, np.zeros((9, 2))))
    answer = api.post("/api/ephys/irregularlysampledsignal", json=body, headers=alice)
    refused(answer, "signal", "has 9 entries but times has 10")
    assert count(api, alice, "irregularlysampledsignal") == 0


def test_labels_that_disagree_with_their_times_are_refused(api: Any, alice: Any) -> None:
    body = {
        "times": array_ref(api, alice, np.arange(3.0)),
        "units": "s",
        "labels": array_ref(api, alice, np.array(["a", "b"])),
    }
    refused(api.post("/api/ephys/event", json=body, headers=alice), "labels", "has 2 entries")
    assert count(api, alice, "event") == 0


def test_a_unit_quantities_does_not_know_is_refused(api: Any, alice: Any) -> None:
    body = signal_body(api, alice, units="furlongs per fortnight")
    answer = api.post("/api/ephys/irregularlysampledsignal", json=body, headers=alice)
    refused(answer, "units", "is not a unit quantities knows")
    assert count(api, alice, "irregularlysampledsignal") == 0


def test_objects_neo_would_reject_are_refused(api: Any, alice: Any) -> None:
    times = array_ref(api, alice, np.arange(3.0))
    train = {"times": times, "units": "s", "t_start": 5.0, "t_start_units": "s",
             "t_stop": 1.0, "t_stop_units": "s"}  # fmt: skip
    refused(api.post("/api/ephys/spiketrain", json=train, headers=alice), "t_stop", "before")
    flat = {"signal": times, "units": "mV", "sampling_rate": 1.0, "sampling_rate_units": "kHz",
            "t_start": 0.0, "t_start_units": "s"}  # fmt: skip
    refused(api.post("/api/ephys/analogsignal", json=flat, headers=alice), "signal", "2 dim")
    still = {**flat, "signal": array_ref(api, alice, np.zeros((3, 1))), "sampling_rate": 0.0}
    refused(api.post("/api/ephys/analogsignal", json=still, headers=alice), "sampling_rate", "")
    assert count(api, alice, "spiketrain") == 0 and count(api, alice, "analogsignal") == 0


def test_a_malformed_array_reference_is_refused(api: Any, alice: Any) -> None:
    good = signal_body(api, alice)
    for broken, words in (
        ({**good["signal"], "dtype": "|O"}, "not a numpy dtype"),
        ({**good["signal"], "shape": [10, -2]}, "shape"),
        ({**good["signal"], "offset": "x"}, "offset"),
        ("not an array", "array"),
    ):
        body = {**good, "signal": broken}
        answer = api.post("/api/ephys/irregularlysampledsignal", json=body, headers=alice)
        refused(answer, "signal", words)
    assert count(api, alice, "irregularlysampledsignal") == 0


def test_a_blob_whose_sha256_does_not_match_is_refused(api: Any, alice: Any) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    answer = api.put(f"/api/blobs/{wrong}", content=b"the bytes", headers=alice)
    assert answer.status_code == 400
    assert api.head(f"/api/blobs/{wrong}", headers=alice).status_code == 404


def test_the_session_refuses_an_object_it_cannot_store(make_user: Any, make_session: Any) -> None:
    make_user("bob")
    bob = make_session("bob")
    block = neo.Block()
    block.annotations["weird"] = object()  # past neo's own check, as a careless script might
    with pytest.raises(InvalidInput, match=r"annotations\.weird"):
        bob.set(block)
    with pytest.raises(ValueError):  # neo itself refuses this before any request is made
        neo.IrregularlySampledSignal([1, 2, 3] * pq.s, np.zeros((2, 1)), units="mV")
    assert bob.Block.count() == 0

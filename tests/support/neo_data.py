"""Neo and odML test data, and a stand-in server for the pure conversion tests.

``stored_records`` does what the server does with a batch (locations for references, the
JSON round trip), so the converters are tested without HTTP; the Session tests use the real
server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from typing import Any

import neo
import numpy as np
import odml
from neo.test.generate_datasets import generate_one_simple_block, random_block

ALL_SIMPLE_KINDS = [
    neo.Block,
    neo.Segment,
    neo.AnalogSignal,
    neo.IrregularlySampledSignal,
    neo.SpikeTrain,
    neo.Event,
    neo.Epoch,
]


class MemoryBlobs:
    """Blobs in a dict, addressed by sha256 like the server's."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: Any) -> str:
        raw = data.read() if hasattr(data, "read") else bytes(data)
        sha = hashlib.sha256(raw).hexdigest()
        self.blobs[sha] = raw
        return sha

    def read(self, sha256: str, start: int | None = None, stop: int | None = None) -> bytes:
        return self.blobs[sha256][start:stop]


def stored_records(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Batch entries as the server answers them: references become locations."""
    where = {e["ref"]: f"{e['model']}/{e['ref']}" for e in entries}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"ref"}:
            return where[value["ref"]]
        return value

    out = []
    for entry in entries:
        data = {key: resolve(value) for key, value in entry["data"].items()}
        data = json.loads(json.dumps(data, allow_nan=False))
        out.append({**data, "model": entry["model"], "location": where[entry["ref"]]})
    return out


def seeded_block(seed: int) -> Any:
    """A random block with every kind of Neo object (groups, views, regions of interest)."""
    random.seed(seed)
    np.random.seed(seed)
    return random_block()


def simple_block(seed: int, nb_segment: int = 2) -> Any:
    """A block whose spike trains, events and epochs carry array annotations."""
    random.seed(seed)
    np.random.seed(seed)
    return generate_one_simple_block(nb_segment=nb_segment, supported_objects=ALL_SIMPLE_KINDS)


def subject_document(species: str = "mouse") -> Any:
    """An odML document with nested sections and properties of several dtypes."""
    doc = odml.Document(author="Ada", date=dt.date(2024, 5, 1), version="1.2")
    subject = odml.Section("Subject", type="subject", parent=doc, definition="the animal")
    odml.Property("species", values=[species], parent=subject)
    odml.Property(
        "weight", values=[21.5, 22.0], unit="g", uncertainty=0.1, dtype="float", parent=subject
    )
    odml.Property("born", values=[dt.date(2024, 1, 2)], dtype="date", parent=subject)
    odml.Property("count", values=[3, 4], dtype="int", parent=subject, reference="lab book")
    odml.Property("position", values=["(1;2)"], dtype="2-tuple", parent=subject)
    odml.Property("seen", values=[dt.datetime(2024, 1, 2, 3, 4, 5)], dtype="datetime",
                  parent=subject, value_origin="camera")  # fmt: skip
    surgery = odml.Section("Surgery", type="surgery", parent=subject)
    odml.Property("drug", values=["isoflurane"], parent=surgery, val_cardinality=(0, 3))
    odml.Section("Setup", type="setup", parent=doc)
    return doc

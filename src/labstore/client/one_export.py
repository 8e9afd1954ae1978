"""Write the experiment pack of a local store as ONE-api cache tables.

``export_one_cache(store, dest)`` writes ``sessions.pqt``, ``datasets.pqt`` and
``cache_info.json`` into ``dest``, in the format ONE-api 3.x reads in local mode
(``ONE(cache_dir=dest, mode="local")``): the tables the Alyx ``one_cache`` command makes.

**sessions.pqt**, one row per ``experiment`` (an Alyx session), index ``id``:

======================  ======================================================================
column                  from
======================  ======================================================================
``id``                  :func:`one_uuid` of the experiment's location
``lab``                 the experiment's lab name, else its subject's lab name, else ``""``
``subject``             the subject's nickname (``""`` when the store does not hold it)
``date``                ``date`` (a ``datetime.date``)
``number``              ``number`` (uint16; an experiment without one is exported as ``0``)
``task_protocol``       ``task_protocol`` (``""`` when empty)
``projects``            the ``projects`` list joined by commas, as Alyx does (``""`` when empty)
======================  ======================================================================

**datasets.pqt**, one row per ``dataset`` of an exported experiment, index ``(eid, id)``:

======================  ======================================================================
column                  from
======================  ======================================================================
``eid``                 :func:`one_uuid` of the dataset's experiment location
``id``                  :func:`one_uuid` of the dataset's location
``rel_path``            ``collection/#revision#/name`` (empty parts left out), ALF's form
``file_size``           ``size`` (nullable UInt64; a negative size is exported as missing)
``hash``                ``hash``
``exists``              always ``True``: labstore holds dataset records, not file replicas, so
                        a dataset it lists is taken to exist (ONE's searches skip datasets
                        whose ``exists`` is false)
``qc``                  ``qc``, as ONE's ordered QC categorical (an unknown value: NOT_SET)
``default_revision``    ``default_revision`` (``True`` when empty, the field's default)
======================  ======================================================================

**Ids.** ONE identifies sessions and datasets by UUID; labstore by location
(``experiment/experiment/2DFA548ESC``). The exported UUID is
``uuid5(LABSTORE_ONE_NAMESPACE, location)``: deterministic, so exporting again (or from another
replica of the same server) gives the same ids, and a labstore location maps to its ONE id with
:func:`one_uuid` without the tables. Locations do not name the server; labstore ids are random
50-bit values, so ids of two servers' objects do not meet in practice.

Both tables are written sorted by their index, so ONE does not sort them when it loads them,
and built a chunk at a time (``chunk_rows`` datasets at most), so memory stays bounded by the
number of experiments plus one chunk, whatever the number of datasets. The whole export reads
one snapshot of the store (one read transaction), so a sync running meanwhile does not mix in.
Files are written under temporary names and renamed at the end: ONE never finds half a table.

Needs pandas and pyarrow (``pip install 'labstore[one]'``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from labstore.errors import ConfigError
from labstore.schema.packs.experiment import QC_CHOICES
from labstore.store.engine import read_transaction

if TYPE_CHECKING:
    import pandas as pd

    from labstore.client.store import LocalStore

LABSTORE_ONE_NAMESPACE = uuid.UUID("69f96861-6a1d-53cf-b353-02538de3ce45")
"""``uuid5(NAMESPACE_URL, "labstore:one-cache")``: the namespace of every exported UUID."""
_NAMESPACE_BYTES = LABSTORE_ONE_NAMESPACE.bytes

MIN_API_VERSION = "2.7.0"
"""The oldest ONE-api that reads these tables as written (2.7 added the ``qc`` column)."""

SESSIONS_FILE = "sessions.pqt"
DATASETS_FILE = "datasets.pqt"
INFO_FILE = "cache_info.json"

# ONE's QC enumeration in its order (one.alf.spec.QC sorted by value), which labstore shares.
ONE_QC = ("NOT_SET", "PASS", "WARNING", "FAIL", "CRITICAL")
_QC_CODE = {name: code for code, name in enumerate(ONE_QC)}
assert set(ONE_QC) == set(QC_CHOICES)

EXPERIMENT = "experiment/experiment"
DATASET = "experiment/dataset"
_MODELS = ("experiment/lab", "experiment/subject", EXPERIMENT, DATASET)
_ID_BATCH = 500  # experiment ids per IN (...) when reading their datasets
UINT16_MAX = 65535


def one_uuid(location: str) -> uuid.UUID:
    """The ONE id (session ``eid`` or dataset ``id``) of a labstore object's location."""
    return uuid.uuid5(LABSTORE_ONE_NAMESPACE, location)


def _one_id(location: str) -> str:
    """``str(one_uuid(location))``, several times faster (it runs once per dataset)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + location.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def rel_path(collection: str | None, revision: str | None, name: str) -> str:
    """ALF's path of a dataset relative to its session: ``collection/#revision#/name``."""
    parts = (collection or "", f"#{revision}#" if revision else "", name)
    return "/".join(p.strip("/") for p in parts if p)


def export_one_cache(
    store: LocalStore,
    dest: Path,
    *,
    chunk_rows: int = 100_000,
    origin: str = "labstore",
) -> dict[str, Any]:
    """Write ``sessions.pqt``, ``datasets.pqt`` and ``cache_info.json`` into ``dest``.

    Args:
        store: The local store holding the experiment pack.
        dest: The ONE cache directory (made if missing; existing tables are replaced).
        chunk_rows: Datasets built and written at a time.
        origin: The tables' ``origin`` in their ONE metadata.

    Returns:
        ``sessions`` and ``datasets`` (rows written), ``skipped_datasets`` (datasets whose
        experiment the store does not hold), and the ``files`` written.

    Raises:
        ConfigError: pandas or pyarrow is missing, or the store has no experiment pack.
    """
    pdm, pa, pq = _dataframe_modules()
    missing = [key for key in _MODELS if key not in store.registry]
    if missing:
        raise ConfigError(f"the local store has no {', '.join(missing)} model: nothing to export")
    if chunk_rows < 1:
        raise ConfigError("chunk_rows must be at least 1")
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now().isoformat(sep=" ", timespec="minutes")
    metadata = {"date_created": created, "origin": origin, "min_api_version": MIN_API_VERSION}
    writer = _TableWriter(pa, pq, metadata)
    session_tmp = dest / f".{SESSIONS_FILE}.tmp"
    datasets_tmp = dest / f".{DATASETS_FILE}.tmp"
    try:
        with read_transaction(store.engine) as conn:
            sessions = _sessions(conn, store)
            eids = sorted(sessions)  # lower-case hex UUID text sorts as the UUIDs do
            n_sessions = writer.write(
                session_tmp,
                (
                    _sessions_frame(pdm, eids[i : i + chunk_rows], sessions)
                    for i in range(0, len(eids), chunk_rows)
                ),
                empty=_sessions_frame(pdm, [], sessions),
            )
            by_id = {sessions[eid]["ident"]: eid for eid in eids}
            idents = [sessions[e]["ident"] for e in eids]
            n_datasets = writer.write(
                datasets_tmp,
                _dataset_frames(pdm, conn, store, idents, by_id, chunk_rows),
                empty=_datasets_frame(pdm, _empty_columns()),
            )
            table = store.tables(store.registry.model(DATASET))
            total = conn.execute(select(func.count()).select_from(table)).scalar_one()
    except BaseException:
        for tmp in (session_tmp, datasets_tmp):
            tmp.unlink(missing_ok=True)
        raise
    files = [dest / SESSIONS_FILE, dest / DATASETS_FILE]
    os.replace(session_tmp, files[0])
    os.replace(datasets_tmp, files[1])
    info = {
        **metadata,
        "tables": {
            path.stem: {"nrecs": rows, "size": path.stat().st_size}
            for path, rows in zip(files, (n_sessions, n_datasets), strict=True)
        },
        "id_namespace": str(LABSTORE_ONE_NAMESPACE),
    }
    info_path = dest / INFO_FILE
    info_tmp = dest / f".{INFO_FILE}.tmp"
    info_tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(info_tmp, info_path)
    return {
        "sessions": n_sessions,
        "datasets": n_datasets,
        "skipped_datasets": int(total) - n_datasets,
        "files": [str(p) for p in (*files, info_path)],
    }


def _dataframe_modules() -> tuple[Any, Any, Any]:
    try:
        import pandas
        import pyarrow  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise ConfigError(
            f"exporting ONE cache tables needs pandas and pyarrow ({exc.name} is missing): "
            "pip install 'labstore[one]'"
        ) from None
    return pandas, pyarrow, pyarrow.parquet


# -- sessions -------------------------------------------------------------------------------


def _sessions(conn: Connection, store: LocalStore) -> dict[str, dict[str, Any]]:
    """Every experiment as a sessions row (with its labstore ``ident``), keyed by its eid."""
    registry = store.registry
    labs_t = store.tables(registry.model("experiment/lab"))
    subjects_t = store.tables(registry.model("experiment/subject"))
    experiments_t = store.tables(registry.model(EXPERIMENT))
    labs = {row.id: row.name for row in conn.execute(select(labs_t.c.id, labs_t.c.name))}
    subjects = {
        row.id: (row.nickname, row.lab_id)
        for row in conn.execute(select(subjects_t.c.id, subjects_t.c.nickname, subjects_t.c.lab_id))
    }
    c = experiments_t.c
    rows = conn.execute(
        select(c.id, c.date, c.number, c.task_protocol, c.projects, c.subject_id, c.lab_id)
    )
    sessions: dict[str, dict[str, Any]] = {}
    for row in rows:
        nickname, subject_lab = subjects.get(row.subject_id, (None, None))
        lab = labs.get(row.lab_id) if row.lab_id else None
        if lab is None and subject_lab:
            lab = labs.get(subject_lab)
        number = row.number if row.number is not None and 0 <= row.number <= UINT16_MAX else 0
        eid = _one_id(f"{EXPERIMENT}/{row.id}")
        sessions[eid] = {
            "ident": row.id,
            "lab": lab or "",
            "subject": nickname or "",
            "date": row.date,
            "number": number,
            "task_protocol": row.task_protocol or "",
            "projects": _projects(row.projects),
        }
    return sessions


def _projects(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(str(v) for v in value if v)
    return str(value)


def _sessions_frame(
    pdm: Any, eids: Sequence[str], sessions: dict[str, dict[str, Any]]
) -> pd.DataFrame:
    rows = [sessions[e] for e in eids]
    frame = pdm.DataFrame(
        {
            "id": pdm.Series(list(eids), dtype=object),
            "lab": pdm.Series([r["lab"] for r in rows], dtype=object),
            "subject": pdm.Series([r["subject"] for r in rows], dtype=object),
            "date": pdm.Series([r["date"] for r in rows], dtype=object),
            "number": pdm.Series([r["number"] for r in rows], dtype="uint16"),
            "task_protocol": pdm.Series([r["task_protocol"] for r in rows], dtype=object),
            "projects": pdm.Series([r["projects"] for r in rows], dtype=object),
        }
    )
    indexed: pd.DataFrame = frame.set_index("id")
    return indexed


# -- datasets -------------------------------------------------------------------------------


def _empty_columns() -> dict[str, list[Any]]:
    return {k: [] for k in ("eid", "id", "rel_path", "file_size", "hash", "qc", "default")}


def _dataset_frames(
    pdm: Any,
    conn: Connection,
    store: LocalStore,
    experiment_ids: Sequence[str],
    eid_of: dict[str, str],
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """Datasets frames in (eid, id) order, each of whole experiments, ~``chunk_rows`` rows."""
    table = store.tables(store.registry.model(DATASET))
    c = table.c
    columns = _empty_columns()
    step = max(1, min(_ID_BATCH, chunk_rows))
    for start in range(0, len(experiment_ids), step):
        batch = experiment_ids[start : start + step]
        rows = conn.execute(
            select(
                c.id, c.experiment_id, c.collection, c.revision, c.name, c.size, c.hash, c.qc,
                c.default_revision,
            ).where(c.experiment_id.in_(batch))
        ).all()  # fmt: skip
        eid, ident, path = columns["eid"], columns["id"], columns["rel_path"]
        sizes, hashes, qcs, defaults = (columns[k] for k in ("file_size", "hash", "qc", "default"))
        for ds_id, exp_id, collection, revision, name, size, hash_, qc, default in rows:
            eid.append(eid_of[exp_id])
            ident.append(_one_id(f"{DATASET}/{ds_id}"))
            path.append(rel_path(collection, revision, name or ""))
            sizes.append(size if size is not None and size >= 0 else None)
            hashes.append(hash_)
            qcs.append(_QC_CODE.get(qc, 0))
            defaults.append(True if default is None else bool(default))
        # Chunks end on an IN batch, so each experiment's datasets are in one chunk.
        if len(columns["id"]) >= chunk_rows:
            yield _datasets_frame(pdm, columns)
            columns = _empty_columns()
    if columns["id"]:
        yield _datasets_frame(pdm, columns)


def _datasets_frame(pdm: Any, columns: dict[str, list[Any]]) -> pd.DataFrame:
    qc_type = pdm.CategoricalDtype(categories=list(ONE_QC), ordered=True)
    frame = pdm.DataFrame(
        {
            "eid": pdm.Series(columns["eid"], dtype=object),
            "id": pdm.Series(columns["id"], dtype=object),
            "rel_path": pdm.Series(columns["rel_path"], dtype=object),
            "file_size": pdm.Series(columns["file_size"], dtype="UInt64"),
            "hash": pdm.Series(columns["hash"], dtype=object),
            "exists": pdm.Series([True] * len(columns["id"]), dtype=bool),
            "qc": pdm.Categorical.from_codes(columns["qc"], dtype=qc_type),
            "default_revision": pdm.Series(columns["default"], dtype=bool),
        }
    )
    indexed: pd.DataFrame = frame.set_index(["eid", "id"]).sort_index()
    return indexed


# -- writing --------------------------------------------------------------------------------


def _arrow_types(pa: Any) -> dict[str, Any]:
    """The Arrow type of every column and index of the two tables (as ONE's writer gives)."""
    text = pa.string()
    return {
        "id": text, "eid": text, "lab": text, "subject": text, "date": pa.date32(),
        "number": pa.uint16(), "task_protocol": text, "projects": text, "rel_path": text,
        "file_size": pa.uint64(), "hash": text, "exists": pa.bool_(),
        "qc": pa.dictionary(pa.int8(), text, ordered=True), "default_revision": pa.bool_(),
    }  # fmt: skip


class _TableWriter:
    """Writes frames of one schema into one Parquet file, with ONE's metadata."""

    def __init__(self, pa: Any, pq: Any, metadata: dict[str, Any]) -> None:
        self.pa, self.pq = pa, pq
        self.metadata = json.dumps(metadata).encode()
        self.types = _arrow_types(pa)

    def _table(self, frame: pd.DataFrame, schema: Any = None) -> Any:
        # Every column gets its type from ``_arrow_types``, not from its values, so each chunk
        # (even one whose hashes are all empty) has the schema of the first.
        table = self.pa.Table.from_pandas(frame, preserve_index=True)
        if schema is None:
            fields = [self.pa.field(f.name, self.types.get(f.name, f.type)) for f in table.schema]
            meta = {**(table.schema.metadata or {}), b"one_metadata": self.metadata}
            schema = self.pa.schema(fields, metadata=meta)
        return table.cast(schema)

    def write(self, path: Path, frames: Iterable[pd.DataFrame], *, empty: pd.DataFrame) -> int:
        """Write ``frames`` (or the ``empty`` frame when there are none); returns the rows."""
        written = 0
        writer = None
        try:
            for frame in frames:
                table = self._table(frame, None if writer is None else writer.schema)
                if writer is None:
                    writer = self.pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
                written += len(frame)
            if writer is None:
                table = self._table(empty)
                writer = self.pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        return written

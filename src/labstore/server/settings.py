"""Every server setting, named, defaulted and documented once.

Values come from (highest first) keyword overrides, ``LABSTORE_<NAME>`` environment variables,
a TOML file named by ``LABSTORE_CONFIG``, then the defaults below. ``labstore settings`` prints
this list; the CLI's ``--data-dir`` and friends are overrides.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labstore.errors import ConfigError

ENV_PREFIX = "LABSTORE_"


def _doc(text: str, default: Any = None, **kwargs: Any) -> Any:
    return field(default=default, metadata={"doc": text}, **kwargs)


@dataclass(frozen=True)
class Settings:
    """The settings of one labstore deployment."""

    data_dir: Path = _doc(
        "Directory of the embedded default: the SQLite file and the blobs folder",
        default=Path("labstore-data"),
    )
    database_url: str = _doc(
        "SQLAlchemy URL of the database; empty means SQLite at DATA_DIR/labstore.sqlite3",
        default="",
    )
    storage_url: str = _doc(
        "Where blobs live: empty means DATA_DIR/blobs on local disk; file:///path; or "
        "s3://bucket/prefix for S3-compatible object storage (see the S3_* settings)",
        default="",
    )
    s3_endpoint_url: str = _doc(
        "URL of the S3-compatible server (MinIO, Ceph, ...); empty means AWS", default=""
    )
    s3_region: str = _doc("S3 region; empty leaves it to AWS_REGION or ~/.aws", default="")
    s3_access_key_id: str = _doc(
        "S3 access key; empty leaves it to AWS_ACCESS_KEY_ID or ~/.aws", default=""
    )
    s3_secret_access_key: str = _doc(
        "S3 secret key; empty leaves it to AWS_SECRET_ACCESS_KEY or ~/.aws", default=""
    )
    presign_above_bytes: int = _doc(
        "Downloads of blobs at least this large are redirected to a presigned URL of the "
        "object storage (S3 only); 0 never redirects",
        default=0,
    )
    presign_seconds: int = _doc("How long a presigned download URL works", default=900)
    upload_expiry_hours: float = _doc(
        "How long an unfinished chunked upload is kept after it starts", default=24.0
    )
    max_chunk_bytes: int = _doc(
        "Largest chunk of a chunked upload a client may choose", default=64 * 1024 * 1024
    )
    token_lifetime_hours: float = _doc("How long a login token lasts", default=24.0 * 30)
    page_size: int = _doc("Objects per page of a listing when the client names none", default=100)
    max_page_size: int = _doc("Largest page a client may ask for", default=1000)
    max_subtree: int = _doc("Most objects a recursive get returns", default=200_000)
    max_batch: int = _doc("Most objects in one batch request", default=10_000)
    idempotency_key_hours: float = _doc(
        "How long the answer to a write sent with an Idempotency-Key is kept for its retries",
        default=24.0,
    )
    idempotency_wait_seconds: float = _doc(
        "How long a retry waits for the first request with its key to finish before it is "
        "told to try again later",
        default=10.0,
    )
    idempotency_answer_lost_seconds: float = _doc(
        "How long after a keyed write went through its retries may still wait for its answer; "
        "past that, with none stored (the server stopped in between), they are told the write "
        "went through and its answer was lost",
        default=30.0,
    )
    argon2_time_cost: int = _doc("argon2 passes when hashing passwords", default=3)
    argon2_memory_kib: int = _doc("argon2 memory per hash, KiB", default=65536)
    auto_migrate: bool = _doc(
        "Upgrade an empty or older database when the app starts", default=True
    )
    log_level: str = _doc("Logging level of the server", default="info")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labstore.sqlite3').resolve()}"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from overrides, the environment, the config file and defaults.

        Raises:
            ConfigError: A value does not parse, or the config file is unreadable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        config_file = env.get(ENV_PREFIX + "CONFIG")
        if config_file:
            try:
                values.update(tomllib.loads(Path(config_file).read_text()))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read {config_file}: {exc}") from exc
        for spec in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + spec.name.upper())
            if raw is not None and raw != "":
                values[spec.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**{name: _parse(name, value) for name, value in values.items()})


def _parse(name: str, value: Any) -> Any:
    spec = next(f for f in dataclasses.fields(Settings) if f.name == name)
    kind = spec.type
    try:
        if kind == "Path":
            return Path(str(value)).expanduser()
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r} ({exc})") from exc


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for each setting."""
    out = []
    for spec in dataclasses.fields(Settings):
        out.append((ENV_PREFIX + spec.name.upper(), repr(spec.default), spec.metadata["doc"]))
    return out

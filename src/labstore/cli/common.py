"""What every command module shares: one-line errors, the data-dir option, server state."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from labstore.errors import LabstoreError

if TYPE_CHECKING:
    from labstore.client.session import Session
    from labstore.server.state import AppState

F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(func: F) -> F:
    """Print labstore errors as one line on stderr and exit 1, instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LabstoreError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="LABSTORE_DATA_DIR",
    default=None,
    help="Server data directory (SQLite file and blobs). [env: LABSTORE_DATA_DIR]",
)


def server_state(data_dir: Path | None, *, migrate: bool = True) -> AppState:
    from labstore.server.app import build_state
    from labstore.server.settings import Settings

    return build_state(Settings.load(data_dir=data_dir, auto_migrate=migrate))


config_option = click.option(
    "--config",
    "file_name",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: the user config dir).",
)


profile_option = click.option(
    "--profile",
    envvar="LABSTORE_PROFILE",
    default=None,
    help="Profile of the config file to use. [env: LABSTORE_PROFILE]",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON, not text.")


def client_session(file_name: Path | None, profile: str | None, mode: str | None = None) -> Session:
    """A Session from the same option layers as ``labstore.Session()`` (arguments, then
    ``LABSTORE_*`` variables, then the config file's profile)."""
    from labstore.client.session import Session

    return Session({"profile": profile} if profile else None, file_name=file_name, mode=mode)

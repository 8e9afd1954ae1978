"""Client commands about the login and the local store: login, whoami, export-one-cache."""

from __future__ import annotations

from pathlib import Path

import click

from labstore.cli import main
from labstore.cli.common import clear_errors, client_session, config_option, profile_option


@main.command("login")
@click.option("--location", envvar="LABSTORE_URL", help="Server URL. [env: LABSTORE_URL]")
@click.option("--username", envvar="LABSTORE_USERNAME", help="[env: LABSTORE_USERNAME]")
@config_option
@clear_errors
def login_command(location: str | None, username: str | None, file_name: Path | None) -> None:
    """Log in and keep the token (0600 file) and the options for later sessions.

    \b
    Example:
      labstore login --location http://127.0.0.1:8000 --username alice
    """
    from labstore.client.session import login

    session = login(location, username, file_name=file_name)
    click.echo(f"logged in to {session.url} as {session.options['username']}")


@main.command()
@config_option
@clear_errors
def whoami(file_name: Path | None) -> None:
    """Show who the stored login acts as."""
    from labstore.client.session import Session

    profile = Session(file_name=file_name).get_user_profile()
    click.echo(f"{profile['username']} projects={','.join(profile['projects']) or '-'}")


@main.command("export-one-cache")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@config_option
@profile_option
@click.option("--offline", is_flag=True, help="Export the local store as it is, without syncing.")
@clear_errors
def export_one_cache_command(
    dest: Path, file_name: Path | None, profile: str | None, offline: bool
) -> None:
    """Write the local store's experiments as ONE-api cache tables in DEST.

    The store is synced with the server first (unless --offline, or the options name no
    server). DEST gets sessions.pqt, datasets.pqt and cache_info.json, which ONE-api opens
    offline: ONE(cache_dir=DEST, mode="local"). Needs the cache_dir option, and pandas and
    pyarrow (pip install 'labstore[one]').

    \b
    Example:
      labstore export-one-cache ~/one-cache --profile lab
    """
    from labstore.client.one_export import export_one_cache
    from labstore.errors import ConfigError

    with client_session(file_name, profile, "local" if offline else None) as session:
        store = session.local_store
        if store is None:
            raise ConfigError("export-one-cache needs a local store: set the cache_dir option")
        if not session.offline:
            session.refresh_cache()
        counts = export_one_cache(store, dest)
    click.echo(
        f"wrote {counts['sessions']} sessions and {counts['datasets']} datasets to {dest}"
        + (
            f" ({counts['skipped_datasets']} datasets of experiments not in the store left out)"
            if counts["skipped_datasets"]
            else ""
        )
    )

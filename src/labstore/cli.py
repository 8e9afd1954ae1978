"""``labstore``: run and administer a server, and reach one from the shell.

Server commands (``serve``, ``db``, ``user``, ``project``, ``demo``) work on a data directory
(``--data-dir`` or ``LABSTORE_DATA_DIR``); client commands use the same option layers as
``labstore.Session``. Errors print one line and exit non-zero.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from labstore.errors import LabstoreError

if TYPE_CHECKING:
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


def _state(data_dir: Path | None, *, migrate: bool = True) -> AppState:
    from labstore.server.app import build_state
    from labstore.server.settings import Settings

    return build_state(Settings.load(data_dir=data_dir, auto_migrate=migrate))


@click.group()
@click.version_option(package_name="labstore")
def main() -> None:
    """labstore: a home for a lab's data and metadata.

    \b
    Example:
      labstore serve --data-dir ./data --port 8000
    """


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@clear_errors
def serve(data_dir: Path | None, host: str, port: int) -> None:
    """Run the server (upgrading an empty or older database first).

    \b
    Example:
      labstore serve --data-dir ./data --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from labstore.server.app import create_app
    from labstore.server.settings import Settings

    settings = Settings.load(data_dir=data_dir)
    app = create_app(settings)
    click.echo(f"labstore serving {settings.effective_database_url} on http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@data_dir_option
@clear_errors
def db_upgrade(data_dir: Path | None) -> None:
    """Create or upgrade the database schema.

    \b
    Example:
      labstore db upgrade --data-dir ./data
    """
    from labstore.schema.packs import builtin_registry
    from labstore.server import migrate
    from labstore.server.database import Database
    from labstore.server.settings import Settings

    settings = Settings.load(data_dir=data_dir)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.effective_database_url, builtin_registry())
    found = migrate.upgrade(database.engine)
    click.echo(f"database was {found}; now at revision {migrate.head_revision()}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@data_dir_option
@click.option("--admin", is_flag=True, help="Administrator: sees and changes everything.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--email", default="")
@click.option("--full-name", default="")
@clear_errors
def user_add(
    name: str, data_dir: Path | None, admin: bool, password_stdin: bool, email: str, full_name: str
) -> None:
    """Add a user (the password is asked for unless --password-stdin).

    \b
    Example:
      echo 's3cret!' | labstore user add alice --password-stdin --data-dir ./data
    """

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    state = _state(data_dir)
    with state.db.write() as conn:
        state.accounts.create_user(
            conn, name, password, is_admin=admin, email=email, full_name=full_name
        )
    click.echo(f"user {name} added{' (admin)' if admin else ''}")


@main.group()
def project() -> None:
    """Manage projects."""


@project.command("add")
@click.argument("name")
@data_dir_option
@click.option("--member", "members", multiple=True, help="A member's user name (repeatable).")
@click.option("--admin", "admins", multiple=True, help="A project admin (repeatable).")
@click.option("--description", default="")
@clear_errors
def project_add(
    name: str,
    data_dir: Path | None,
    members: tuple[str, ...],
    admins: tuple[str, ...],
    description: str,
) -> None:
    """Create a project with its members.

    \b
    Example:
      labstore project add neuro --member alice --member bob --admin alice
    """
    from labstore.server.admin import add_project

    state = _state(data_dir)
    owner = (admins or members or ("admin",))[0]
    with state.db.write() as conn:
        add_project(
            state, conn, name, owner=owner, members=members, admins=admins, description=description
        )
    click.echo(f"project {name} created with {len(set(members) | set(admins))} member(s)")


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the demo data.")
@clear_errors
def demo(data_dir: Path | None, host: str, port: int, no_serve: bool) -> None:
    """Create demo data (user, project, labs, subjects, inventory) and serve it.

    \b
    Example:
      labstore demo --data-dir .demo-data --port 8000
    """
    from labstore.server.demo import seed_demo

    data_dir = data_dir or Path(".demo-data")
    state = _state(data_dir)
    login = seed_demo(state)
    state.db.dispose()
    click.echo(f"demo data {'created' if login.created else 'already present'} in {data_dir}")
    click.echo(f"  URL:      http://{host}:{port}")
    click.echo(f"  login:    {login.username} / {login.password}")
    click.echo(
        "  Python:   import labstore; s = labstore.Session({'location': "
        f"'http://{host}:{port}', 'username': '{login.username}', "
        f"'password': '{login.password}'}})"
    )
    if not no_serve:
        serve.callback(data_dir=data_dir, host=host, port=port)  # type: ignore[misc]


@main.command()
def settings() -> None:
    """List every server setting, its environment variable and default."""
    from labstore.server.settings import describe_settings

    for env, default, doc in describe_settings():
        click.echo(f"{env:34} {default:28} {doc}")


@main.command("login")
@click.option("--location", envvar="LABSTORE_URL", help="Server URL. [env: LABSTORE_URL]")
@click.option("--username", envvar="LABSTORE_USERNAME", help="[env: LABSTORE_USERNAME]")
@click.option(
    "--config",
    "file_name",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: the user config dir).",
)
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
@click.option("--config", "file_name", type=click.Path(path_type=Path), default=None)
@clear_errors
def whoami(file_name: Path | None) -> None:
    """Show who the stored login acts as."""
    from labstore.client.session import Session

    profile = Session(file_name=file_name).get_user_profile()
    click.echo(f"{profile['username']} projects={','.join(profile['projects']) or '-'}")


@main.command("export-one-cache")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--config",
    "file_name",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: the user config dir).",
)
@click.option("--profile", default=None, help="Profile of the config file to use.")
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
    from labstore.client.session import Session
    from labstore.errors import ConfigError

    options = {"profile": profile} if profile else None
    with Session(options, file_name=file_name, mode="local" if offline else None) as session:
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


if __name__ == "__main__":  # pragma: no cover
    main()

"""Server commands: serve, db, user, project, demo, settings (they work on a data directory)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from labstore.cli import main
from labstore.cli.common import clear_errors, data_dir_option, server_state


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
    state = server_state(data_dir)
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

    state = server_state(data_dir)
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
    state = server_state(data_dir)
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

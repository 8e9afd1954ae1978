"""Client commands that change who sees what and how it is found: share, tag, sync."""

from __future__ import annotations

from pathlib import Path

import click

from labstore.cli import main
from labstore.cli.common import (
    clear_errors,
    client_session,
    config_option,
    json_option,
    profile_option,
)
from labstore.cli.output import echo_json, echo_table

PERMISSIONS = ("read", "write", "delete", "share")


@main.command("share")
@click.argument("location")
@click.argument("who", required=False)
@click.option(
    "--permission",
    "-p",
    "permissions",
    multiple=True,
    type=click.Choice(PERMISSIONS),
    help="Grant this (repeat it; default: read).",
)
@click.option("--remove", is_flag=True, help="Take WHO's share away instead.")
@click.option(
    "--level",
    type=click.IntRange(1, 3),
    help="Set the safety level: 1 private, 2 friendly (project reads), 3 public.",
)
@config_option
@profile_option
@json_option
@clear_errors
def share_command(
    location: str,
    who: str | None,
    permissions: tuple[str, ...],
    remove: bool,
    level: int | None,
    file_name: Path | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Share LOCATION with WHO (a user, or project:NAME), or show who may see it.

    \b
    Examples:
      labstore share experiment/subject/2DFA548ESC bob -p read -p write
      labstore share experiment/subject/2DFA548ESC project:neuro
      labstore share experiment/subject/2DFA548ESC bob --remove
      labstore share experiment/subject/2DFA548ESC --level 1
    """
    with client_session(file_name, profile) as session:
        if level is not None:
            session.permissions(location, {"safety_level": level})
        if who is not None and remove:
            session.unshare(location, who)
        elif who is not None:
            session.share(location, who, list(permissions) or None)
        found = session.permissions(location)
    if as_json:
        echo_json(found)
        return
    click.echo(f"safety level {found['safety_level']}, owner {found['owner']}")
    echo_table([[s["with"], ",".join(s["permissions"])] for s in found["shares"]])
    if not found["shares"]:
        click.echo("not shared with anyone")


@main.command("tag")
@click.argument("location")
@click.argument("tags", nargs=-1)
@click.option("--remove", is_flag=True, help="Remove the TAGS instead of adding them.")
@click.option("--project", default=None, help="Tags seen only within this project.")
@config_option
@profile_option
@json_option
@clear_errors
def tag_command(
    location: str,
    tags: tuple[str, ...],
    remove: bool,
    project: str | None,
    file_name: Path | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Add TAGS to LOCATION (or remove them); with no TAGS, list its tags.

    \b
    Examples:
      labstore tag experiment/subject/2DFA548ESC good reviewed
      labstore tag experiment/subject/2DFA548ESC reviewed --remove
    """
    with client_session(file_name, profile) as session:
        if tags and remove:
            found = session.untag(location, *tags, project=project)
        elif tags:
            found = session.tag(location, *tags, project=project)
        else:
            found = session.list_tags(location)
    if as_json:
        echo_json(found)
    else:
        echo_table([[t["tag"], t["project"]] for t in found])


@main.command("sync")
@config_option
@profile_option
@clear_errors
def sync_command(file_name: Path | None, profile: str | None) -> None:
    """Bring the local store (option cache_dir) in step with the server.

    Only what changed since the last sync is sent; the first sync loads everything you may
    see. Afterwards `labstore.Session(mode="auto")` and offline sessions answer from it.

    \b
    Example:
      LABSTORE_CACHE_DIR=~/labstore-cache labstore sync
    """
    from labstore.errors import ConfigError

    with client_session(file_name, profile) as session:
        if session.local_store is None:
            raise ConfigError("sync needs a local store: set the cache_dir option")
        before = sum(session.cache_info["counts"].values())
        loaded = session.refresh_cache()
        after = sum(session.cache_info["counts"].values())
    click.echo(f"synced at {loaded:%Y-%m-%d %H:%M:%S} UTC: {after} objects ({after - before:+d})")

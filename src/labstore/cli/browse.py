"""Client commands that look around: ls, stat, get, search, query.

They read through ``labstore.Session`` with the same option layers as Python code (see
:func:`labstore.cli.common.client_session`), so they see exactly what the user may see.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labstore.cli import main
from labstore.cli.common import (
    clear_errors,
    client_session,
    config_option,
    json_option,
    profile_option,
)
from labstore.cli.files import progress_bar
from labstore.cli.output import echo_json, echo_object, echo_objects, echo_table
from labstore.errors import InvalidInput

if TYPE_CHECKING:
    from labstore.client.session import Session


def _listing_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [[i["resource_type"], i["path"], i.get("location")] for i in items]


@main.command("ls")
@click.argument("path", default="/")
@config_option
@profile_option
@json_option
@clear_errors
def ls_command(path: str, file_name: Path | None, profile: str | None, as_json: bool) -> None:
    """List the folders and objects in PATH (default: the projects at /).

    \b
    Example:
      labstore ls /neuro/raw
    """
    with client_session(file_name, profile) as session:
        items = session.ls_path(path)
    if as_json:
        echo_json(items)
    else:
        echo_table(_listing_rows(items))


@main.command("stat")
@click.argument("path")
@config_option
@profile_option
@json_option
@clear_errors
def stat_command(path: str, file_name: Path | None, profile: str | None, as_json: bool) -> None:
    """Show what is at PATH: a folder or an object.

    \b
    Example:
      labstore stat /neuro/raw/ZM_1085
    """
    with client_session(file_name, profile) as session:
        found = session.stat_path(path)
    if as_json:
        echo_json(found)
    else:
        echo_object(found)


def _split_location(location: str) -> tuple[str, str]:
    parts = location.strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        raise InvalidInput(f"{location!r} is not a location: expected pack/model/id")
    return f"{parts[0]}/{parts[1]}", parts[2]


@main.command("get")
@click.argument("location")
@config_option
@profile_option
@json_option
@click.option("--recursive", "-r", is_flag=True, help="Also every object below it.")
@click.option(
    "--output",
    "-o",
    "dest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="For a core/file: download its content to this file.",
)
@clear_errors
def get_command(
    location: str,
    file_name: Path | None,
    profile: str | None,
    as_json: bool,
    recursive: bool,
    dest: Path | None,
) -> None:
    """Show the object at LOCATION (pack/model/id), or download a file's content.

    \b
    Examples:
      labstore get experiment/subject/2DFA548ESC
      labstore get core/file/7ZK3Q0W2MA -o recording.bin
    """
    model, ident = _split_location(location)
    params = {"recursive": 1} if recursive else {}
    with client_session(file_name, profile) as session:
        found = session.rest(model, "read", no_cache=True, id=ident, **params)
        if dest is not None:
            _download(session, found, dest)
            return
    if as_json:
        echo_json(found)
    elif recursive:
        echo_objects(found["objects"], as_json=False)
    else:
        echo_object(found)


def _download(session: Session, obj: dict[str, Any], dest: Path) -> None:
    if obj["model"] != "core/file" or not obj.get("sha256"):
        # Said before the progress bar starts, so the error is the only line printed.
        raise InvalidInput(f"{obj['location']}: only a core/file with content downloads")
    with progress_bar(int(obj.get("size") or 0), f"download {dest.name}", quiet=False) as bar:
        written = session.download(obj["location"], dest, progress=bar)
    click.echo(f"wrote {written}")


def _filters(raw: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{item!r}: expected a filter like name__icontains=zm")
        if key in out:
            raise InvalidInput(f"{key}: given twice (use {key.split('__')[0]}__in=a,b)")
        out[key] = value
    return out


@main.command("search")
@click.argument("model")
@click.argument("filters", nargs=-1)
@config_option
@profile_option
@json_option
@click.option("--count", is_flag=True, help="Print only how many objects match.")
@clear_errors
def search_command(
    model: str,
    filters: tuple[str, ...],
    file_name: Path | None,
    profile: str | None,
    as_json: bool,
    count: bool,
) -> None:
    """Find objects of MODEL matching every FILTER.

    MODEL is pack/model; a FILTER is field__lookup=value, with the lookups exact iexact
    contains icontains startswith endswith in gt gte lt lte range isnull; relations chain
    with __ (subject__lab__name=cortexlab).

    \b
    Example:
      labstore search experiment/subject nickname__icontains=zm lab__name=cortexlab
    """
    wanted = _filters(filters)
    with client_session(file_name, profile) as session:
        if count:
            click.echo(session.rest(model, "count", no_cache=True, **wanted)["count"])
            return
        found = session.rest(model, "list", no_cache=True, **wanted)
    echo_objects(found, as_json)


@main.command("query")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@config_option
@profile_option
@json_option
@clear_errors
def query_command(file: Path, file_name: Path | None, profile: str | None, as_json: bool) -> None:
    """Run the JSON query in FILE ('-' reads standard input).

    \b
    Example:
      echo '{"__model__": "Subject", "__query__": {"lab": {"name": "cortexlab"}}}' \\
        | labstore query -
    """
    data = _read_query(file)
    with client_session(file_name, profile) as session:
        found = session.query({**data, "__json__": True})
    echo_objects(found, as_json)


def _read_query(file: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except OSError as exc:
        raise InvalidInput(f"{file}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: a query is a JSON object with a __model__")
    return data

"""Client commands that move file contents: put and download, with progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from labstore.cli import main
from labstore.cli.common import clear_errors, config_option, profile_option


@contextmanager
def progress_bar(length: int, label: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar's ``update`` (on stderr), or ``None`` when quiet."""
    if quiet:
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@main.command("put")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--path", "dest_path", default=None, help="Folder to file it in: /project/folder.")
@click.option("--name", default=None, help="Name of the file object (default: the file's).")
@click.option("--project", default=None, help="Project of the file object.")
@click.option("--description", default=None, help="What the file holds.")
@click.option("--quiet", is_flag=True, help="No progress bar; print only the location.")
@config_option
@profile_option
@clear_errors
def put_command(
    file: Path,
    dest_path: str | None,
    name: str | None,
    project: str | None,
    description: str | None,
    quiet: bool,
    file_name: Path | None,
    profile: str | None,
) -> None:
    """Upload FILE as a core/file object and print its location.

    Content the server already has is not sent again; large files go in chunks, and running
    the same command after an interruption sends only what is missing.

    \b
    Example:
      labstore put recording.nwb --path /neuro/raw --description "mouse 12, day 3"
    """
    from labstore.client.session import Session

    fields = {"name": name, "project": project, "description": description}
    fields = {key: value for key, value in fields.items() if value is not None}
    options = {"profile": profile} if profile else None
    size = file.stat().st_size
    with (
        Session(options, file_name=file_name) as session,
        progress_bar(size, f"put {file.name}", quiet) as progress,
    ):
        stored = session.upload(file, dest_path, progress=progress, **fields)
    click.echo(stored.location)


@main.command("download")
@click.argument("location")
@click.argument("dest", required=False, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar; print only the file written.")
@config_option
@profile_option
@clear_errors
def download_command(
    location: str, dest: Path | None, quiet: bool, file_name: Path | None, profile: str | None
) -> None:
    """Download the content of the core/file at LOCATION to DEST (a file or a folder;
    default: the current folder) and print the file written.

    Large files come in parallel ranges; an interrupted download resumes when run again.
    The content's sha256 is checked before DEST appears.

    \b
    Example:
      labstore download core/file/2DFA548ESC ~/data/
    """
    from labstore.client.session import Session

    options = {"profile": profile} if profile else None
    with Session(options, file_name=file_name) as session:
        entity = session.get(location)
        size = int(getattr(entity, "size", 0) or 0)
        with progress_bar(size, f"download {location}", quiet) as progress:
            written = session.download(entity, dest, progress=progress)
    click.echo(str(written))

"""Client commands for recordings: ``import`` files that neo reads, ``export`` blocks to files.

Both need the ``ephys`` extra (neo, quantities, odml; nixio for NIX files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from labstore.cli import main
from labstore.cli.common import clear_errors, client_session, config_option, profile_option
from labstore.errors import InvalidInput


def _reader(path: Path) -> Any:
    """The neo IO that reads ``path``, chosen by neo from the file's name."""
    import neo

    if path.suffix.lower() == ".nix":
        return neo.io.NixIO(str(path), mode="ro")
    try:
        return neo.io.get_io(str(path))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: no neo.io reader recognises this file ({exc})") from None


def _read_blocks(path: Path) -> list[Any]:
    reader = _reader(path)
    try:
        blocks: list[Any] = reader.read(lazy=False)
    except Exception as exc:
        raise InvalidInput(f"{path}: neo could not read it: {exc}") from None
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    return blocks


def _shown(path: Path | None) -> str | None:
    return None if path is None else path.name


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--dest", default=None, help="Folder to file the blocks in, e.g. /neuro/raw.")
@profile_option
@config_option
@clear_errors
def import_command(
    files: tuple[Path, ...], dest: str | None, profile: str | None, file_name: Path | None
) -> None:
    """Upload the blocks of recording FILES (any format neo.io reads).

    Each block is stored whole (segments, groups, signals, spike trains, events, epochs,
    arrays as blobs stored once) and its location printed.

    \b
    Example:
      labstore import session1.nix session2.smr --dest /neuro/raw/2024
    """
    session = client_session(file_name, profile)
    if dest:
        session.create_paths(dest)
    stored: list[str] = []
    with click.progressbar(files, label="import", item_show_func=_shown) as bar:
        for path in bar:
            for block in _read_blocks(path):
                if not block.file_origin:
                    block.file_origin = path.name
                result = session.set(block, recursive=True)
                stored.append(result.location)
                if dest:
                    session.assign_paths({"location": result.location, "path": dest})
                click.echo(f" {path.name}: {result.location}")
    click.echo(f"{len(stored)} block(s) stored")


@main.command("export")
@click.argument("location")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@profile_option
@config_option
@clear_errors
def export_command(location: str, file: Path, profile: str | None, file_name: Path | None) -> None:
    """Write the block at LOCATION to FILE through neo.

    The format follows the extension: .nix (NIX, through nixio), .pkl, and any other
    format neo.io can write.

    \b
    Example:
      labstore export ephys/block/2DFA548ESC session1.nix
    """
    import neo

    session = client_session(file_name, profile)
    block = session.get(location, recursive=True)
    if not isinstance(block, neo.Block):
        raise InvalidInput(f"{location} is not a block (ephys/block/ID)")
    if file.suffix.lower() == ".nix":
        writer: Any = neo.io.NixIO(str(file), mode="ow")
    else:
        try:
            writer = neo.io.get_io(str(file))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{file}: neo has no writer for this extension ({exc})") from None
        if not getattr(writer, "is_writable", False):
            raise InvalidInput(f"{file}: {type(writer).__name__} cannot write files")
    try:
        writer.write_block(block)
    finally:
        close = getattr(writer, "close", None)
        if close is not None:
            close()
    click.echo(f"{location} -> {file}")

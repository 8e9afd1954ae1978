"""How client commands print what they found: aligned text for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

# Fields that name an object in a listing, in order of preference.
TITLE_FIELDS = ("name", "nickname", "username", "title", "date")
LIST_COLUMNS = ("location", "title", "owner", "project", "modified")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def title(obj: Mapping[str, Any]) -> str:
    for key in TITLE_FIELDS:
        if obj.get(key):
            return str(obj[key])
    return str(obj.get("id", ""))


def echo_table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> None:
    """Columns padded to their widest cell; the last column is not padded."""
    lines = [list(map(_cell, r)) for r in ([header] if header else []) + list(rows)]
    if not lines:
        return
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=False)] + line[-1:]
        click.echo("  ".join(cells).rstrip())


def echo_objects(objects: Iterable[Mapping[str, Any]], as_json: bool) -> None:
    """A listing of objects (API JSON form): one line each, or a JSON list."""
    found = list(objects)
    if as_json:
        echo_json(found)
        return
    rows = [[o["location"], title(o), o.get("owner"), o.get("project"), o.get("modified")]
            for o in found]  # fmt: skip
    echo_table(rows, LIST_COLUMNS)
    click.echo(f"({len(found)} found)", err=True)


def echo_object(obj: Mapping[str, Any]) -> None:
    """One object as ``field: value`` lines, the common fields first."""
    width = max(len(k) for k in obj)
    for key, value in obj.items():
        text = json.dumps(value, default=str) if isinstance(value, dict | list) else value
        click.echo(f"{key.ljust(width)}  {_cell(text)}")


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)

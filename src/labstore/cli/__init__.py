"""``labstore``: run and administer a server, and reach one from the shell.

Server commands (``serve``, ``db``, ``user``, ``project``, ``demo``) work on a data directory
(``--data-dir`` or ``LABSTORE_DATA_DIR``); client commands use the same option layers as
``labstore.Session``. Errors print one line and exit non-zero.

Each command module registers its commands on :func:`main`; add a module to ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

import click


@click.group()
@click.version_option(package_name="labstore")
def main() -> None:
    """labstore: a home for a lab's data and metadata.

    \b
    Example:
      labstore serve --data-dir ./data --port 8000
    """


# Imported for their side effect of registering commands on ``main``.
_COMMAND_MODULES = ("server", "account", "files", "ephys", "browse", "organize")
for _name in _COMMAND_MODULES:
    importlib.import_module(f"labstore.cli.{_name}")


if __name__ == "__main__":  # pragma: no cover
    main()

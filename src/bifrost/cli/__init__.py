"""The `bifrost` command line (`app.py`: the Typer app; one module per command group).

`bifrost --version` answers before anything else is imported: a script that checks the
version should not wait for the whole command line to load.
"""

from __future__ import annotations

import sys

_VERSION_FLAGS = (["--version"], ["-V"])


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] in _VERSION_FLAGS:
        from bifrost import __version__

        print(f"bifrost {__version__}")
        return
    from bifrost.cli.app import run

    run()

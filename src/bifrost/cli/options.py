"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Paths = Annotated[
    list[str] | None,
    typer.Argument(help="Log files (plain or gzip); '-' or nothing reads standard input."),
]
NoColor = Annotated[bool, typer.Option("--no-color", help="No colour, even on a terminal.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.")]

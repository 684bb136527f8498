"""`bifrost config`: the effective settings and where each came from; where the file is."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer

from bifrost.cli.options import NoColor, Verbose
from bifrost.cli.output import cli_message, run

app = typer.Typer(
    help="Show the settings in effect and where each came from.\n\nBuilt-in defaults < "
    "settings file (bifrost.toml, or --config) < environment (BIFROST_*) < flags.",
    no_args_is_help=True,
)


class ConfigFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("show")
def show_command(
    format: Annotated[
        ConfigFormat,
        typer.Option("--format", "-f", help="table or json.", metavar="FORMAT"),
    ] = ConfigFormat.table,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """Print every setting, its value and where it came from.

    Sources: default, file, environment. Passwords in URLs are masked."""
    from rich.table import Table
    from rich.text import Text

    from bifrost.cli.console import console
    from bifrost.config import load_settings_with_origins

    def action() -> None:
        loaded = load_settings_with_origins()
        values = loaded.settings.model_dump(mode="json")
        rows = [(name, _shown(name, values[name]), loaded.origins[name]) for name in sorted(values)]
        if format is ConfigFormat.json:
            print(
                json.dumps(
                    {
                        "file": str(loaded.file),
                        "settings": {n: {"value": v, "from": o} for n, v, o in rows},
                    },
                    indent=2,
                )
            )
            return
        out = console(no_color=no_color)
        found = "config.settings_file" if loaded.file.exists() else "config.settings_file_missing"
        out.print(Text(cli_message(found, file=loaded.file), style="dim"))
        table = Table(box=None, header_style="bold")
        for column in ("column.setting", "column.value", "column.from"):
            table.add_column(cli_message(column), overflow="fold")
        for name, value, origin in rows:
            table.add_row(name, Text(json.dumps(value)), Text(origin, style=_STYLE[origin]))
        out.print(table)

    run(action, verbose=verbose)


@app.command("path")
def path_command(verbose: Verbose = False) -> None:
    """Print the path of the settings file.

    BIFROST_CONFIG or --config, else bifrost.toml in the user config directory; printed
    whether or not the file exists."""
    from bifrost.config import load_settings_with_origins

    def action() -> None:
        print(load_settings_with_origins().file)

    run(action, verbose=verbose)


_STYLE = {"default": "dim", "file": "cyan", "environment": "yellow", "flag": "green"}


def _shown(name: str, value: Any) -> Any:
    """The value as `config show` prints it: passwords in URLs, and secrets, replaced by `***`."""
    from bifrost.config import SECRET_URLS, SECRETS  # loaded already: settings were read

    if name in SECRETS and value is not None:
        return "***"
    if name in SECRET_URLS and isinstance(value, str):
        return _masked(value)
    return value


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit(parts._replace(netloc=user + host))

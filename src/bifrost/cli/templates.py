"""`bifrost templates`: the log's templates with counts, or the template of every line (jsonl
contract)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.options import NoColor, Paths, Verbose
from bifrost.cli.output import cli_message, run

if TYPE_CHECKING:
    from bifrost.analysis.templates import Templates


class TemplatesFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    json = "json"


def templates_command(
    paths: Paths = None,
    format: Annotated[
        TemplatesFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table; json (the templates with counts); jsonl (the template of every input "
            "line, one record per line).",
        ),
    ] = TemplatesFormat.table,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """List a log's templates with their counts, most frequent first.

    Reads each PATH, a log file (plain or gzip); '-' or no PATH reads standard input. The
    output is the same on a terminal and in a pipe: a table unless --format says otherwise.
    """
    from bifrost.analysis.templates import mine_templates
    from bifrost.config import load_settings

    def action() -> None:
        mined = mine_templates(list(paths or []), load_settings())
        for warning in mined.warnings:
            print(f"bifrost: warning: {warning}", file=sys.stderr)
        if format is TemplatesFormat.jsonl:
            for chunk in mined.jsonl():
                sys.stdout.write(chunk)
        elif format is TemplatesFormat.json:
            sys.stdout.write(json.dumps(mined.counts(), indent=2) + "\n")
        else:
            _print_table(mined, no_color=no_color)
        sys.stdout.flush()

    run(action, verbose=verbose)


def _print_table(mined: Templates, *, no_color: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from bifrost.cli.console import console

    headings = ("column.count", "column.template_id", "column.template")
    table = Table(*(cli_message(heading) for heading in headings), box=None, header_style="bold")
    for row in mined.counts():
        table.add_row(f"{row['count']:,}", str(row["template_id"]), Text(str(row["template"])))
    console(no_color=no_color).print(table)

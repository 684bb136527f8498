"""`bifrost templates`: the log's templates with counts, or the template of every line (jsonl
contract)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bifrost.analysis import scan_templates
from bifrost.cli.options import NoColor, Paths, Verbose
from bifrost.cli.output import console, run
from bifrost.config import load_settings
from bifrost.engine.scan import Scan


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

    def action() -> None:
        scan = scan_templates(list(paths or []), load_settings())
        for source in scan.sources:
            for warning in source.warnings:
                print(f"bifrost: warning: {warning}", file=sys.stderr)
        if format is TemplatesFormat.jsonl:
            write_jsonl(scan)
        elif format is TemplatesFormat.json:
            sys.stdout.write(json.dumps(template_counts(scan), indent=2) + "\n")
        else:
            _print_table(scan, no_color=no_color)
        sys.stdout.flush()

    run(action, verbose=verbose)


def template_counts(scan: Scan) -> list[dict[str, object]]:
    """Templates with their line counts, most frequent first."""
    counts: Counter[int] = Counter()
    for index, stats in scan.stats.items():
        counts[scan.miner.find(index)] += stats.count
    return [
        {"template_id": scan.template_id(i), "template": scan.template_text(i), "count": n}
        for i, n in counts.most_common()
    ]


def write_jsonl(scan: Scan) -> None:
    """One JSON object per input line, in input order (the public contract in DESIGN.md).

    The constant tail of each record is encoded once per template, so a million lines cost a
    string format each rather than a `json.dumps` each.
    """
    assert scan.line_templates is not None
    several = len(scan.sources) > 1
    tails: dict[int, str] = {}
    for index in set(scan.line_templates):
        tails[index] = (
            f', "template_id": "{scan.template_id(index)}", '
            f'"template": {json.dumps(scan.template_text(index))}}}\n'
        )
    out = sys.stdout
    position = 0
    for file, count in enumerate(scan.line_files):
        prefix = (
            f'{{"file": {json.dumps(scan.sources[file].name)}, "line": ' if several else '{"line": '
        )
        indices = scan.line_templates[position : position + count]
        batch: list[str] = []
        for line, index in enumerate(indices, start=1):
            batch.append(f"{prefix}{line}{tails[index]}")
            if len(batch) >= 65536:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
        position += count


def _print_table(scan: Scan, *, no_color: bool) -> None:
    table = Table("count", "template_id", "template", box=None, header_style="bold")
    for row in template_counts(scan):
        table.add_row(f"{row['count']:,}", str(row["template_id"]), Text(str(row["template"])))
    console(no_color=no_color).print(table)

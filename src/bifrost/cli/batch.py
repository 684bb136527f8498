"""`bifrost batch`: many logs at once — a verdict per file, and what they have in common."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bifrost.choices import FailOn
from bifrost.cli.options import FailOnOption, NoColor, Quiet, Top, Verbose
from bifrost.cli.output import cli_message, run
from bifrost.errors import UsageError

if TYPE_CHECKING:
    from bifrost.analysis.batch import Batch, FileResult, OnDone

SCHEMA = "bifrost.batch/v1"


class BatchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def batch_command(
    paths: Annotated[list[str], typer.Argument(metavar="PATH", hidden=True)],
    pattern: Annotated[
        str,
        typer.Option(
            "--glob",
            "-g",
            metavar="GLOB",
            help="In directories, only files whose name matches.",
        ),
    ] = "*",
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            min=1,
            help="Files analysed at once (default: the number of cores).",
        ),
    ] = None,
    format: Annotated[
        BatchFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table; json (one object: files and the cross-file view); jsonl or csv (one "
            "record per file).",
        ),
    ] = BatchFormat.table,
    fail_on: FailOnOption = None,
    top: Top = None,
    no_color: NoColor = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Analyse many logs in parallel.

    Each PATH is a log file, a directory (searched recursively) or a glob; '-' reads a list of
    paths from standard input, one per line. Prints a verdict per file, the findings the files
    share, and which failed first. Nothing is cached or stored.

    \b
    Exit codes:
      0  nothing at or above --fail-on
      1  a file at or above it
      2  a file could not be read, or a usage error
    """

    def action() -> int:
        from bifrost.analysis.batch import expand, run_batch
        from bifrost.config import load_settings

        settings = load_settings(top=top, fail_on=fail_on)
        arguments = _with_stdin_list(paths)
        inputs = expand(arguments, pattern)
        if not inputs:
            raise UsageError.said("usage.no_batch_input")
        with _progress(len(inputs), quiet=quiet) as on_done:
            batch = run_batch(inputs, settings, jobs or os.cpu_count() or 1, on_done)
        if not quiet:
            _print(batch, format, no_color=no_color)
        return exit_code(batch, settings.fail_on)

    run(action, verbose=verbose)


def _with_stdin_list(arguments: list[str]) -> list[str]:
    """`-` stands for the paths listed on standard input (`find … | bifrost batch -`)."""
    if "-" not in arguments:
        return arguments
    listed = [line.strip() for line in sys.stdin if line.strip()]
    return [p for a in arguments for p in (listed if a == "-" else [a])]


@contextlib.contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[OnDone | None]:
    """A transient bar of files done, on stderr, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    analysing = TextColumn(cli_message("progress.analysing"))
    columns = (analysing, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("files", total=total)
        yield lambda _result: bar.advance(task)


def exit_code(batch: Batch, fail_on: FailOn) -> int:
    """2 when a file could not be read; else 1 when a verdict or finding reaches `fail_on`."""
    if any(r.report is None for r in batch.files):
        return 2
    from bifrost.analysis import fails

    return int(any(r.report is not None and fails(r.report, fail_on) for r in batch.files))


def record(result: FileResult) -> dict[str, Any]:
    """One file as a flat record (the jsonl and csv rows)."""
    report = result.report
    top = report.findings[0] if report and report.findings else None
    return {
        "path": result.path,
        "status": "failed" if report is None else "warning" if report.warnings else "analysed",
        "verdict": report.verdict if report else None,
        "findings": len(report.findings) if report else None,
        "lines": report.input.lines if report else None,
        "top_finding": top.title if top else None,
        "top_severity": top.severity if top else None,
        "top_template_id": top.template_id if top else None,
        "first_seen_ts": top.first_seen.ts if top else None,
        "error": result.error,
        "warnings": list(report.warnings) if report else [],
    }


def to_json(batch: Batch) -> dict[str, Any]:
    """The whole batch as one object: each file's record and Report, and the cross-file view."""
    failed = sum(r.report is None for r in batch.files)
    return {
        "schema": SCHEMA,
        "totals": {
            "files": len(batch.files),
            "analysed": len(batch.files) - failed,
            "failed": failed,
        },
        "files": [
            record(r) | {"report": r.report.model_dump(by_alias=True) if r.report else None}
            for r in batch.files
        ],
        "cross_file": {
            "shared_templates": [
                {
                    "template_id": s.template_id,
                    "template": s.template,
                    "title": s.title,
                    "severity": s.severity,
                    "files": s.files,
                    "count": s.count,
                }
                for s in batch.shared
            ],
            "first_failure": vars(batch.first_failure),
        },
    }


def _print(batch: Batch, fmt: BatchFormat, *, no_color: bool) -> None:
    out = sys.stdout
    if fmt is BatchFormat.json:
        out.write(json.dumps(to_json(batch), indent=2) + "\n")
    elif fmt is BatchFormat.jsonl:
        for result in batch.files:
            out.write(json.dumps(record(result)) + "\n")
    elif fmt is BatchFormat.csv:
        from bifrost.analysis.batch import FileResult
        from bifrost.render.spreadsheet import SafeDictWriter

        writer = SafeDictWriter(out, fieldnames=list(record(FileResult("")).keys()))
        writer.writeheader()
        for result in batch.files:
            row = record(result)
            writer.writerow(row | {"warnings": "; ".join(row["warnings"])})
    else:
        _print_table(batch, no_color=no_color)
    out.flush()


_VERDICT_STYLE = {"ok": "green", "warning": "yellow", "unclear": "magenta", "failure": "bold red"}
_OTHER_COLUMNS = 32  # verdict, findings, lines and the gaps between columns


def _relative(paths: list[str]) -> tuple[str, list[str]]:
    """The folder every path is in (when they share one below the root) and the paths
    relative to it: the table then has room for what differs."""
    try:
        folder = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
    except ValueError:  # absolute and relative paths mixed
        folder = ""
    if folder in {"", os.sep, "."} or paths == ["-"]:
        return "", paths
    return folder, [os.path.relpath(p, folder) for p in paths]


def _print_table(batch: Batch, *, no_color: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from bifrost.cli.console import console

    screen = console(no_color=no_color)
    # One line a file at any width: the answer (or, for a file that could not be read, why)
    # is cut to fit; the warnings of files that were read follow the table, whole.
    table = Table(box=None, header_style="bold")
    folder, names = _relative([r.path for r in batch.files])
    if folder:
        screen.print(Text(cli_message("batch.folder", folder=folder + os.sep), style="dim"))
    widest = max((len(name) for name in names), default=4)
    file_width = min(widest, max(24, screen.width // 3))
    answer_width = max(20, screen.width - file_width - _OTHER_COLUMNS)
    # the file's name is never cut short
    table.add_column(cli_message("column.file"), width=file_width, overflow="fold")
    table.add_column(cli_message("column.verdict"), no_wrap=True)
    table.add_column(
        cli_message("column.top_finding_or_why"),
        no_wrap=True,
        overflow="ellipsis",
        max_width=answer_width,
    )
    table.add_column(cli_message("column.findings"), justify="right", no_wrap=True)
    table.add_column(cli_message("column.lines"), justify="right", no_wrap=True)
    unread = cli_message("batch.unread")
    warned: list[tuple[str, str]] = []
    for result, name in zip(batch.files, names, strict=True):
        row = record(result)
        verdict = row["verdict"] or unread
        answer = Text(row["top_finding"] or "")
        if row["error"]:
            answer = Text(row["error"].removeprefix(f"{result.path}: "), style="red")
        warned += [(result.path, w.removeprefix(f"{result.path}: ")) for w in row["warnings"]]
        table.add_row(
            Text(name),
            Text(verdict, style=_VERDICT_STYLE.get(verdict, "bold magenta")),
            answer,
            "" if row["findings"] is None else str(row["findings"]),
            "" if row["lines"] is None else f"{row['lines']:,}",
        )
    screen.print(table)
    for path, warning in warned:
        screen.print(Text(f"  {path}: ", style="yellow") + Text(warning))
    analysed = sum(r.report is not None for r in batch.files)
    if batch.shared:
        screen.print(Text.assemble("\n", (cli_message("batch.shared"), "bold")))
        for shared in batch.shared:
            found_in = cli_message("batch.shared_in", files=len(shared.files), analysed=analysed)
            screen.print(Text(f"  {found_in}  {shared.severity:<8} ") + Text(shared.title))
    screen.print(Text.assemble("\n", (cli_message("batch.first_failure"), "bold")))
    screen.print(Text(f"  {batch.first_failure.note}"))

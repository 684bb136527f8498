"""`bifrost diff`: why a run failed when an earlier one of the same job passed."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from bifrost.analysis import build_report
from bifrost.cli.analyze import ReportFormat, exit_code, print_report
from bifrost.cli.options import NoColor, Verbose
from bifrost.cli.output import run
from bifrost.config import load_settings
from bifrost.engine.diff import compare, rerank, section
from bifrost.engine.read import open_sources
from bifrost.engine.score import findings
from bifrost.errors import UsageError


def diff_command(
    baseline: Annotated[str, typer.Argument(help="A log of a good run (plain or gzip).")],
    failing: Annotated[str, typer.Argument(help="The failing run's log; '-' reads stdin.")],
    format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.terminal,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Findings to report [5].")] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding is at or above this: warning, error, critical, never "
            "[error].",
        ),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", "-n", help="Keep nothing (diff stores nothing yet).")
    ] = False,
    no_color: NoColor = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """What is new, gone or changed in rate in a failing run, compared with a good one; the
    findings of the failing run, with those the good run had too ranked last.

    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or input
    error, 3 service error.
    """

    def action() -> int:
        settings = load_settings(top=top, fail_on=fail_on)
        if baseline == "-":
            raise UsageError("the baseline must be a file; only the failing run can be stdin")
        started = time.perf_counter()
        comparison = compare(
            open_sources([baseline]),
            open_sources([failing]),
            block_bytes=settings.chunk_bytes,
            context_lines=settings.context_lines,
            max_line_bytes=settings.max_line_bytes,
        )
        ranked = rerank(comparison, findings(comparison.failing))
        elapsed = time.perf_counter() - started
        report = build_report(comparison.failing, ranked, settings.top, elapsed=elapsed)
        changes = section(comparison)
        summary = (
            f"{report.summary} Compared with {changes.baseline.name}: {changes.new} new, "
            f"{changes.gone} gone, {changes.changed} changed templates."
        )
        report = report.model_copy(update={"diff": changes, "summary": summary})
        for warning in [w for s in comparison.baseline.sources for w in s.warnings]:
            print(f"bifrost: warning: {warning}", file=sys.stderr)
        for warning in report.warnings:
            print(f"bifrost: warning: {warning}", file=sys.stderr)
        if not quiet:
            print_report(report, format, no_color=no_color)
        return exit_code(report, settings.fail_on)

    run(action, verbose=verbose)

"""`bifrost diff`: why a run failed when an earlier one of the same job passed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.analyze import ReportFormat, exit_code, print_report
from bifrost.cli.options import FailOnOption, Lang, NoColor, Quiet, Top, Verbose, one_of
from bifrost.cli.output import run
from bifrost.errors import UsageError

if TYPE_CHECKING:
    from bifrost.config import Settings


def diff_command(
    logs: Annotated[list[str], typer.Argument(metavar="LOG", hidden=True)],
    baseline_from: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="ID|SERVICE",
            help="A stored analysis to compare with: its id, or a service (its latest good run); "
            "it must have been stored with --store-input.",
        ),
    ] = None,
    format: Annotated[
        ReportFormat,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help=f"Output format: {one_of(ReportFormat)}."
        ),
    ] = ReportFormat.terminal,
    top: Top = None,
    fail_on: FailOnOption = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", "-n", help="Keep nothing (diff stores nothing yet).")
    ] = False,
    lang: Lang = None,
    no_color: NoColor = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Compare a failing run's log with a good run's.

    Takes two LOGs, the good run's then the failing run's ('-' reads the failing run from
    standard input), or with --baseline only the failing run's. Prints what is new, gone or
    changed in rate, and the failing run's findings with those the good run had too ranked last.

    \b
    Exit codes:
      0  nothing at or above --fail-on
      1  findings at or above it
      2  usage or input error
      3  service error
    """
    from bifrost.analysis.diff import compare_runs, stored_baseline
    from bifrost.config import load_settings
    from bifrost.i18n.reports import reworded

    def action() -> int:
        settings = load_settings(top=top, fail_on=fail_on, lang=lang)
        wanted = 1 if baseline_from else 2
        if len(logs) != wanted:
            raise UsageError.said("diff.one_log" if baseline_from else "diff.two_logs")
        with stored_baseline(baseline_from, settings) as stored:
            if stored is None:
                return _compare(logs[0], logs[-1], settings, None)
            return _compare(stored[0], logs[-1], settings, stored[1])

    def _compare(baseline: str, failing: str, settings: Settings, label: str | None) -> int:
        result = compare_runs(baseline, failing, settings, baseline_name=label)
        for warning in result.baseline_warnings + result.report.warnings:
            print(f"bifrost: warning: {reworded(warning, settings.lang)}", file=sys.stderr)
        if not quiet:
            print_report(result.report, format, no_color=no_color, lang=settings.lang)
        return exit_code(result.report, settings.fail_on)

    run(action, verbose=verbose)

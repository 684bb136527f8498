"""`bifrost diff`: why a run failed when an earlier one of the same job passed."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.analysis import build_report
from bifrost.cli.analyze import ReportFormat, exit_code, print_report
from bifrost.cli.options import FailOnOption, NoColor, Quiet, Top, Verbose, one_of
from bifrost.cli.output import run
from bifrost.config import Settings, load_settings
from bifrost.engine.diff import compare, rerank, section
from bifrost.engine.read import open_sources
from bifrost.engine.score import findings
from bifrost.errors import UsageError

if TYPE_CHECKING:
    from bifrost.store.records import AnalysisSummary


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

    def action() -> int:
        settings = load_settings(top=top, fail_on=fail_on)
        wanted = 1 if baseline_from else 2
        if len(logs) != wanted:
            raise UsageError(
                "pass the failing log only (the baseline comes from --baseline)"
                if baseline_from
                else "pass two logs: the baseline (a good run), then the failing run"
            )
        with _stored_baseline(baseline_from, settings) as stored:
            if stored is None:
                return _compare(logs[0], logs[-1], settings, None)
            return _compare(stored[0], logs[-1], settings, stored[1])

    def _compare(baseline: str, failing: str, settings: Settings, label: str | None) -> int:
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
        if label is not None:  # a stored run: name it, not its temporary file
            changes = changes.model_copy(
                update={"baseline": changes.baseline.model_copy(update={"name": label})}
            )
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


@contextlib.contextmanager
def _stored_baseline(wanted: str | None, settings: Settings) -> Iterator[tuple[str, str] | None]:
    """The raw input of a stored analysis (by id, or a service's latest good run) as a
    temporary file, for as long as the comparison needs it."""
    if wanted is None:
        yield None
        return
    blob, label = asyncio.run(_find_baseline(wanted, settings))
    with tempfile.NamedTemporaryFile(prefix="bifrost-baseline-", suffix=".log") as file:
        file.write(gzip.decompress(blob))
        file.flush()
        yield file.name, label


async def _find_baseline(wanted: str, settings: Settings) -> tuple[bytes, str]:
    from bifrost.store import (  # noqa: PLC0415 — the store loads only when asked for
        HistoryFilter,
        get_analysis,
        get_input_blob,
        open_store,
        search_analyses,
    )

    async with await open_store(settings) as store:
        if wanted.isdigit():
            stored = await get_analysis(store, int(wanted))
            if stored is None:
                raise UsageError(
                    f"no stored analysis has id {wanted}; `bifrost history` lists them"
                )
            blob = await get_input_blob(store, stored.id)
            if blob is None:
                raise UsageError(
                    f"stored analysis {wanted} was stored without its input; analyse the run "
                    "again with `bifrost analyze LOG --store-input`"
                )
            return blob, f"stored analysis {stored.id} ({stored.input_name})"
        runs = await search_analyses(store, HistoryFilter(service=wanted), limit=_RUNS_LOOKED_AT)
        for run in runs:
            if run.verdict in _GOOD_VERDICTS:
                blob = await get_input_blob(store, run.id)
                if blob is not None:
                    return blob, f"stored analysis {run.id} ({run.input_name})"
    raise UsageError(_no_baseline(wanted, runs))


# A good run passed the default gate (`--fail-on error`): nothing at error or worse. An
# `unclear` run failed without saying why: it is no baseline.
_GOOD_VERDICTS = frozenset({"ok", "warning"})
_RUNS_LOOKED_AT = 50


def _no_baseline(service: str, runs: list[AnalysisSummary]) -> str:
    """Why no stored run of `service` can be the baseline: what was found, and what to do."""
    if not runs:
        return (
            f"no stored analysis of service {service!r}; analyse a good run with "
            f"`bifrost analyze LOG --service {service} --store-input` first"
        )
    good = [r for r in runs if r.verdict in _GOOD_VERDICTS]
    failed = len(runs) - len(good)
    found = f"{len(runs)} stored run{'s' if len(runs) != 1 else ''} of {service!r}"
    if not good:
        why = f"all {failed} failed" if failed > 1 else "it failed"
    else:
        were = "was" if len(good) == 1 else "were"
        why = f"{len(good)} passed but {were} stored without the input"
        if failed:
            why += f", {failed} failed"
    return (
        f"no baseline among {found}: {why}; analyse a good run with "
        f"`bifrost analyze LOG --service {service} --store-input`"
    )

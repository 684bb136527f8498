"""A failing run against a good one: what is new, gone or changed, and the findings reranked.

The good run (the baseline) is a log file, or a stored analysis kept with its input: by id, or
a service's latest good run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from bifrost.analysis.run import build_report
from bifrost.config import Settings
from bifrost.engine.diff import compare, rerank, section
from bifrost.engine.read import open_sources
from bifrost.engine.score import findings
from bifrost.errors import UsageError, Worded, phrase
from bifrost.i18n import counted
from bifrost.report import Report

if TYPE_CHECKING:
    from bifrost.store.records import AnalysisSummary


@dataclass(frozen=True)
class Comparison:
    """The failing run's Report with its `diff` section, and what reading the baseline said."""

    report: Report
    baseline_warnings: list[str]


def compare_runs(
    baseline: str,
    failing: str,
    settings: Settings,
    *,
    baseline_name: str | None = None,
    failing_name: str | None = None,
    limit: int | None = None,
) -> Comparison:
    """Compare two logs (`failing` may be `-`, stdin). The names, when given, stand for the
    files in the Report (a stored run, an upload, not their temporary files); `limit` caps
    each log's size once decompressed (a server's guard against gzip bombs)."""
    if baseline == "-":
        raise UsageError.said("diff.baseline_stdin")
    started = time.perf_counter()
    baseline_sources, failing_sources = open_sources([baseline]), open_sources([failing])
    for sources, name in ((baseline_sources, baseline_name), (failing_sources, failing_name)):
        sources[0].limit = limit
        sources[0].name = name or sources[0].name
    comparison = compare(
        baseline_sources,
        failing_sources,
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
    warnings = [w for s in comparison.baseline.sources for w in s.warnings]
    return Comparison(report, warnings)


@contextlib.contextmanager
def stored_baseline(wanted: str | None, settings: Settings) -> Iterator[tuple[str, str] | None]:
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
                raise UsageError.said("store.no_analysis", id=wanted)
            blob = await get_input_blob(store, stored.id)
            if blob is None:
                raise UsageError.said("diff.no_input", id=wanted)
            return blob, f"stored analysis {stored.id} ({stored.input_name})"
        runs = await search_analyses(store, HistoryFilter(service=wanted), limit=_RUNS_LOOKED_AT)
        for run in runs:
            if run.verdict in _GOOD_VERDICTS:
                blob = await get_input_blob(store, run.id)
                if blob is not None:
                    return blob, f"stored analysis {run.id} ({run.input_name})"
    raise _no_baseline(wanted, runs)


# A good run passed the default gate (`--fail-on error`): nothing at error or worse. An
# `unclear` run failed without saying why: it is no baseline.
_GOOD_VERDICTS = frozenset({"ok", "warning"})
_RUNS_LOOKED_AT = 50


def _no_baseline(service: str, runs: list[AnalysisSummary]) -> UsageError:
    """Why no stored run of `service` can be the baseline: what was found, and what to do."""
    if not runs:
        return UsageError.said("diff.no_runs", service=repr(service), name=service)
    good = [r for r in runs if r.verdict in _GOOD_VERDICTS]
    failed = len(runs) - len(good)
    if not good:
        why = phrase("diff.all_failed", n=failed) if failed > 1 else phrase("diff.it_failed")
    elif failed:
        why = Worded(partial(counted, len(good), "passed_without_input_and_failed", failed=failed))
    else:
        why = Worded(partial(counted, len(good), "passed_without_input"))
    found = Worded(partial(counted, len(runs), "stored_run", service=repr(service)))
    return UsageError.said("diff.no_baseline", found=found, why=why, name=service)

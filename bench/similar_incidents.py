"""Similar past incidents (`similar` in the Report, `bifrost history similar`): how often they
name the same project's failures, and how long the lookup takes as the history grows.

Retrieval: every logchunks-dev log is analysed into a fresh history; then, for each, the
similar incidents are looked up. A named incident from the same project counts as right (the
set's labels name a project, not a failure kind; a project's logs fail in its own ways, so
"same project" is the closest label there is). Nothing here was tuned on these logs.

Time: the same lookups on a history of N stored analyses (the real ones, stored again under
new content hashes, so that templates repeat as they do in a real history), through the
embedded SQLite path `bifrost analyze` uses.

    python bench/similar_incidents.py --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import common
import labelled
from bifrost.analysis.run import build_report
from bifrost.analysis.similar import similar_incidents
from bifrost.config import Settings
from bifrost.engine.score import findings
from bifrost.report import Report
from bifrost.store import open_store
from bifrost.store.embedded import EmbeddedStore


async def stored_history(folder: Path, reports: list[Report]) -> EmbeddedStore:
    """A migrated embedded history holding `reports`, ids 1…N in order."""
    url = f"sqlite+aiosqlite:///{folder}/history.db"
    async with await open_store(Settings(database_url=url)):
        pass  # creates and migrates the file
    history = EmbeddedStore.open(folder / "history.db")
    assert history is not None
    for report in reports:
        await history.save(report, {})
    return history


def renamed(report: Report, copy: int) -> Report:
    digest = f"{copy:016x}{report.input.sha256[16:]}"
    return report.model_copy(update={"input": report.input.model_copy(update={"sha256": digest})})


async def retrieval(cases: list[labelled.Case], reports: list[Report]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = await stored_history(Path(folder), reports)
        with history:
            answered = right = named = top_right = 0
            for case, report in zip(cases, reports, strict=True):
                found = await similar_incidents(history, report)
                if not found:
                    continue
                answered += 1
                projects = [cases[s.analysis_id - 1].project for s in found]
                named += len(found)
                right += sum(p == case.project for p in projects)
                top_right += projects[0] == case.project
    n = len(cases)
    print(f"{n} logs of logchunks-dev; {answered} ({answered / n:.0%}) name a similar incident")
    first = top_right / max(answered, 1)
    print(f"  the first one from the same project: {top_right} of {answered} ({first:.0%})")
    print(
        f"  all named from the same project:     {right} of {named} ({right / max(named, 1):.0%})"
    )


async def timing(reports: list[Report], size: int) -> None:
    copies = [renamed(reports[i % len(reports)], i) for i in range(size)]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        history = await stored_history(Path(folder), copies)
        stored = time.perf_counter() - started
        with history:
            times = []
            for report in reports[::5]:
                began = time.perf_counter()
                await similar_incidents(history, report)
                times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(
        f"{size:>7,} stored (written in {stored:.0f} s): lookup median "
        f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    cases = labelled.logchunks(args.data)
    scans = labelled.scans(cases)
    reports = [build_report(scans[c.id], findings(scans[c.id]), 5, elapsed=0.0) for c in cases]
    asyncio.run(retrieval(cases, reports))
    for size in (int(s) for s in args.sizes.split(",") if s):
        asyncio.run(timing(reports, size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

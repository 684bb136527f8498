"""Similar past incidents (`similar` in the Report, `bifrost history similar`): how often they
name the same project's failures, and how long the lookup takes as the history grows.

Retrieval: every logchunks-dev log is analysed into a fresh history; then, for each, the
similar incidents are looked up, by templates alone and with meanings (embeddings, the
`[memory]` extra). A named incident from the same project counts as right (the set's labels
name a project, not a failure kind; a project's logs fail in its own ways, so "same project"
is the closest label there is). Then, for meanings alone: at each cosine threshold, how many
logs have a nearest other log at least that alike, and how often it is the same project's;
`MEANING_MIN` was read off that table, on the projects of one half and checked on the other.

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

import numpy as np

import common
import labelled
from bifrost.analysis.run import build_report
from bifrost.analysis.similar import Meaning, meaning_of, similar_incidents
from bifrost.config import Settings
from bifrost.engine.score import findings
from bifrost.report import Report
from bifrost.store import open_store
from bifrost.store.embedded import EmbeddedStore


async def stored_history(
    folder: Path, reports: list[Report], meanings: list[Meaning | None]
) -> EmbeddedStore:
    """A migrated embedded history holding `reports` (with their meanings), ids 1…N in order."""
    url = f"sqlite+aiosqlite:///{folder}/history.db"
    async with await open_store(Settings(database_url=url)):
        pass  # creates and migrates the file
    history = EmbeddedStore.open(folder / "history.db")
    assert history is not None
    for report, meaning in zip(reports, meanings, strict=True):
        stored = {"meaning": meaning.to_bytes(), "meaning_model": meaning.model} if meaning else {}
        await history.save(report, stored)  # type: ignore[arg-type]  # a partial AnalysisMeta
    return history


def renamed(report: Report, copy: int) -> Report:
    digest = f"{copy:016x}{report.input.sha256[16:]}"
    return report.model_copy(update={"input": report.input.model_copy(update={"sha256": digest})})


async def retrieval(
    cases: list[labelled.Case], reports: list[Report], meanings: list[Meaning | None]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = await stored_history(Path(folder), reports, meanings)
        with history:
            answered = right = named = top_right = by_meaning = 0
            for case, report, meaning in zip(cases, reports, meanings, strict=True):
                found = await similar_incidents(history, report, meaning)
                if not found:
                    continue
                answered += 1
                projects = [cases[s.analysis_id - 1].project for s in found]
                named += len(found)
                right += sum(p == case.project for p in projects)
                top_right += projects[0] == case.project
                by_meaning += sum(s.shared == 0 for s in found)
    n = len(cases)
    how = "templates and meanings" if any(meanings) else "templates alone"
    print(f"{how}: {n} logs of logchunks-dev; {answered} ({answered / n:.0%}) name one")
    if any(meanings):
        print(f"  named by meaning alone (no template shared): {by_meaning}")
    first = top_right / max(answered, 1)
    print(f"  the first one from the same project: {top_right} of {answered} ({first:.0%})")
    print(
        f"  all named from the same project:     {right} of {named} ({right / max(named, 1):.0%})"
    )


def thresholds(cases: list[labelled.Case], meanings: list[Meaning | None]) -> None:
    """For meanings alone: each log's nearest other log, and how often it is the same
    project's, at each cosine threshold; on each half of the projects apart."""
    kept = [(c, m) for c, m in zip(cases, meanings, strict=True) if m is not None]
    matrix = np.stack([m.vector for _, m in kept])
    cosines = matrix @ matrix.T
    np.fill_diagonal(cosines, -1.0)
    nearest = cosines.argmax(axis=1)
    projects = sorted({c.project for c, _ in kept})
    halves = {"first half": set(projects[::2]), "second half": set(projects[1::2])}
    print("nearest other log by meaning: logs with one at least this alike, same project")
    for threshold in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        cells = []
        for name, half in halves.items():
            rows = [
                i
                for i, (case, _) in enumerate(kept)
                if case.project in half and cosines[i, nearest[i]] >= threshold
            ]
            same = sum(kept[nearest[i]][0].project == kept[i][0].project for i in rows)
            cells.append(f"{name} {len(rows):>3} logs, {same / max(len(rows), 1):.0%} same")
        print(f"  >= {threshold:.2f}: " + " · ".join(cells))


async def timing(reports: list[Report], meanings: list[Meaning | None], size: int) -> None:
    copies = [renamed(reports[i % len(reports)], i) for i in range(size)]
    copied = [meanings[i % len(meanings)] for i in range(size)]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        history = await stored_history(Path(folder), copies, copied)
        stored = time.perf_counter() - started
        with history:
            times = []
            for report, meaning in list(zip(reports, meanings, strict=True))[::5]:
                began = time.perf_counter()
                await similar_incidents(history, report, meaning)
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
    none: list[Meaning | None] = [None] * len(reports)
    asyncio.run(retrieval(cases, reports, none))
    meanings = [meaning_of(r, Settings()) for r in reports]
    if any(meanings):
        asyncio.run(retrieval(cases, reports, meanings))
        thresholds(cases, meanings)
    else:
        print("meanings: not measured (install the [memory] extra)")
    for size in (int(s) for s in args.sizes.split(",") if s):
        asyncio.run(timing(reports, meanings, size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

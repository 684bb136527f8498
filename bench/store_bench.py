"""Memory-layer figures: a cached repeat against a first analysis, and a streamed export.

1. Analyses a 100,000-line Loghub mix twice through the analysis use case
   (`analyze_and_store`) with a fresh SQLite history: the first run mines and stores, the
   repeat is answered from the cache. Also times both runs through the `bifrost` command,
   start-up included.
2. Fills a history with N analyses (default 100,000) and exports them with
   `bifrost export`, reporting wall time and peak RSS (memory must stay bounded).

Prints figures; asserts nothing. Run from the repository root: `python bench/store_bench.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import common
from bifrost.analysis import Memory, analyze_and_store
from bifrost.config import Settings
from bifrost.store import open_store, save_analysis
from bifrost.store.models import Analysis
from make_mix import write_mix


async def _create(settings: Settings) -> None:
    """Create and migrate the database, so that the first run times the analysis alone."""
    async with await open_store(settings):
        pass


def cached_repeat(cmd: common.Command, log: Path, tmp: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp / 'use-case.db'}")
    asyncio.run(_create(settings))
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        outcome = asyncio.run(analyze_and_store([str(log)], settings, Memory()))
        runs.append((time.perf_counter() - started, outcome.cached))
    (first, _), (again, cached) = runs
    print(
        f"use case   first {first:6.3f} s   repeat {again:6.3f} s (cached={cached})   "
        f"{first / again:5.1f}x faster"
    )
    env = common.Command(
        cmd.argv, {**cmd.env, "BIFROST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}"}
    )
    walls = [
        common.run_measured(env, ["analyze", str(log), "-f", "json"], capture_stdout=False).wall_s
        for _ in range(2)
    ]
    print(
        f"command    first {walls[0]:6.3f} s   repeat {walls[1]:6.3f} s             "
        f"{walls[0] / walls[1]:5.1f}x faster (interpreter start-up included)"
    )


async def fill(url: str, rows: int, log: Path) -> None:
    """Store one real analysis, then double the table with INSERT … SELECT up to `rows`."""
    settings = Settings(database_url=url)
    report = (await analyze_and_store([str(log)], settings, Memory(store=False))).report
    async with await open_store(settings) as store:
        await save_analysis(store, report, service="svc-0", tags=["t0"])
        table = Analysis.__table__
        columns = ", ".join(c.name for c in table.columns if c.name != "id")
        count = 1
        while count < rows:
            async with store.write() as connection:
                await connection.exec_driver_sql(
                    f"INSERT INTO analyses ({columns}) SELECT {columns} FROM analyses "
                    f"ORDER BY id LIMIT {min(count, rows - count)}"
                )
            count += min(count, rows - count)


def export_memory(cmd: common.Command, rows: int, log: Path, tmp: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp / 'export.db'}"
    started = time.perf_counter()
    asyncio.run(fill(url, rows, log))
    print(f"filled     {rows:,} analyses in {time.perf_counter() - started:.1f} s")
    env = common.Command(cmd.argv, {**cmd.env, "BIFROST_DATABASE_URL": url})
    for fmt in ("csv", "jsonl"):
        result = common.run_measured(env, ["export", "-f", fmt])
        lines = result.stdout.count(b"\n")
        print(
            f"export     {fmt:5}  {lines:,} lines  {result.wall_s:6.2f} s  "
            f"peak RSS {result.max_rss_mb:6.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_args(parser)
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the log")
    parser.add_argument("--rows", type=int, default=100_000, help="analyses to export")
    args = parser.parse_args()
    cmd = common.bifrost_command(args.bifrost)
    with tempfile.TemporaryDirectory(prefix="bifrost-store-bench-") as name:
        tmp = Path(name)
        log = tmp / "mix.log"
        write_mix(args.data, log, args.lines, seed=0)
        cached_repeat(cmd, log, tmp)
        export_memory(cmd, args.rows, tmp / "mix.log", tmp)


if __name__ == "__main__":
    main()

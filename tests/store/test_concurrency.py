"""Two processes storing into the same embedded SQLite at once lose nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bifrost.cache.database import cache_stats
from bifrost.store import Store
from bifrost.store.models import Analysis, FindingRow

from .helpers import LOGS, ROOT, report, with_store

PER_PROCESS = 50

# Each writer waits for the start signal, then opens the store (both migrate a fresh file at
# the same moment) and saves and caches its analyses, one transaction each.
WRITER = """
import asyncio, hashlib, os, sys
from bifrost.analysis import analyze
from bifrost.config import load_settings
from bifrost.cache.database import cache_get, cache_put
from bifrost.store import open_store, save_analysis

url, name, go, log, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
report = analyze([log], load_settings())

async def main():
    while not os.path.exists(go):
        await asyncio.sleep(0.005)
    async with await open_store(load_settings(database_url=url)) as store:
        for i in range(count):
            analysis_id = await save_analysis(store, report, service=name, tags=[str(i)])
            key = hashlib.sha256(f"{name}-{i}".encode()).hexdigest()
            await cache_get(store, key)
            await cache_put(store, key, report, analysis_id, 600)

asyncio.run(main())
"""


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                url,
                name,
                str(go),
                str(LOGS["trainer"]),
                str(PER_PROCESS),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    time.sleep(1.0)  # both are importing and analysing; then start them together
    go.touch()
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors

    async def body(store: Store) -> None:
        async with store.read() as connection:
            per_service = dict(
                (
                    await connection.execute(
                        select(Analysis.service, func.count()).group_by(Analysis.service)
                    )
                ).all()
            )
            findings = await connection.scalar(select(func.count()).select_from(FindingRow))
            assert await connection.scalar(text("PRAGMA integrity_check")) == "ok"
        assert per_service == {"one": PER_PROCESS, "two": PER_PROCESS}
        assert findings == 2 * PER_PROCESS * len(report("trainer").findings)
        stats = await cache_stats(store)
        assert (stats.entries, stats.misses, stats.hits) == (2 * PER_PROCESS, 2 * PER_PROCESS, 0)

    with_store(url, body)

"""What a tenant's quotas cost: `usage()` (analyses today, LLM tokens this month, bytes kept),
which the API reads before each analysis of a tenant with limits, on a history where that
tenant has N stored analyses beside another tenant's N, on SQLite and PostgreSQL.

    python bench/tenant_usage.py --sizes 10000,100000 --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

With `--postgres`, each size runs in a database of its own, made on that server and dropped,
and is timed after `VACUUM ANALYZE` (as autovacuum leaves a table at rest: right after a bulk
insert, PostgreSQL's index-only scans still visit the table).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

import common
from bifrost.analysis import analyze
from bifrost.analysis.tenants import create_tenant, usage
from bifrost.config import Settings, load_settings
from bifrost.store import Store, open_store, upgrade
from bifrost.store.models import Analysis
from bifrost.store.records import analysis_row

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT / "tests/data/logs/maven-compile.log"  # a 4.5 KB Report, as a CI build gives
BATCH = 5000
ROUNDS = 20


async def _fill(store: Store, size: int) -> Store:
    """Two tenants with `size` analyses each, spread over 60 days; the first one's store."""
    report = analyze([str(SAMPLE)], load_settings())
    now = datetime.now(UTC)
    stores = [store.for_tenant((await create_tenant(store, name)).id) for name in ("a", "b")]
    for own in stores:
        for start in range(0, size, BATCH):
            rows = [
                analysis_row(
                    report,
                    {
                        "created_at": now - timedelta(minutes=i * 60 * 24 * 60 // size),
                        "prompt_tokens": 1000,
                        "completion_tokens": 200,
                    },
                )
                | {"tenant_id": own.tenant}
                for i in range(start, min(start + BATCH, size))
            ]
            async with own.write() as connection:
                await connection.execute(insert(Analysis), rows)
    return stores[0]


async def _time(url: str, size: int) -> list[float]:
    await upgrade(url)
    async with await open_store(Settings(database_url=url)) as store:
        mine = await _fill(store, size)
        if store.dialect == "postgresql":  # the table at rest, as autovacuum leaves it
            async with store.engine.connect() as connection:
                rested = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await rested.execute(text("VACUUM ANALYZE analyses"))
        await usage(mine)  # warm
        took = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await usage(mine)
            took.append((time.perf_counter() - started) * 1000)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL server's URL (a database per size)"
    )
    args = parser.parse_args()
    print(f"usage() of one tenant, {ROUNDS} rounds, milliseconds")
    print(f"{'database':<12}{'analyses':>10}{'median':>10}{'p95':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        for name, server in (("sqlite", None), ("postgresql", args.postgres)):
            if name == "postgresql" and server is None:
                continue
            with (
                tempfile.TemporaryDirectory() as folder,
                common.fresh_database(server, folder) as url,
            ):
                took = sorted(asyncio.run(_time(url, size)))
                p95 = took[int(len(took) * 0.95) - 1]
                print(f"{name:<12}{size:>10,}{statistics.median(took):>10.1f}{p95:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

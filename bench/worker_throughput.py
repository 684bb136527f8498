"""Throughput and latency of queued analyses: `bifrost serve --queue` and `bifrost worker`.

Cuts `--logs` logs of 10k–100k lines (sizes drawn at random, seeded) from a Loghub mix
(`make_mix.py`), each from its own offset so that none is answered from the cache, and gzips
them as a CI uploader would. For each worker set-up (1 process; 2 processes; 1 process with
`-c 2`): starts a fresh history (SQLite, or `--database`), the API with `--queue` and the
workers on streams or topics of their own, waits until the workers are ready (`/readyz`),
POSTs every log with `?wait=false` and times until the last job is done (jobs/s). With
`--postgres SERVER_URL` each set-up gets a database of its own on that server. Meanwhile
another client asks the API's `/healthz` every 20 ms: its p50 and p99 are printed. Then,
with idle workers, the latency of one 10k-line analysis through the API with `wait=true`
(upload, queue, analysis, answer; median of `--rounds`). Figures only; nothing is asserted.

    python bench/worker_throughput.py --bifrost .venv/bin/bifrost --logs 200
    python bench/worker_throughput.py --broker kafka://127.0.0.1:9092 …   # a running Kafka
    python bench/worker_throughput.py --postgres postgresql+asyncpg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import common
import make_mix

SETUPS = {"1 process": (1, 1), "2 processes": (2, 1), "1 process, -c 2": (1, 2)}
"""A set-up's name: (worker processes, requests each analyses at once)."""


def cut_logs(mix: Path, count: int, seed: int) -> list[bytes]:
    lines = mix.read_bytes().splitlines(keepends=True)
    chance = random.Random(seed)
    logs = []
    for _ in range(count):
        size = chance.randint(10_000, 100_000)
        start = chance.randrange(0, len(lines) - size)
        logs.append(gzip.compress(b"".join(lines[start : start + size]), 6))
    return logs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def stack(
    cmd: common.Command, broker: str, postgres: str | None, workers: int, concurrency: int
) -> Iterator[tuple[str, list[str], str]]:
    """The API and the workers on a fresh history: (API URL, worker health URLs, database)."""
    with (
        tempfile.TemporaryDirectory() as folder,
        common.fresh_database(postgres, folder) as database,
    ):
        env = {**os.environ, **cmd.env}
        env["BIFROST_DATABASE_URL"] = database
        env["BIFROST_CONFIG"] = str(Path(folder) / "none.toml")
        env["BIFROST_QUEUE_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}."
        env["BIFROST_ENGINE_PROCESSES"] = "0"  # the API analyses nothing itself
        (Path(folder) / "none.toml").write_text("", encoding="utf-8")
        subprocess.run([*cmd.argv, "db", "upgrade"], env=env, check=True, capture_output=True)
        api_port = free_port()
        serve = [*cmd.argv, "serve", "--port", str(api_port), "--queue", broker]
        processes = [subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL)]
        health = []
        prefix = env["BIFROST_QUEUE_PREFIX"]
        for i in range(workers):
            port = free_port()
            health.append(f"http://127.0.0.1:{port}")
            command = [*cmd.argv, "worker", "--broker", broker, "--prefix", prefix]
            command += ["--name", f"w{i}", "-c", str(concurrency), "--port", str(port)]
            processes.append(
                subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        try:
            yield f"http://127.0.0.1:{api_port}", health, env["BIFROST_DATABASE_URL"]
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()


async def until_ready(urls: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        for url in urls:
            deadline = time.perf_counter() + 120
            while True:
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() > deadline:
                    raise SystemExit(f"error: {url} never ready")
                await asyncio.sleep(0.1)


async def watch_health(api: str, stop: asyncio.Event) -> list[float]:
    """/healthz every 20 ms until `stop`: each answer's time, in seconds."""
    times = []
    async with httpx.AsyncClient(base_url=api) as client:
        while not stop.is_set():
            started = time.perf_counter()
            (await client.get("/healthz")).raise_for_status()
            times.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return times


async def finished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        query = text("SELECT count(*) FROM jobs WHERE status IN ('done', 'failed')")
        return int((await connection.execute(query)).scalar_one())


async def throughput(api: str, database: str, logs: list[bytes]) -> tuple[float, list[float]]:
    stop = asyncio.Event()
    health = asyncio.create_task(watch_health(api, stop))
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=api, timeout=120) as client:
        for i, log in enumerate(logs):
            params = {"wait": "false", "request_id": f"r{i}", "name": f"build-{i}.log"}
            answer = await client.post("/api/v1/analyses", params=params, content=log)
            if answer.status_code != 202:
                raise SystemExit(f"error: {answer.status_code} {answer.text[:200]}")
    engine = create_async_engine(database)
    try:
        while await finished(engine) < len(logs):
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    elapsed = time.perf_counter() - started
    stop.set()
    return len(logs) / elapsed, await health


async def latency(api: str, log: bytes, rounds: int) -> list[float]:
    times = []
    plain = gzip.decompress(log)
    short = b"".join(plain.splitlines(keepends=True)[:10_000])
    async with httpx.AsyncClient(base_url=api, timeout=120) as client:
        for i in range(rounds):
            body = f"round {i}\n".encode() + short  # not answered from the cache
            started = time.perf_counter()
            answer = await client.post("/api/v1/analyses", content=body)
            if answer.status_code != 201:
                raise SystemExit(f"error: {answer.status_code} {answer.text[:200]}")
            times.append(time.perf_counter() - started)
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--logs", type=int, default=200, help="logs per run (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds (default 5)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="the broker")
    parser.add_argument(
        "--postgres", help="a PostgreSQL server's URL for the histories (default: SQLite)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cmd = common.bifrost_command(args.bifrost)
    with tempfile.TemporaryDirectory() as folder:
        mix = Path(folder) / "mix.log"
        make_mix.write_mix(args.data, mix, 1_000_000, args.seed)
        logs = cut_logs(mix, args.logs, args.seed)
    lines = sum(gzip.decompress(log).count(b"\n") for log in logs)
    print(f"{len(logs)} logs, {lines:,} lines in all; broker {args.broker}")
    rates = {}
    for name, (workers, concurrency) in SETUPS.items():
        with stack(cmd, args.broker, args.postgres, workers, concurrency) as (api, health, db):
            asyncio.run(until_ready([api, *health]))
            rates[name], waits = asyncio.run(throughput(api, db, logs))
            if name == "1 process":
                times = asyncio.run(latency(api, logs[0], args.rounds))
        speedup = rates[name] / rates["1 process"]
        print(
            f"{name}: {rates[name]:.2f} jobs/s ({speedup:.2f}×); API /healthz meanwhile: "
            f"p50 {percentile(waits, 0.5) * 1000:.1f} ms, p99 {percentile(waits, 0.99) * 1000:.1f}"
            f" ms ({len(waits)} probes)"
        )
    print(
        f"latency of one 10k-line analysis through the API (wait=true), idle worker: median "
        f"{statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f} ms, "
        f"{args.rounds} rounds)"
    )
    print(f"machine: {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

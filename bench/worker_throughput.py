"""Throughput and latency of `bifrost worker` on Redis Streams, with 1 and then 2 workers.

Cuts `--logs` logs of 10k–50k lines (sizes drawn at random, seeded) from a Loghub mix
(`make_mix.py`), each from its own offset so that no two are the same and none is answered
from the cache. For each worker count: starts that many `bifrost worker` processes on
streams of their own (a fresh SQLite history each), publishes every log as a
`bifrost.request/v1` message at once, and times until the last result (jobs/s). Then, with
one idle worker, the latency of one 10k-line request, enqueue to result (median of
`--rounds`). Figures only; nothing is asserted. Logs are sent inline, so 50k lines is the
largest size (the contract's inline limit is 8 MiB).

    python bench/worker_throughput.py --bifrost .venv/bin/bifrost --logs 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import ResponseError

import common
import make_mix

GROUP = "bifrost-workers"
DATA = "__data__"


def cut_logs(mix: Path, count: int, seed: int) -> list[str]:
    lines = mix.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    chance = random.Random(seed)
    logs = []
    for _ in range(count):
        size = chance.randint(10_000, 50_000)
        start = chance.randrange(0, len(lines) - size)
        logs.append("".join(lines[start : start + size]))
    return logs


def request(request_id: str, log: str) -> bytes:
    body = {"schema": "bifrost.request/v1", "request_id": request_id, "source": "bench"}
    return json.dumps({**body, "log": log}).encode()


def start_workers(
    cmd: common.Command, count: int, redis_url: str, prefix: str, folder: Path
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, **cmd.env}
    env["BIFROST_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'history.db'}"
    env["BIFROST_CONFIG"] = str(folder / "none.toml")
    (folder / "none.toml").write_text("", encoding="utf-8")
    subprocess.run([*cmd.argv, "db", "upgrade"], env=env, check=True, capture_output=True)
    return [
        subprocess.Popen(
            [*cmd.argv, "worker", "--broker", redis_url, "--prefix", prefix, "--name", f"w{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


async def wait_results(client: Redis, stream: str, count: int, timeout_s: float) -> float:
    deadline = time.perf_counter() + timeout_s
    while await client.xlen(stream) < count:
        if time.perf_counter() > deadline:
            raise SystemExit(f"error: only {await client.xlen(stream)} of {count} results")
        await asyncio.sleep(0.02)
    return time.perf_counter()


async def ready(client: Redis, stream: str) -> None:
    """Wait until the workers have made their consumer group, then a moment for each to
    start reading (a consumer shows in the group only once it has read a request)."""
    while True:
        try:
            if await client.xinfo_groups(stream):
                break
        except ResponseError:  # no stream yet
            pass
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)


async def throughput(cmd: common.Command, redis_url: str, logs: list[str], workers: int) -> float:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    client = Redis.from_url(redis_url)
    with tempfile.TemporaryDirectory() as folder:
        processes = start_workers(cmd, workers, redis_url, prefix, Path(folder))
        try:
            await ready(client, f"{prefix}bifrost.requests")
            started = time.perf_counter()
            for i, log in enumerate(logs):
                await client.xadd(f"{prefix}bifrost.requests", {DATA: request(f"r{i}", log)})
            done = await wait_results(client, f"{prefix}bifrost.results", len(logs), 3600)
            return len(logs) / (done - started)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()
            for name in ("requests", "results", "dead-letters"):
                await client.delete(f"{prefix}bifrost.{name}")
            await client.aclose()


async def latency(cmd: common.Command, redis_url: str, log: str, rounds: int) -> list[float]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    client = Redis.from_url(redis_url)
    with tempfile.TemporaryDirectory() as folder:
        (process,) = start_workers(cmd, 1, redis_url, prefix, Path(folder))
        try:
            await ready(client, f"{prefix}bifrost.requests")
            times = []
            for i in range(rounds):
                varied = f"round {i}\n{log}"  # not answered from the cache
                started = time.perf_counter()
                await client.xadd(f"{prefix}bifrost.requests", {DATA: request(f"l{i}", varied)})
                done = await wait_results(client, f"{prefix}bifrost.results", i + 1, 120)
                times.append(done - started)
            return times
        finally:
            process.terminate()
            process.wait()
            for name in ("requests", "results", "dead-letters"):
                await client.delete(f"{prefix}bifrost.{name}")
            await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--logs", type=int, default=200, help="logs per run (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds (default 5)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="the broker")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cmd = common.bifrost_command(args.bifrost)
    with tempfile.TemporaryDirectory() as folder:
        mix = Path(folder) / "mix.log"
        make_mix.write_mix(args.data, mix, 1_000_000, args.seed)
        logs = cut_logs(mix, args.logs, args.seed)
    lines = sum(log.count("\n") for log in logs)
    print(f"{len(logs)} logs, {lines:,} lines in all; broker {args.redis}")
    rates = {}
    for workers in (1, 2):
        rates[workers] = asyncio.run(throughput(cmd, args.redis, logs, workers))
        speedup = rates[workers] / rates[1]
        print(f"{workers} worker(s): {rates[workers]:.2f} jobs/s ({speedup:.2f}×)")
    times = asyncio.run(latency(cmd, args.redis, logs[0][: len(logs[0]) // 5], args.rounds))
    print(
        f"latency of one request, enqueue to result, idle worker: median "
        f"{statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f} ms, "
        f"{args.rounds} rounds)"
    )
    print(f"machine: {os.cpu_count()} CPUs; workers are separate processes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

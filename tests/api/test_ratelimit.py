"""The per-key rate limiter: the in-process bucket on a fake clock, the Redis one for real.

The Redis tests use database 15 on 127.0.0.1:6379; in CI (`CI=true`) a Redis that cannot be
reached fails them, elsewhere they skip. Each uses its own bucket key and deletes it afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from bifrost.api.ratelimit import (
    Decision,
    Limiter,
    MemoryLimiter,
    RedisLimiter,
    make_limiter,
)
from bifrost.errors import ServiceError, UsageError
from bifrost.times import Rate

PREFIX = "bifrost:rate:"


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hits(limiter: Limiter, key: str, rate: Rate, n: int) -> list[Decision]:
    """`n` requests one after the other, in a fresh event loop."""

    async def scenario() -> list[Decision]:
        return [await limiter.hit(key, rate) for _ in range(n)]

    return asyncio.run(scenario())


# Rate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("600/hour", Rate(600, 3600)),
        ("10/second", Rate(10, 1)),
        (" 5 / Minutes ", Rate(5, 60)),
        ("1000/day", Rate(1000, 86400)),
    ],
)
def test_rate_parse_reads_the_units(text: str, expected: Rate) -> None:
    assert Rate.parse(text) == expected


@pytest.mark.parametrize("text", ["0/minute", "-1/hour", "ten/minute", "5/fortnight", "5", ""])
def test_rate_parse_refuses_nonsense(text: str) -> None:
    with pytest.raises(UsageError, match="N/second"):
        Rate.parse(text)


@pytest.mark.parametrize("text", ["600/hour", "10/second", "5/minute", "1000/day"])
def test_rate_str_round_trips(text: str) -> None:
    assert str(Rate.parse(text)) == text
    assert Rate.parse(str(Rate.parse(text))) == Rate.parse(text)


def test_str_is_canonical() -> None:
    assert str(Rate.parse(" 600 / Hours ")) == "600/hour"


# MemoryLimiter ------------------------------------------------------------------------------


def test_memory_allows_exactly_the_limit_then_refuses() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock=clock)
    decisions = hits(limiter, "alice", Rate.parse("3/minute"), 5)
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert [d.limit for d in decisions] == [3] * 5
    assert [d.retry_after_s for d in decisions[:3]] == [0.0, 0.0, 0.0]
    assert decisions[3].retry_after_s == pytest.approx(20.0)
    assert [d.reset_s for d in decisions] == pytest.approx([20.0, 40.0, 60.0, 60.0, 60.0])


def test_memory_refills_one_token_per_period_over_limit() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock=clock)
    rate = Rate.parse("3/minute")
    hits(limiter, "alice", rate, 3)
    clock.now += 19.0
    early = hits(limiter, "alice", rate, 1)[0]
    assert not early.allowed
    assert early.retry_after_s == pytest.approx(1.0)  # a refusal took nothing
    clock.now += 1.0
    assert [d.allowed for d in hits(limiter, "alice", rate, 2)] == [True, False]


def test_memory_refill_stops_at_the_limit() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock=clock)
    rate = Rate.parse("3/minute")
    hits(limiter, "alice", rate, 3)
    clock.now += 3600.0
    decisions = hits(limiter, "alice", rate, 4)
    assert [d.allowed for d in decisions] == [True, True, True, False]


def test_memory_keys_are_independent() -> None:
    limiter = MemoryLimiter(clock=FakeClock())
    rate = Rate.parse("3/minute")
    hits(limiter, "alice", rate, 3)
    assert not hits(limiter, "alice", rate, 1)[0].allowed
    bob = hits(limiter, "bob", rate, 1)[0]
    assert bob.allowed
    assert bob.remaining == 2


def test_memory_is_exact_under_concurrent_requests() -> None:
    limiter = MemoryLimiter(clock=FakeClock())
    rate = Rate.parse("3/minute")

    async def scenario() -> list[Decision]:
        return list(await asyncio.gather(*(limiter.hit("alice", rate) for _ in range(10))))

    assert sum(d.allowed for d in asyncio.run(scenario())) == 3


def test_a_hand_built_empty_rate_is_refused() -> None:
    with pytest.raises(UsageError, match="at least 1 request"):
        hits(MemoryLimiter(), "alice", Rate(0, 60), 1)


# Decision.headers ---------------------------------------------------------------------------


def test_headers_when_allowed_have_no_retry_after() -> None:
    first = hits(MemoryLimiter(clock=FakeClock()), "alice", Rate.parse("3/minute"), 1)[0]
    assert first.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "20",
    }


def test_headers_when_refused_round_up() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(clock=clock)
    rate = Rate.parse("3/minute")
    hits(limiter, "alice", rate, 3)
    clock.now += 0.5
    refused = hits(limiter, "alice", rate, 1)[0]
    assert refused.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "60",  # 59.5 s, rounded up
        "Retry-After": "20",  # 19.5 s, rounded up
    }


def test_headers_round_up_but_ignore_float_noise() -> None:
    assert Decision(False, 5, 0, 0.2, 0.2).headers()["Retry-After"] == "1"
    assert Decision(False, 5, 0, 0.0, 0.0).headers()["Retry-After"] == "1"  # never 0
    noisy = Decision(False, 3, 0, 60.00000000000001, 20.000000000000004).headers()
    assert (noisy["RateLimit-Reset"], noisy["Retry-After"]) == ("60", "20")
    assert Decision(True, 5, 5, 0.0, 0.0).headers()["RateLimit-Reset"] == "0"
    assert Decision(True, 5, 4, 0.01, 0.0).headers()["RateLimit-Reset"] == "1"


# MemoryLimiter memory bound -----------------------------------------------------------------


def test_memory_never_holds_more_than_max_keys() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(max_keys=100, clock=clock)
    rate = Rate.parse("1/hour")
    for n in range(1000):
        hits(limiter, f"client-{n}", rate, 1)
        assert len(limiter) <= 100
        clock.now += 0.01
    # The most recent keys kept their buckets: still limited.
    assert not hits(limiter, "client-999", rate, 1)[0].allowed


def test_memory_at_the_cap_drops_full_buckets_first() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(max_keys=10, clock=clock)
    slow, fast = Rate.parse("1/hour"), Rate.parse("1/second")
    for n in range(5):
        hits(limiter, f"slow-{n}", slow, 1)  # used first: the oldest, but far from full
    for n in range(5):
        hits(limiter, f"fast-{n}", fast, 1)  # used last, but full again within a second
    clock.now += 2.0
    hits(limiter, "newcomer", slow, 1)
    assert len(limiter) == 6  # the five full buckets went, nothing else
    assert not any(d.allowed for n in range(5) for d in hits(limiter, f"slow-{n}", slow, 1))


def test_memory_at_the_cap_drops_the_least_recently_used() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(max_keys=10, clock=clock)
    rate = Rate.parse("1/hour")
    for n in range(10):
        hits(limiter, f"client-{n}", rate, 1)
    hits(limiter, "client-0", rate, 1)  # refused, but recently seen: now the newest
    hits(limiter, "newcomer", rate, 1)
    assert len(limiter) == 10
    assert hits(limiter, "client-1", rate, 1)[0].allowed  # evicted: it starts over
    assert not hits(limiter, "client-0", rate, 1)[0].allowed  # kept


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        MemoryLimiter(max_keys=0)


# make_limiter -------------------------------------------------------------------------------


def test_make_limiter_without_a_url_is_in_memory() -> None:
    assert isinstance(make_limiter(None), MemoryLimiter)


def test_make_limiter_with_a_url_is_redis() -> None:
    limiter = make_limiter("redis://127.0.0.1:6379/15")
    assert isinstance(limiter, RedisLimiter)
    asyncio.run(limiter.aclose())


# RedisLimiter -------------------------------------------------------------------------------


@pytest.fixture
def bucket(redis_url: str) -> Iterator[str]:
    """A bucket key no other test uses; its hash is deleted afterwards."""
    key = f"test-{uuid.uuid4().hex}"
    yield key
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(PREFIX + key)
    finally:
        client.close()


def test_redis_allows_exactly_the_limit_then_refuses(redis_url: str, bucket: str) -> None:
    decisions = redis_hits(redis_url, bucket, Rate.parse("3/hour"), 5)
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert decisions[0].reset_s == pytest.approx(1200.0, abs=1.0)
    assert decisions[3].retry_after_s == pytest.approx(1200.0, abs=1.0)
    assert decisions[3].headers()["Retry-After"] in {"1200", "1199"}


def redis_hits(url: str, key: str, rate: Rate, n: int) -> list[Decision]:
    """`n` requests through a RedisLimiter of its own, closed afterwards."""

    async def scenario() -> list[Decision]:
        limiter = RedisLimiter(url)
        try:
            return [await limiter.hit(key, rate) for _ in range(n)]
        finally:
            await limiter.aclose()

    return asyncio.run(scenario())


def test_redis_buckets_expire_when_idle(redis_url: str, bucket: str) -> None:
    redis_hits(redis_url, bucket, Rate.parse("10/minute"), 1)
    client = redis.Redis.from_url(redis_url)
    try:
        ttl, fields = client.ttl(PREFIX + bucket), client.hgetall(PREFIX + bucket)
    finally:
        client.close()
    assert isinstance(ttl, int)
    assert 0 < ttl <= 60  # gone after a period idle, when it would be full anyway
    assert isinstance(fields, dict)
    assert set(fields) == {b"tokens", b"ts"}


def test_redis_keys_are_independent(redis_url: str, bucket: str) -> None:
    other = f"{bucket}-other"

    async def scenario() -> tuple[Decision, Decision]:
        limiter = RedisLimiter(redis_url)
        try:
            rate = Rate.parse("1/hour")
            await limiter.hit(bucket, rate)
            return await limiter.hit(bucket, rate), await limiter.hit(other, rate)
        finally:
            await limiter.aclose()

    try:
        same, different = asyncio.run(scenario())
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(PREFIX + other)
        client.close()
    assert not same.allowed
    assert different.allowed


def test_two_limiters_share_one_bucket(redis_url: str, bucket: str) -> None:
    async def scenario() -> list[Decision]:
        first, second = RedisLimiter(redis_url), RedisLimiter(redis_url)
        rate = Rate.parse("10/hour")
        try:
            return list(
                await asyncio.gather(
                    *(limiter.hit(bucket, rate) for _ in range(10) for limiter in (first, second))
                )
            )
        finally:
            await first.aclose()
            await second.aclose()

    assert sum(d.allowed for d in asyncio.run(scenario())) == 10


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from bifrost.api.ratelimit import RedisLimiter
    from bifrost.times import Rate

    async def main() -> int:
        limiter = RedisLimiter(sys.argv[1])
        try:
            return sum([(await limiter.hit(sys.argv[2], Rate(10, 3600))).allowed
                        for _ in range(10)])
        finally:
            await limiter.aclose()

    print(asyncio.run(main()))
    """
)


def test_two_processes_share_one_bucket(redis_url: str, bucket: str) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, redis_url, bucket],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    allowed = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        allowed.append(int(out))
    assert sum(allowed) == 10


def test_redis_refills_over_time(redis_url: str, bucket: str) -> None:
    async def scenario() -> tuple[list[Decision], Decision]:
        limiter = RedisLimiter(redis_url)
        rate = Rate.parse("5/second")
        try:
            burst = [await limiter.hit(bucket, rate) for _ in range(6)]
            await asyncio.sleep(0.3)  # one token every 0.2 s
            return burst, await limiter.hit(bucket, rate)
        finally:
            await limiter.aclose()

    burst, later = asyncio.run(scenario())
    assert [d.allowed for d in burst] == [True] * 5 + [False]
    assert 0 < burst[5].retry_after_s <= 0.2
    assert later.allowed


def test_an_unreachable_redis_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="cannot reach Redis") as caught:
        redis_hits("redis://:hunter2@127.0.0.1:1/0", "alice", Rate.parse("3/minute"), 1)
    assert "hunter2" not in caught.value.message
    assert "127.0.0.1:1" in caught.value.message


def test_a_silent_redis_fails_fast_instead_of_hanging() -> None:
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        url = f"redis://:hunter2@127.0.0.1:{port}/0"
        started = time.monotonic()
        with pytest.raises(ServiceError, match="cannot reach Redis") as caught:
            redis_hits(url, "alice", Rate.parse("3/minute"), 1)
    assert time.monotonic() - started < 15  # a generous bound: the socket timeout is 2 s
    assert "hunter2" not in caught.value.message

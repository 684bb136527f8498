"""A Redis that cannot be reached is left alone for a while, not waited for on every call."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bifrost.errors import ServiceError
from bifrost.store.redis import RedisConnection


def connections_to(server: socket.socket) -> int:
    """How many connections reached `server` (it never accepted them: they wait in its
    backlog, unanswered, as on a Redis that hangs)."""
    server.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def two_calls(port: int, rest_s: float) -> list[str]:
    """The errors of two calls in a row to a Redis at `port` that never answers."""

    async def scenario() -> list[str]:
        redis = RedisConnection(
            f"redis://127.0.0.1:{port}/0",
            purpose="the test",
            connect_timeout_s=0.5,
            timeout_s=0.5,
            retry_refused=False,
            rest_s=rest_s,
        )
        messages = []
        try:
            for _ in range(2):
                with pytest.raises(ServiceError) as failed:
                    await redis.call("get", "key")
                messages.append(failed.value.message)
        finally:
            await redis.aclose()
        return messages

    return asyncio.run(scenario())


def test_a_redis_that_hangs_is_not_called_again_while_it_rests() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=8) as hung:
        first, second = two_calls(hung.getsockname()[1], rest_s=60)
        assert first.startswith("cannot reach Redis at redis://127.0.0.1:")
        assert "trying it again in 60 s" in second
        assert connections_to(hung) == 1  # the second call never reached it


def test_after_its_rest_a_redis_is_tried_again() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=8) as hung:
        first, second = two_calls(hung.getsockname()[1], rest_s=0)
        assert [message[:18] for message in (first, second)] == ["cannot reach Redis"] * 2
        assert connections_to(hung) == 2

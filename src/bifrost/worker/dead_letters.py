"""The dead letters: list them, and send a request again once what stopped it is fixed (the
database is back, a limit was raised). Used by `bifrost jobs`.

A dead letter names where its request is (`origin`, its entry in the request stream), so the
request is sent again whole, however large, as a new entry; the dead letter is then removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bifrost.errors import UsageError
from bifrost.messages import DeadLetter
from bifrost.store.records import NotFound
from bifrost.worker.service import DATA, Streams


@dataclass(frozen=True)
class Entry:
    """One dead letter and its place in the dead-letter stream."""

    id: str
    letter: DeadLetter

    @property
    def at(self) -> datetime:
        """When it was set aside (a stream entry id starts with its time in milliseconds)."""
        return datetime.fromtimestamp(int(self.id.split("-")[0]) / 1000, UTC)


async def dead_letters(client: Redis, streams: Streams, limit: int = 100) -> list[Entry]:
    """The newest dead letters first, at most `limit`."""
    found = await client.xrevrange(streams.dead_letters, count=limit)
    return [
        Entry(entry.decode(), DeadLetter.model_validate_json(fields[DATA.encode()]))
        for entry, fields in found
    ]


async def send_again(client: Redis, streams: Streams, entry_id: str) -> str:
    """Publish a dead letter's request anew and remove the letter; the new entry's id."""
    found = await client.xrange(streams.dead_letters, min=entry_id, max=entry_id)
    if not found:
        raise NotFound(f"no dead letter {entry_id}; `bifrost jobs dead` lists them")
    letter = DeadLetter.model_validate_json(found[0][1][DATA.encode()])
    if letter.request_id is None:
        raise UsageError(f"dead letter {entry_id} is not a request ({letter.reason}); not sent")
    if letter.origin is None:
        raise UsageError(f"dead letter {entry_id} does not say where its request is; not sent")
    original = await client.xrange(streams.requests, min=letter.origin, max=letter.origin)
    if not original:
        raise NotFound(
            f"the request of dead letter {entry_id} ({letter.origin}) is no longer in "
            f"{streams.requests}; publish it again"
        )
    new_id: bytes = await client.xadd(streams.requests, original[0][1])
    await client.xdel(streams.dead_letters, entry_id)
    return new_id.decode()

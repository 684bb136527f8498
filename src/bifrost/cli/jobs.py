"""`bifrost jobs`: the requests workers could not analyse (the dead letters), and sending one
again once what stopped it is fixed. Redis and the worker package load when a command runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import run, run_async

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bifrost.worker.dead_letters import Entry
    from bifrost.worker.service import Streams

T = TypeVar("T")

app = typer.Typer(
    help="List the requests workers set aside; send one again.\n\nA request a worker "
    "cannot analyse goes to the dead letters, with the reason.",
    no_args_is_help=True,
)

Broker = Annotated[
    str, typer.Option("--broker", metavar="URL", help="The broker: redis://HOST:PORT/DB.")
]
Prefix = Annotated[
    str, typer.Option("--prefix", metavar="TEXT", help="The workers' stream prefix, if any.")
]
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


@app.command("dead")
def dead_command(
    broker: Broker = DEFAULT_BROKER,
    prefix: Prefix = "",
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, max=10_000, help="How many to show.")
    ] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON lines instead.")] = False,
    verbose: Verbose = False,
) -> None:
    """List the dead letters, newest first.

    Each says when, which request, how often it was tried, and why it was set aside.
    """

    def action() -> None:
        from bifrost.worker.dead_letters import dead_letters

        entries = run_async(_with_client(broker, prefix, lambda c, s: dead_letters(c, s, limit)))
        for entry in entries:
            print(json.dumps(_row(entry)) if json_output else _line(entry))
        if not entries and not json_output:
            print("no dead letters", file=sys.stderr)

    run(action, verbose=verbose)


@app.command("retry")
def retry_command(
    entry: Annotated[str, typer.Argument(metavar="ENTRY", hidden=True)],
    broker: Broker = DEFAULT_BROKER,
    prefix: Prefix = "",
    verbose: Verbose = False,
) -> None:
    """Send a dead letter's request again.

    ENTRY is the dead letter's id, as `bifrost jobs dead` lists it. The request is published
    whole as a new entry, and the dead letter is removed.
    """

    def action() -> None:
        from bifrost.worker.dead_letters import send_again

        new = run_async(_with_client(broker, prefix, lambda c, s: send_again(c, s, entry)))
        print(f"sent again as {new}", file=sys.stderr)

    run(action, verbose=verbose)


async def _with_client(url: str, prefix: str, body: Callable[[Redis, Streams], Awaitable[T]]) -> T:
    """`body` with a client of the broker and the streams, and one line if the broker fails."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from bifrost.errors import ServiceError
    from bifrost.worker.service import Streams

    client: Redis = Redis.from_url(url)
    try:
        return await body(client, Streams.prefixed(prefix))
    except RedisError as exc:
        raise ServiceError(f"the broker at {url} failed ({exc}); is it running?") from exc
    finally:
        await client.aclose()


def _row(entry: Entry) -> dict[str, object]:
    letter = entry.letter
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "request_id": letter.request_id,
        "attempts": letter.attempts,
        "reason": letter.reason,
    }


def _line(entry: Entry) -> str:
    letter = entry.letter
    when = entry.at.strftime("%Y-%m-%d %H:%M:%S")
    request = letter.request_id if letter.request_id is not None else "(not a request)"
    tries = f"{letter.attempts} tr{'y' if letter.attempts == 1 else 'ies'}"
    return f"{entry.id}  {when}  {request}  {tries}  {letter.reason}"

"""`bifrost jobs`: the requests workers could not analyse (the dead letters), and sending one
again once what stopped it is fixed. Redis and the worker package load when a command runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_counted, cli_message, run, run_async
from bifrost.cli.worker import DEFAULT_BROKER, BrokerOption, PrefixOption

if TYPE_CHECKING:
    from bifrost.brokers import DeadEntry, Transport

T = TypeVar("T")

app = typer.Typer(
    help="List the requests workers set aside; send one again.\n\nA request a worker "
    "cannot analyse goes to the dead letters, with the reason.",
    no_args_is_help=True,
)


@app.command("dead")
def dead_command(
    broker: BrokerOption = DEFAULT_BROKER,
    prefix: PrefixOption = "",
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
        entries = run_async(_with_broker(broker, prefix, lambda t: t.dead_letters(limit)))
        for entry in entries:
            print(json.dumps(_row(entry)) if json_output else _line(entry))
        if not entries and not json_output:
            print(cli_message("jobs.none"), file=sys.stderr)

    run(action, verbose=verbose)


@app.command("retry")
def retry_command(
    entry: Annotated[str, typer.Argument(metavar="ENTRY", hidden=True)],
    broker: BrokerOption = DEFAULT_BROKER,
    prefix: PrefixOption = "",
    verbose: Verbose = False,
) -> None:
    """Send a dead letter's request again.

    ENTRY is the dead letter's id, as `bifrost jobs dead` lists it. The request is published
    whole as a new message. On Redis the dead letter is removed; a Kafka topic keeps it (a
    request sent twice is still analysed once).
    """

    def action() -> None:
        new = run_async(_with_broker(broker, prefix, lambda t: t.send_again(entry)))
        print(cli_message("jobs.sent_again", id=new), file=sys.stderr)

    run(action, verbose=verbose)


async def _with_broker(url: str, prefix: str, body: Callable[[Transport], Awaitable[T]]) -> T:
    """`body` with the broker's transport, and one line if the broker fails."""
    from bifrost.brokers import Channels, open_transport
    from bifrost.errors import BifrostError, ServiceError

    transport = open_transport(url, Channels.prefixed(prefix))
    try:
        await transport.start()
        return await body(transport)
    except BifrostError:
        raise
    except Exception as exc:  # the broker client's own errors: one line, not a traceback
        raise ServiceError.said("broker.failed", url=url, problem=exc) from exc
    finally:
        with suppress(Exception):
            await transport.close()


def _row(entry: DeadEntry) -> dict[str, object]:
    letter = entry.letter
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "request_id": letter.request_id,
        "attempts": letter.attempts,
        "reason": letter.reason,
    }


def _line(entry: DeadEntry) -> str:
    letter = entry.letter
    when = entry.at.strftime("%Y-%m-%d %H:%M:%S")
    request = letter.request_id
    if request is None:
        request = cli_message("jobs.not_a_request")
    tries = cli_counted(letter.attempts, "try")
    return f"{entry.id}  {when}  {request}  {tries}  {letter.reason}"

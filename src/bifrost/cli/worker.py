"""`bifrost worker`: analyse the requests a message broker brings (the `worker` extra).

FastStream and the store are imported when the worker starts.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import run, run_async
from bifrost.errors import UsageError


def worker_command(
    broker: Annotated[
        str,
        typer.Option(
            "--broker",
            metavar="URL",
            help="The broker: redis://HOST:PORT/DB (Redis Streams).",
        ),
    ] = "redis://127.0.0.1:6379/0",
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="This worker's consumer name (default: host-pid)."
        ),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            metavar="TEXT",
            help="Put before every stream's name, to keep deployments apart (like staging:).",
        ),
    ] = "",
    reclaim_after: Annotated[
        float,
        typer.Option(
            "--reclaim-after",
            metavar="SECONDS",
            min=1,
            help="Take over a request another worker left unacknowledged this long.",
        ),
    ] = 60.0,
    verbose: Verbose = False,
) -> None:
    """Analyse the requests other systems publish on a broker.

    Requests come from the stream bifrost.requests (JSON, schema bifrost.request/v1, in the
    entry's __data__ field); results go to bifrost.results, requests that cannot be analysed
    to bifrost.dead-letters. Stop with Ctrl-C or SIGTERM: the request in hand is finished.
    """

    def action() -> None:
        if importlib.util.find_spec("faststream") is None:  # the optional `worker` extra
            raise UsageError("the worker is not installed; pip install 'bifrost-logs[worker]'")
        if not broker.startswith(("redis://", "rediss://", "unix://")):
            raise UsageError(f"unsupported broker {broker.split('://')[0]!r}; use redis://…")
        consumer = name or f"{socket.gethostname()}-{os.getpid()}"
        run_async(_serve(broker, consumer, prefix, reclaim_after))

    run(action, verbose=verbose)


async def _serve(url: str, consumer: str, prefix: str, reclaim_after: float) -> None:
    import asyncio
    import signal

    from bifrost.analysis import open_cache, warm_up
    from bifrost.config import load_settings
    from bifrost.store import open_store
    from bifrost.store.database import safe_url
    from bifrost.worker.consumer import Context
    from bifrost.worker.service import Streams, make_worker

    settings = load_settings()
    async with await open_store(settings) as store:
        warm_up()
        context = Context(settings, store, open_cache(settings, store))
        streams = Streams.prefixed(prefix)
        worker = make_worker(url, consumer, context, streams=streams, reclaim_after_s=reclaim_after)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        sys.stderr.write(
            f"Bifrost worker {consumer} on {safe_url(url)}: {streams.requests} → "
            f"{streams.results} (dead letters: {streams.dead_letters})\n"
        )
        await worker.run(stop)

"""`bifrost worker`: analyse the requests a message broker brings (the `worker` extra; Kafka
needs the `kafka` extra). FastStream and the store are imported when the worker starts.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import cli_message, run, run_async

if TYPE_CHECKING:
    import asyncio

    from bifrost.brokers import Transport
    from bifrost.worker.service import Worker

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
BrokerOption = Annotated[
    str,
    typer.Option(
        "--broker",
        metavar="URL",
        envvar=["BIFROST_BROKER", "BIFROST_QUEUE_URL"],
        help="The broker: redis://HOST:PORT/DB (Redis Streams) or kafka://HOST:PORT[,HOST:PORT]; "
        "the API's queue (BIFROST_QUEUE_URL) unless BIFROST_BROKER says otherwise.",
    ),
]
PrefixOption = Annotated[
    str,
    typer.Option(
        "--prefix",
        metavar="TEXT",
        envvar="BIFROST_QUEUE_PREFIX",
        help="Put before every stream's or topic's name, to keep deployments apart (staging:).",
    ),
]


def worker_command(
    broker: BrokerOption = DEFAULT_BROKER,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            metavar="N",
            min=1,
            max=64,
            help="Requests analysed at once, each in an engine process of its own.",
        ),
    ] = 1,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="This worker's consumer name (default: host-pid)."
        ),
    ] = None,
    prefix: PrefixOption = "",
    reclaim_after: Annotated[
        float,
        typer.Option(
            "--reclaim-after",
            metavar="SECONDS",
            min=1,
            help="Redis: take over a request left unacknowledged this long (Kafka hands a "
            "dead worker's partitions over by itself).",
        ),
    ] = 60.0,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            metavar="PORT",
            min=1,
            max=65535,
            help="Serve /healthz, /readyz and /metrics on this port.",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The address --port listens on.")
    ] = "127.0.0.1",
    verbose: Verbose = False,
) -> None:
    """Analyse the requests other systems publish on a broker.

    Requests (JSON, schema bifrost.request/v1) come from bifrost.requests; results go to
    bifrost.results, requests that cannot be analysed to bifrost.dead-letters (Redis: streams,
    the JSON in each entry's __data__ field; Kafka: topics, keyed by request id). Stop with
    Ctrl-C or SIGTERM: the requests in hand are finished.
    """

    def action() -> None:
        from bifrost.brokers import Channels, open_transport

        transport = open_transport(broker, Channels.prefixed(prefix), reclaim_after_s=reclaim_after)
        consumer = name or f"{socket.gethostname()}-{os.getpid()}"
        run_async(_serve(transport, consumer, concurrency, host, port))

    run(action, verbose=verbose)


async def _serve(
    transport: Transport, consumer: str, concurrency: int, host: str, port: int | None
) -> None:
    import asyncio
    import signal
    from contextlib import AsyncExitStack

    from bifrost.analysis import open_cache
    from bifrost.analysis.notify import Notifier
    from bifrost.analysis.pool import EnginePool
    from bifrost.config import load_settings
    from bifrost.store import open_store
    from bifrost.store.database import safe_url
    from bifrost.worker.consumer import Context
    from bifrost.worker.service import Worker

    settings = load_settings()
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(await open_store(settings))
        pool = EnginePool(concurrency)
        stack.callback(pool.close)
        notifier = Notifier(settings, store)
        stack.push_async_callback(notifier.aclose)
        context = Context(settings, store, open_cache(settings, store), pool, notifier)
        worker = Worker(transport, context, consumer, concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        tasks = [asyncio.create_task(worker.run(stop))]
        if port is not None:
            tasks.append(asyncio.create_task(_health(worker, host, port, stop)))
        channels = transport.channels
        started = cli_message(
            "worker.started",
            consumer=consumer,
            url=safe_url(transport.url),
            concurrency=concurrency,
            requests=channels.requests,
            results=channels.results,
            dead_letters=channels.dead_letters,
        )
        if port is not None:
            started += cli_message("worker.health", url=f"http://{host}:{port}")
        sys.stderr.write(started + "\n")
        try:
            await asyncio.gather(*tasks)
        finally:
            stop.set()


async def _health(worker: Worker, host: str, port: int, stop: asyncio.Event) -> None:
    import asyncio

    import uvicorn

    from bifrost.worker.health import health_app

    config = uvicorn.Config(health_app(worker), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    # While it serves, uvicorn takes SIGTERM and SIGINT, and raises them again once stopped.
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving

"""Analyses queued for `bifrost worker` (`bifrost serve --queue URL`), not run in the server.

The server keeps the log in the database as a job (gzip) and publishes a request that names
it (`log_reference`), so a log of any size crosses the broker as a few hundred bytes. A
client either gets the job's URL at once (`?wait=false`, 202) or waits: the server watches the
job in the database until a worker finishes it, so any server replica can answer for a job
any worker ran.
"""

from __future__ import annotations

import asyncio

from bifrost.analysis.inputs import Source
from bifrost.analysis.jobs import Job, keep_job
from bifrost.api import metrics
from bifrost.api.errors import ApiError
from bifrost.api.intake import AnalysisOptions
from bifrost.api.logs import log
from bifrost.brokers import Channels, Transport, open_transport
from bifrost.config import Settings
from bifrost.errors import BifrostError
from bifrost.messages import AnalysisRequest, Labels, RequestOptions, dump
from bifrost.store import Store


class Queue:
    """The broker the server publishes requests on; connected on first use, so a broker that
    is down when the server starts is reported by /readyz, not fatal."""

    def __init__(self, settings: Settings) -> None:
        assert settings.queue_url is not None
        self.llm = settings.llm
        self.transport: Transport = open_transport(
            settings.queue_url, Channels.prefixed(settings.queue_prefix)
        )
        self._started = False
        self._starting = asyncio.Lock()

    async def _ready(self) -> Transport:
        async with self._starting:
            if not self._started:
                await self.transport.start()
                self._started = True
        return self.transport

    async def ping(self) -> None:
        await (await self._ready()).ping()

    async def close(self) -> None:
        if self._started:
            await self.transport.close()

    async def submit(self, store: Store, sources: list[Source], options: AnalysisOptions) -> Job:
        """Keep the log as a job and publish its request; a request id that has a job already
        gets that job (a client's retry queues nothing new)."""
        request_options = self._request_options(options)
        name = " + ".join(source.name for source in sources)[:200]
        job, new = await keep_job(store, options.request_id, name, sources)
        if not new:
            return job
        request = AnalysisRequest(
            request_id=job.request_id,
            source=name,
            labels=Labels(service=options.service, env=options.env, tags=options.tag),
            log_reference=job.reference,
            options=request_options,
        )
        try:
            transport = await self._ready()
            await transport.publish(transport.channels.requests, dump(request), job.request_id)
        except BifrostError:
            raise
        except Exception as exc:  # the broker client's own errors
            log.warning("queue unavailable", problem=str(exc).splitlines()[0][:300])
            raise ApiError.said(
                503, "unavailable", "queue.unreachable", headers={"Retry-After": "5"}
            ) from None
        metrics.JOBS_QUEUED.inc()
        return job

    def _request_options(self, options: AnalysisOptions) -> RequestOptions:
        """What a worker can be asked; what it cannot do is refused, not ignored."""
        if not options.store:
            raise ApiError.said(422, "validation_error", "queue.always_stored")
        unsupported = {
            "store_input": options.store_input,
            "model": options.model is not None,
            "prompt": options.prompt is not None,
            "cache": not options.cache,
        }
        if any(unsupported.values()):
            name = next(name for name, asked in unsupported.items() if asked)
            raise ApiError.said(422, "validation_error", "queue.not_available", name=name)
        if options.llm is not None and options.llm != self.llm:
            raise ApiError.said(422, "validation_error", "queue.other_llm", llm=self.llm)
        return RequestOptions(top=options.top, explain=options.llm is not None)

"""A worker's own HTTP endpoints (`bifrost worker --port N`), for probes and Prometheus:
`/healthz` (the process runs), `/readyz` (its broker and its database answer), `/metrics`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bifrost.store.database import check_ready
from bifrost.worker import metrics
from bifrost.worker.service import Worker

_PROBE_TIMEOUT_S = 2.0


def health_app(worker: Worker) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = {
            "broker": await _probe(worker.transport.ping()),
            "database": await _probe(check_ready(worker.context.store)),
        }
        ready = all(problem is None for problem in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: problem or "ok" for name, problem in checks.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        if await _probe(_count_backlog(worker)) is not None:
            metrics.BACKLOG.set(float("nan"))  # unknown, rather than an old figure
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


async def _count_backlog(worker: Worker) -> None:
    metrics.BACKLOG.set(await worker.transport.backlog())


async def _probe(check: Awaitable[object]) -> str | None:
    """None when `check` passes within the timeout; otherwise what went wrong, in a line."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            await check
    except TimeoutError:
        return f"no answer in {_PROBE_TIMEOUT_S:g} s"
    except Exception as exc:  # any failure of a dependency means "not ready"
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        sys.stderr.write(f"not ready: {type(exc).__name__}: {detail}\n")
        return f"unavailable ({type(exc).__name__}; see the worker's log)"
    return None

"""Liveness, readiness, Prometheus metrics, the LLM providers the server can use, and the
API's own documentation (`/openapi.json`, Swagger UI at `/docs`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from bifrost.analysis.explain import check_provider, provider_statuses
from bifrost.api import metrics
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES, ApiError
from bifrost.api.logs import log
from bifrost.api.queue import Queue
from bifrost.errors import BifrostError, ServiceError
from bifrost.store.database import check_ready

router = APIRouter()
_PROBE_TIMEOUT_S = 3.0
_STATIC = Path(__file__).parents[1] / "static"
DOCS_ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css"),
    "favicon.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "docs.js": ("docs.js", "text/javascript"),
}
"""What `/docs/assets/{name}` serves: the file under `api/static/` and its content type."""


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    required: bool = Field(description="Whether readiness depends on it.")
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]


class ProviderOut(BaseModel):
    name: str
    target: str = Field(description="Base URL or region; never a secret.")
    reachable: bool
    configured: bool = Field(description="The provider the server uses by default.")
    models: list[str]
    problem: str | None


@router.get("/healthz", tags=["health"], summary="Liveness", response_model=Health)
async def healthz() -> Health:
    """The process answers. Touches no dependency, so it stays fast under load."""
    return Health()


@router.get(
    "/readyz",
    tags=["health"],
    summary="Readiness",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A required dependency is not ready."}},
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers with a current schema; the cache (Redis) answers when configured.
    The LLM provider is reported, not required: the built-in analysis works without it. What
    failed, and where, goes to the server log: this route needs no key."""
    services = services_of(request)
    checks = {"database": await _probe("database", check_ready(services.store), "current schema")}
    if services.settings.redis_url:
        checks["cache"] = await _probe("cache", _ping_redis(services.settings.redis_url), "answers")
    if services.queue is not None:
        checks["queue"] = await _probe("queue", _ping_queue(services.queue), "answers")
    if services.settings.llm:
        checks["llm"] = (
            await _probe("LLM provider", _llm_status(request), "reachable")
        ).model_copy(update={"required": False})
    ready = all(check.ok for check in checks.values() if check.required)
    body = Readiness(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    tags=["health"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **ERROR_RESPONSES},
)
async def prometheus_metrics(
    request: Request, _caller: Annotated[Caller, Depends(require("metrics"))]
) -> Response:
    """In the Prometheus text format; needs the `metrics` scope when auth is on: the figures
    are the whole server's, every tenant's among them."""
    pool = services_of(request).store.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out) and callable(size):
        metrics.DB_POOL_IN_USE.set(checked_out())
        metrics.DB_POOL_SIZE.set(size())
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get(
    "/api/v1/providers",
    tags=["providers"],
    summary="LLM providers",
    response_model=list[ProviderOut],
    responses=ERROR_RESPONSES,
)
async def providers(
    request: Request, _caller: Annotated[Caller, Depends(require("read"))]
) -> list[ProviderOut]:
    """Each provider: where it is, whether it answers, its models, and what to fix if not."""
    settings = services_of(request).settings
    return [
        ProviderOut(
            name=s.name,
            target=s.target,
            reachable=s.reachable,
            configured=s.name == settings.llm,
            models=s.models,
            problem=s.problem,
        )
        for s in await provider_statuses(settings)
    ]


# The documentation is served by routes of the API rather than FastAPI's built-in ones, so its
# requests have their own route labels in the metrics, and Swagger UI comes from the package:
# the page works offline and its Content-Security-Policy needs no other host.


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of the API."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs() -> FileResponse:
    """Swagger UI. A static page: its start-up script is `docs.js`, not inline."""
    return FileResponse(_STATIC / "docs.html", media_type="text/html")


@router.get("/docs/assets/{name}", include_in_schema=False)
async def docs_asset(name: str) -> FileResponse:
    """A file of the Swagger UI page; only those listed, so no path reaches other files."""
    if name not in DOCS_ASSETS:
        raise ApiError.said(404, "not_found", "api.no_docs_asset", name=name)
    path, media_type = DOCS_ASSETS[name]
    return FileResponse(_STATIC / path, media_type=media_type)


async def _probe(name: str, check: Awaitable[object], good: str) -> Check:
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            detail = await check
    except TimeoutError:
        return Check(ok=False, required=True, detail=f"no answer in {_PROBE_TIMEOUT_S:g} s")
    except BifrostError as exc:
        log.warning("not ready", dependency=name, problem=exc.message)
        return Check(ok=False, required=True, detail=f"the {name} is unavailable (see the log)")
    return Check(ok=True, required=True, detail=detail if isinstance(detail, str) else good)


async def _ping_queue(queue: Queue) -> None:
    """The broker answers; its client's own errors say it does not."""
    try:
        await queue.ping()
    except BifrostError:
        raise
    except Exception as exc:
        raise ServiceError.said("queue.no_answer", problem=exc) from exc


async def _ping_redis(url: str) -> None:
    from bifrost.store.redis import RedisConnection  # noqa: PLC0415 — the `redis` extra

    redis = RedisConnection(url, purpose="readiness", connect_timeout_s=1, timeout_s=2)
    try:
        await redis.call("ping")
    finally:
        await redis.aclose()


async def _llm_status(request: Request) -> str:
    return await check_provider(services_of(request).settings)

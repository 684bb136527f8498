"""Who is calling, what they may do, and how often: API keys, tenants, scopes, rate limits.

A key comes in `X-API-Key` or `Authorization: Bearer …`; only its SHA-256 is stored, so it is
looked up by hash. A key belongs to a tenant: the caller gets the history as that tenant sees
it (`Caller.store`), and every route reads and writes through it, so no route can reach another
tenant's rows. A request spends a token of its key's rate and one of its tenant's, when the
tenant has a rate of its own. With auth off (a server on loopback), every caller is the default
tenant, may do everything, and is rate-limited by client address instead.

Guessing keys is rate-limited too: every key this process has not yet found valid costs its
client address a token of `BIFROST_AUTH_FAILURE_LIMIT`, taken before the key is looked up, so
a guesser gets 429 without reaching the database. A bad key is answered with one message
whether it never existed or was revoked, so the answer does not confirm that a key once worked.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from starlette.requests import HTTPConnection

from bifrost.analysis.keys import find_key, hash_secret, touch_key
from bifrost.analysis.tenants import NO_LIMITS, Limits, TenantRecord, get_tenant
from bifrost.api import metrics
from bifrost.api.errors import ApiError
from bifrost.api.logs import log
from bifrost.api.ratelimit import Decision
from bifrost.api.services import Services
from bifrost.errors import ServiceError
from bifrost.store.database import Store
from bifrost.store.records import DEFAULT_TENANT_NAME, ApiKey
from bifrost.times import Rate

Scope = Literal["analyze", "read", "admin", "metrics", "server"]
ALL_SCOPES: frozenset[str] = frozenset({"analyze", "read", "admin", "metrics", "server"})
_TOUCH_EVERY_S = 60.0
_TENANT_FRESH_S = 30.0
"""How long a tenant's limits are reused before they are read again."""
_CHALLENGE = {"WWW-Authenticate": 'ApiKey realm="bifrost"'}
_touched: dict[int, float] = {}
_verified: set[str] = set()
"""Digests of the keys this process found valid: they skip the guessing limit (not the lookup,
so a revoked key is refused at once). Bounded by the keys that exist."""


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]
    rate: Rate
    bucket: str  # what the rate limit counts against
    store: Store
    """The history as the caller's tenant sees it: every route reads and writes through it."""
    tenant: str = DEFAULT_TENANT_NAME
    limits: Limits = NO_LIMITS
    key_id: int | None = None


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


def require(scope: Scope) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the caller, who must hold `scope` and be within their rate limit."""

    async def dependency(request: Request) -> Caller:
        caller = await identify(request)
        if scope not in caller.scopes:
            raise ApiError.said(403, "forbidden", "auth.lacks_scope", scope=scope)
        await spend(request, caller)
        return caller

    return dependency


async def identify(connection: HTTPConnection) -> Caller:
    """The caller behind the request's key (any scope); 401 when the key is missing or bad."""
    services = services_of(connection)
    if not services.auth:
        return anonymous(connection)
    secret = _presented_key(connection)
    if secret is None:
        raise ApiError.said(401, "unauthorized", "auth.key_required", headers=_CHALLENGE)
    digest = hash_secret(secret)
    if digest not in _verified:
        await count_unverified(connection)
    key = await find_key(services.store, secret)
    if key is None or not key.active:
        _verified.discard(digest)
        log.info(
            "API key refused",
            reason="unknown" if key is None else "revoked",
            key_id=key.id if key is not None else None,
            client=_client_address(connection),
        )
        raise ApiError.said(401, "unauthorized", "auth.bad_key", headers=_CHALLENGE)
    _verified.add(digest)
    connection.scope["state"]["key_name"] = key.name
    now = time.monotonic()
    if now - _touched.get(key.id, -_TOUCH_EVERY_S) >= _TOUCH_EVERY_S:
        _touched[key.id] = now
        try:
            await touch_key(services.store, key.id)
        except ServiceError as exc:
            log.warning("cannot record key use", key_id=key.id, problem=exc.message)
    return await caller_of(key, services)


def anonymous(connection: HTTPConnection) -> Caller:
    """Anyone, with auth off: the default tenant, every scope, no quotas, rate-limited by
    client address."""
    services = services_of(connection)
    return Caller(
        "anonymous",
        ALL_SCOPES,
        services.default_rate,
        f"ip:{_client_address(connection)}",
        services.store,
    )


async def caller_of(key: ApiKey, services: Services) -> Caller:
    """The caller an active key makes: its tenant, its scopes, its own rate or the server's."""
    rate = Rate.parse(key.rate) if key.rate else services.default_rate
    tenant = await _tenant(services, key.tenant_id)
    return Caller(
        key.name,
        frozenset(key.scopes),
        rate,
        f"key:{key.id}",
        services.store.for_tenant(key.tenant_id),
        tenant.name,
        tenant.limits,
        key.id,
    )


def may_grant(caller: Caller, scopes: Sequence[str], *, other_tenant: bool = False) -> None:
    """403 unless the caller may make a key with these scopes: a tenant's admin makes keys of
    its own tenant; only a `server` key makes `server` keys or keys of another tenant."""
    if "server" in caller.scopes:
        return
    if other_tenant or "server" in scopes:
        raise ApiError.said(403, "forbidden", "auth.server_scope_only")


async def spend(connection: HTTPConnection, caller: Caller) -> Decision:
    """Take one request from the caller's bucket, and one from its tenant's when the tenant
    has a rate; 429 with Retry-After when either is empty."""
    metrics.TENANT_REQUESTS.labels(caller.tenant).inc()
    decision = await _take(connection, caller.bucket, caller.rate)
    connection.scope["state"]["rate_headers"] = decision.headers()
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        retry = decision.headers()["Retry-After"]
        raise ApiError.said(429, "rate_limited", "auth.rate_limited", rate=caller.rate, retry=retry)
    if caller.limits.rate is None:
        return decision
    rate = Rate.parse(caller.limits.rate)
    shared = await _take(connection, f"tenant:{caller.store.tenant}", rate)
    if not shared.allowed:
        metrics.RATE_LIMITED.inc()
        metrics.QUOTA_REFUSED.labels(caller.tenant, "rate").inc()
        retry = shared.headers()["Retry-After"]
        raise ApiError.said(
            429,
            "rate_limited",
            "auth.tenant_rate_limited",
            headers={"Retry-After": retry},
            tenant=caller.tenant,
            rate=rate,
            retry=retry,
        )
    return decision


async def _tenant(services: Services, tenant_id: int) -> TenantRecord:
    """The tenant's name and limits, read again every `_TENANT_FRESH_S` seconds."""
    now = time.monotonic()
    known = services.tenants.get(tenant_id)
    if known is not None and now - known[0] < _TENANT_FRESH_S:
        return known[1]
    tenant = await get_tenant(services.store, tenant_id)
    if tenant is None:  # tenants are never deleted: a key made by hand in the database
        raise ApiError.said(401, "unauthorized", "auth.bad_key", headers=_CHALLENGE)
    services.tenants[tenant_id] = (now, tenant)
    return tenant


async def count_unverified(connection: HTTPConnection) -> None:
    """Take a token for a key not yet found valid from its client address; 429 when none is
    left, before the key is looked up."""
    rate: Rate = connection.app.state.auth_failure_limit
    decision = await _take(connection, f"auth:ip:{_client_address(connection)}", rate)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        retry = decision.headers()["Retry-After"]
        raise ApiError.said(
            429,
            "rate_limited",
            "auth.too_many_bad_keys",
            headers={"Retry-After": retry},
            rate=rate,
            retry=retry,
        )


async def _take(connection: HTTPConnection, bucket: str, rate: Rate) -> Decision:
    """One token from `bucket`. When Redis fails, the process's own buckets take over: limits
    stay on, per process."""
    services = services_of(connection)
    try:
        return await services.limiter.hit(bucket, rate)
    except ServiceError as exc:
        log.warning("rate limiter unavailable, limiting per process", problem=exc.message)
        return await services.fallback_limiter.hit(bucket, rate)


def _client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "local"


def _presented_key(connection: HTTPConnection) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None

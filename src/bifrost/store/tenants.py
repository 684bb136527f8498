"""Tenants: the teams that share one server, their limits, and what they have used.

A tenant's limits are data (the `tenants` row), not code: an admin of the whole server sets
them with `bifrost tenants create|set` or the API. What a tenant used is counted from its own
rows (analyses today, tokens this month, bytes kept), so the count cannot drift from what is
stored. Plain async functions over a `Store`, each one transaction, like `keys.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bifrost.errors import UsageError
from bifrost.store.database import Store
from bifrost.store.models import Analysis, Tenant
from bifrost.store.records import NotFound, utcnow
from bifrost.times import Rate


class TenantExists(UsageError):
    """The name is taken: HTTP 409."""

    code = "conflict"


NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
"""A tenant's name: lower case, digits, `.`, `_`, `-`; it appears in URLs, metrics, files."""
MAX_RATE = 40


@dataclass(frozen=True)
class Limits:
    """What a tenant may use; None is no limit of its own (the server's rate still holds)."""

    rate: str | None = None
    """Requests per period over all its keys, canonical ("600/minute")."""
    analyses_per_day: int | None = None
    stored_bytes: int | None = None
    llm_tokens_per_month: int | None = None


NO_LIMITS = Limits()


@dataclass(frozen=True)
class TenantRecord:
    id: int
    name: str
    created_at: datetime
    limits: Limits


@dataclass(frozen=True)
class Usage:
    """What a tenant used in the periods its limits count: the UTC day and month now."""

    analyses_today: int
    llm_tokens_this_month: int
    stored_bytes: int
    day_resets_at: datetime
    month_resets_at: datetime


_COLUMNS = (
    Tenant.id,
    Tenant.name,
    Tenant.created_at,
    Tenant.rate,
    Tenant.analyses_per_day,
    Tenant.stored_bytes,
    Tenant.llm_tokens_per_month,
)


async def create_tenant(store: Store, name: str, limits: Limits = NO_LIMITS) -> TenantRecord:
    """A new tenant; a name taken already is a usage error."""
    values = {"name": _valid_name(name), "created_at": utcnow(), **_limit_values(limits)}
    dialect_insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(Tenant)
        .values(values)
        .on_conflict_do_nothing(index_elements=[Tenant.name])
        .returning(*_COLUMNS)
    )
    async with store.write() as connection:
        row = (await connection.execute(statement)).mappings().first()
    if row is None:
        raise TenantExists.said("tenant.exists", name=repr(name))
    return _record(row)


async def set_limits(store: Store, name: str, limits: Limits) -> TenantRecord:
    """Replace the tenant's limits (None: no limit)."""
    async with store.write() as connection:
        found = await connection.execute(
            update(Tenant)
            .where(Tenant.name == name)
            .values(_limit_values(limits))
            .returning(*_COLUMNS)
        )
        row = found.mappings().first()
    if row is None:
        raise _no_tenant(name)
    return _record(row)


async def list_tenants(store: Store) -> list[TenantRecord]:
    """Every tenant, oldest first."""
    async with store.read() as connection:
        rows = (await connection.execute(select(*_COLUMNS).order_by(Tenant.id))).mappings().all()
    return [_record(row) for row in rows]


async def tenant_named(store: Store, name: str) -> TenantRecord:
    """The tenant with this name; NotFound names the command that lists them."""
    async with store.read() as connection:
        found = await connection.execute(select(*_COLUMNS).where(Tenant.name == name))
        row = found.mappings().first()
    if row is None:
        raise _no_tenant(name)
    return _record(row)


async def as_tenant(store: Store, name: str | None) -> Store:
    """The store as the named tenant sees it (`--tenant NAME`); as it is for None."""
    return store if name is None else store.for_tenant((await tenant_named(store, name)).id)


async def get_tenant(store: Store, tenant_id: int) -> TenantRecord | None:
    async with store.read() as connection:
        found = await connection.execute(select(*_COLUMNS).where(Tenant.id == tenant_id))
        row = found.mappings().first()
    return _record(row) if row is not None else None


async def usage(store: Store, now: datetime | None = None) -> Usage:
    """What the store's tenant used: analyses this UTC day, LLM tokens this UTC month, and
    bytes kept (the stored Reports and inputs)."""
    now = (now or utcnow()).astimezone(UTC)
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    month = day.replace(day=1)
    mine = Analysis.tenant_id == store.tenant
    analyses = select(func.count()).where(mine, Analysis.created_at >= day)
    tokens = select(
        func.coalesce(
            func.sum(
                func.coalesce(Analysis.prompt_tokens, 0)
                + func.coalesce(Analysis.completion_tokens, 0)
            ),
            0,
        )
    ).where(mine, Analysis.created_at >= month)
    kept = select(func.coalesce(func.sum(Analysis.stored_bytes), 0)).where(mine)
    async with store.read() as connection:
        counted = int((await connection.execute(analyses)).scalar_one())
        spent = int((await connection.execute(tokens)).scalar_one())
        size = int((await connection.execute(kept)).scalar_one())
    return Usage(counted, spent, size, day + timedelta(days=1), _next_month(month))


def _next_month(month: datetime) -> datetime:
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


def _valid_name(name: str) -> str:
    name = name.strip()
    if not NAME.fullmatch(name):
        raise UsageError.said("tenant.bad_name", name=repr(name))
    return name


def _limit_values(limits: Limits) -> dict[str, object]:
    for field, value in (
        ("analyses per day", limits.analyses_per_day),
        ("stored bytes", limits.stored_bytes),
        ("LLM tokens per month", limits.llm_tokens_per_month),
    ):
        if value is not None and value < 0:
            raise UsageError.said("tenant.negative_limit", limit=field, value=value)
    rate = str(Rate.parse(limits.rate)) if limits.rate is not None else None
    if rate is not None and len(rate) > MAX_RATE:
        raise UsageError.said("usage.rate_too_large", rate=repr(limits.rate))
    return {
        "rate": rate,
        "analyses_per_day": limits.analyses_per_day,
        "stored_bytes": limits.stored_bytes,
        "llm_tokens_per_month": limits.llm_tokens_per_month,
    }


def _no_tenant(name: str) -> NotFound:
    return NotFound.said("tenant.missing", name=repr(name))


def _record(row: RowMapping) -> TenantRecord:
    limits = Limits(
        rate=row["rate"],
        analyses_per_day=row["analyses_per_day"],
        stored_bytes=row["stored_bytes"],
        llm_tokens_per_month=row["llm_tokens_per_month"],
    )
    return TenantRecord(row["id"], row["name"], row["created_at"], limits)

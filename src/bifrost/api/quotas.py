"""A tenant's quotas, checked before an analysis is received: analyses per UTC day, bytes
kept in the history, LLM tokens per UTC month (the rate per minute is `auth.spend`'s).

A limit reached is one clear answer that names the limit and when it resets: 429 with
Retry-After for the ones that reset (a day, a month), 403 for the bytes kept, which only
deleting analyses frees. An LLM quota spent does not stop the triage: the analysis runs
without the LLM and says why, unless the request asked for the LLM by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bifrost.analysis.tenants import usage
from bifrost.api import metrics
from bifrost.api.auth import Caller
from bifrost.api.errors import ApiError
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.store.records import utcnow


@dataclass(frozen=True)
class Admission:
    """What a tenant may do with this analysis."""

    llm: bool
    """Whether the LLM may explain it (its tokens this month are not spent)."""
    warning: str | None = None
    """Why not, for the Report's warnings."""


async def admit(caller: Caller, *, storing: bool, llm: bool, llm_asked: bool) -> Admission:
    """Refuse the analysis when one of the tenant's limits is reached (`storing`: it will be
    kept; `llm`: the server would explain it; `llm_asked`: the request named the LLM)."""
    limits = caller.limits
    counted = limits.analyses_per_day is not None
    kept = storing and limits.stored_bytes is not None
    tokens = llm and limits.llm_tokens_per_month is not None
    if not (counted or kept or tokens):
        return Admission(llm=llm)
    now = utcnow()
    used = await usage(caller.store, now)
    tenant = caller.tenant
    if limits.analyses_per_day is not None and used.analyses_today >= limits.analyses_per_day:
        metrics.QUOTA_REFUSED.labels(tenant, "analyses_per_day").inc()
        raise ApiError.said(
            429,
            "quota_exceeded",
            "quota.analyses_per_day",
            headers=_retry_after(used.day_resets_at, now),
            tenant=tenant,
            limit=limits.analyses_per_day,
            resets=_when(used.day_resets_at),
        )
    if storing and limits.stored_bytes is not None and used.stored_bytes >= limits.stored_bytes:
        metrics.QUOTA_REFUSED.labels(tenant, "stored_bytes").inc()
        raise ApiError.said(
            403,
            "quota_exceeded",
            "quota.stored_bytes",
            tenant=tenant,
            kept=used.stored_bytes,
            limit=limits.stored_bytes,
        )
    if tokens and used.llm_tokens_this_month >= (limits.llm_tokens_per_month or 0):
        metrics.QUOTA_REFUSED.labels(tenant, "llm_tokens_per_month").inc()
        spent = ApiError.said(
            429,
            "quota_exceeded",
            "quota.llm_tokens",
            headers=_retry_after(used.month_resets_at, now),
            tenant=tenant,
            limit=limits.llm_tokens_per_month,
            resets=_when(used.month_resets_at),
        )
        if llm_asked:
            raise spent
        warning = message("warning.llm_quota", DEFAULT_LANGUAGE, why=spent.message)
        return Admission(llm=False, warning=warning)
    return Admission(llm=llm)


def _retry_after(resets_at: datetime, now: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil((resets_at - now).total_seconds())))}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

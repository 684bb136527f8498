"""What the history says over a period: analyses and failures per day, the commonest causes
and the services that fail most, and the LLM tokens spent (the web UI's dashboard).

Causes, services and tokens are counted by the database. Days are counted here, in UTC, from
each analysis's time and verdict: a database's own `date()` follows its session's time zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, select

from bifrost.store.database import Store
from bifrost.store.models import Analysis, FindingRow


@dataclass(frozen=True)
class Day:
    day: date
    analyses: int
    failures: int


@dataclass(frozen=True)
class Overview:
    since: datetime
    days: list[Day]
    """Only the days with an analysis, oldest first."""
    causes: list[tuple[str, int]]
    """The categories of failed runs' first findings, commonest first."""
    services: list[tuple[str, int]]
    """Services by failed runs, most first (unlabelled runs under "")."""
    prompt_tokens: int
    completion_tokens: int

    @property
    def analyses(self) -> int:
        return sum(d.analyses for d in self.days)

    @property
    def failures(self) -> int:
        return sum(d.failures for d in self.days)


async def overview(store: Store, since: datetime, top: int = 8) -> Overview:
    recent = and_(Analysis.tenant_id == store.tenant, Analysis.created_at >= since)
    failed = Analysis.verdict == "failure"
    runs = select(Analysis.created_at, Analysis.verdict).where(recent)
    causes = (
        select(FindingRow.category, func.count())
        .join(Analysis, Analysis.id == FindingRow.analysis_id)
        .where(recent, failed, FindingRow.rank == 1)
        .group_by(FindingRow.category)
        .order_by(func.count().desc(), FindingRow.category)
        .limit(top)
    )
    service = func.coalesce(Analysis.service, "")
    services = (
        select(service, func.count())
        .where(recent, failed)
        .group_by(service)
        .order_by(func.count().desc(), service)
        .limit(top)
    )
    tokens = select(
        func.coalesce(func.sum(Analysis.prompt_tokens), 0),
        func.coalesce(func.sum(Analysis.completion_tokens), 0),
    ).where(recent)
    async with store.read() as connection:
        analyses: Counter[date] = Counter()
        failures: Counter[date] = Counter()
        for created_at, verdict in await connection.execute(runs):
            day = created_at.astimezone(UTC).date()
            analyses[day] += 1
            failures[day] += verdict == "failure"
        days = [Day(d, analyses[d], failures[d]) for d in sorted(analyses)]
        top_causes = [(str(c), int(n)) for c, n in await connection.execute(causes)]
        top_services = [(str(s), int(n)) for s, n in await connection.execute(services)]
        prompt, completion = (await connection.execute(tokens)).one()
    return Overview(since, days, top_causes, top_services, int(prompt or 0), int(completion or 0))

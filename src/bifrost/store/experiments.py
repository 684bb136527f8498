"""Experiments: the stored analyses of an A/B experiment, with what users said about them.
Plain async functions over a `Store`, each one read, like `known.py`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.report import Report
from bifrost.store.database import Store
from bifrost.store.models import Analysis, Feedback
from bifrost.store.records import NotFound

MAX_ROWS = 20_000
"""The newest analyses a report reads: enough for any interval, bounded in memory."""


@dataclass(frozen=True)
class ExperimentRow:
    analysis_id: int
    variant: str
    report: Report
    feedback: tuple[bool, ...]  # each verdict given, True for "right"


async def experiment_rows(store: Store, name: str) -> list[ExperimentRow]:
    """The experiment's analyses, newest first (NotFound when it has none)."""
    query = (
        select(Analysis.id, Analysis.variant, Analysis.report)
        .where(
            Analysis.tenant_id == store.tenant,
            Analysis.experiment == name,
            Analysis.variant.is_not(None),
        )
        .order_by(Analysis.id.desc())
        .limit(MAX_ROWS)
    )

    async def body(connection: AsyncConnection) -> list[ExperimentRow]:
        found = (await connection.execute(query)).all()
        votes: defaultdict[int, list[bool]] = defaultdict(list)
        ids = [row.id for row in found]
        for start in range(0, len(ids), 1000):  # bound the IN list
            said = select(Feedback.analysis_id, Feedback.verdict).where(
                Feedback.analysis_id.in_(ids[start : start + 1000])
            )
            for analysis_id, verdict in (await connection.execute(said)).all():
                votes[analysis_id].append(verdict == "good")
        return [
            ExperimentRow(
                row.id, row.variant, Report.model_validate_json(row.report), tuple(votes[row.id])
            )
            for row in found
        ]

    rows = await store.transact(body, write=False)
    if not rows:
        raise NotFound.said("experiment.missing", name=repr(name))
    return rows


async def experiment_names(store: Store) -> list[tuple[str, int]]:
    """Every experiment with stored analyses, and how many, by name."""
    query = (
        select(Analysis.experiment, func.count())
        .where(Analysis.tenant_id == store.tenant, Analysis.experiment.is_not(None))
        .group_by(Analysis.experiment)
        .order_by(Analysis.experiment)
    )

    async def body(connection: AsyncConnection) -> list[tuple[str, int]]:
        return [(str(name), int(count)) for name, count in (await connection.execute(query)).all()]

    return await store.transact(body, write=False)

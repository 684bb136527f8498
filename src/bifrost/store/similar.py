"""Similar incidents: stored analyses whose leading findings share templates with a Report's,
and the newest analyses' meaning vectors. The SQL is `records.MATCHES_SQL`,
`records.INCIDENTS_SQL` and `records.MEANINGS_SQL`, which the embedded path runs too; the
scoring is the application's (`analysis/similar.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.store.database import Store
from bifrost.store.models import UTCDateTime
from bifrost.store.records import (
    INCIDENTS_SQL,
    LEADS,
    MATCHES_SQL,
    MAX_MATCHES,
    MAX_MEANINGS,
    MEANING_SQL,
    MEANINGS_SQL,
    Match,
    PastIncident,
)

_MATCHES = text(
    MATCHES_SQL.format(
        tenant=":tenant", templates=":templates", leads=LEADS, hash=":hash", limit=MAX_MATCHES
    )
).bindparams(bindparam("templates", expanding=True))
_MEANINGS = text(
    MEANINGS_SQL.format(tenant=":tenant", model=":model", hash=":hash", limit=MAX_MEANINGS)
).columns(column("id", Integer), column("meaning", LargeBinary))
_MEANING = text(MEANING_SQL.format(tenant=":tenant", id=":id")).columns(
    column("meaning_model", String), column("meaning", LargeBinary)
)
_INCIDENTS = (
    text(INCIDENTS_SQL.format(tenant=":tenant", leads=LEADS, ids=":ids"))
    .bindparams(bindparam("ids", expanding=True))
    .columns(  # typed, so that a time comes back a UTC datetime from SQLite too
        column("id", Integer),
        column("created_at", UTCDateTime()),
        column("service", String),
        column("verdict", String),
        column("top_title", String),
        column("leads", Integer),
        column("note", String),
    )
)


async def matches(store: Store, template_ids: list[str], content_hash: str) -> list[Match]:
    """The leading findings of other logs' analyses with these templates, newest first."""
    if not template_ids:
        return []

    async def body(connection: AsyncConnection) -> list[Match]:
        found = await connection.execute(
            _MATCHES, {"tenant": store.tenant, "templates": template_ids, "hash": content_hash}
        )
        return [Match(int(r[0]), str(r[1]), int(r[2])) for r in found.all()]

    return await store.transact(body, write=False)


async def meanings(store: Store, model: str, content_hash: str) -> list[tuple[int, bytes]]:
    """The newest analyses' meaning vectors of `model` (other logs' only), newest first."""

    async def body(connection: AsyncConnection) -> list[tuple[int, bytes]]:
        found = await connection.execute(
            _MEANINGS, {"tenant": store.tenant, "model": model, "hash": content_hash}
        )
        return [(int(r[0]), bytes(r[1])) for r in found.all()]

    return await store.transact(body, write=False)


async def meaning(store: Store, analysis_id: int) -> tuple[str, bytes] | None:
    """A stored analysis's meaning vector and its model, when it has one."""

    async def body(connection: AsyncConnection) -> tuple[str, bytes] | None:
        row = (
            await connection.execute(_MEANING, {"tenant": store.tenant, "id": analysis_id})
        ).first()
        return (str(row[0]), bytes(row[1])) if row is not None and row[1] is not None else None

    return await store.transact(body, write=False)


async def incidents(store: Store, analysis_ids: list[int]) -> list[PastIncident]:
    if not analysis_ids:
        return []

    async def body(connection: AsyncConnection) -> list[PastIncident]:
        found = await connection.execute(_INCIDENTS, {"tenant": store.tenant, "ids": analysis_ids})
        return [_incident(row) for row in found.all()]

    return await store.transact(body, write=False)


def _incident(row: Sequence[Any]) -> PastIncident:
    return PastIncident(
        analysis_id=int(row[0]),
        created_at=row[1],
        service=row[2],
        verdict=str(row[3]),
        top_title=row[4],
        leads=int(row[5]),
        note=row[6],
    )

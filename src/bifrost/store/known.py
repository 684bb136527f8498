"""Known issues: resolutions pinned to templates. Plain async functions over a `Store`, each
one transaction, like `keys.py`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import RowMapping, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bifrost.report import KnownIssue
from bifrost.store.database import Store
from bifrost.store.models import KnownIssueRow
from bifrost.store.records import NotFound, utcnow

_COLUMNS = ("template_id", "note", "link", "title", "analysis_id", "pinned_at")


@dataclass(frozen=True)
class Pinned:
    template_id: str
    title: str
    issue: KnownIssue


async def pin(
    store: Store,
    template_id: str,
    title: str,
    note: str,
    link: str | None,
    analysis_id: int | None,
) -> Pinned:
    """Pin (or replace) the resolution of a template."""
    now = utcnow()
    values = {
        "tenant_id": store.tenant,
        "template_id": template_id,
        "note": note,
        "link": link,
        "title": title[:500],
        "analysis_id": analysis_id,
        "pinned_at": now,
    }
    dialect_insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(KnownIssueRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[KnownIssueRow.tenant_id, KnownIssueRow.template_id],
        set_={k: statement.excluded[k] for k in values if k not in ("tenant_id", "template_id")},
    )
    async with store.write() as connection:
        await connection.execute(statement)
    issue = KnownIssue(note=note, link=link, pinned_at=now, analysis_id=analysis_id)
    return Pinned(template_id, title, issue)


async def unpin(store: Store, template_id: str) -> None:
    async with store.write() as connection:
        removed = await connection.execute(
            delete(KnownIssueRow).where(
                KnownIssueRow.tenant_id == store.tenant, KnownIssueRow.template_id == template_id
            )
        )
    if removed.rowcount == 0:
        raise NotFound.said("known.missing", template=template_id)


async def known_issues(store: Store, template_ids: list[str] | None = None) -> list[Pinned]:
    """The pinned issues (of these templates only, when given), newest first."""
    columns = [KnownIssueRow.__table__.c[name] for name in _COLUMNS]
    query = (
        select(*columns)
        .where(KnownIssueRow.tenant_id == store.tenant)
        .order_by(KnownIssueRow.pinned_at.desc())
    )
    if template_ids is not None:
        query = query.where(KnownIssueRow.template_id.in_(template_ids))
    async with store.read() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [_pinned(row) for row in rows]


def _pinned(row: RowMapping) -> Pinned:
    issue = KnownIssue(
        note=row["note"],
        link=row["link"],
        pinned_at=row["pinned_at"],
        analysis_id=row["analysis_id"],
    )
    return Pinned(row["template_id"], row["title"], issue)

"""History filters and how they become SQL on each database (full-text search differs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from bifrost.store.models import Analysis, FindingRow
from bifrost.store.records import SUMMARY_FIELDS

_WORD = re.compile(r"[^\W_]+")
_SQLITE_FTS = table("analyses_fts", column("rowid", Integer))


@dataclass(frozen=True)
class HistoryFilter:
    """What to look for; every field set must match. `since` is inclusive, `until` exclusive.

    `category` matches exactly (`gpu.cuda_oom`) or as a prefix (`gpu` matches `gpu.…`).
    `query` is full-text over the top finding's title, the summary and every finding title.
    """

    query: str | None = None
    service: str | None = None
    environment: str | None = None
    tag: str | None = None
    category: str | None = None
    verdict: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    provider: str | None = None


def summaries(filters: HistoryFilter, dialect: str, tenant: int) -> Select[tuple[object, ...]]:
    """The summary columns of the tenant's matching analyses, newest first."""
    columns = [Analysis.__table__.c[name] for name in SUMMARY_FIELDS]
    return (
        select(*columns)
        .where(Analysis.tenant_id == tenant, *conditions(filters, dialect))
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
    )


def conditions(filters: HistoryFilter, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for name in ("service", "environment", "verdict", "provider"):
        value = getattr(filters, name)
        if value is not None:
            where.append(getattr(Analysis, name) == value)
    if filters.since is not None:
        where.append(Analysis.created_at >= filters.since)
    if filters.until is not None:
        where.append(Analysis.created_at < filters.until)
    if filters.tag is not None:
        where.append(_has_tag(filters.tag, dialect))
    if filters.category is not None:
        where.append(_has_category(filters.category))
    words = _WORD.findall(filters.query or "")
    if words:
        where.append(_matches(words, dialect))
    return where


def _has_tag(tag: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(Analysis.tags, JSONB).contains([tag])
    values = func.json_each(Analysis.tags).table_valued("value")
    return exists().select_from(values).where(values.c.value == tag)


def _has_category(category: str) -> ColumnElement[bool]:
    return exists().where(
        FindingRow.analysis_id == Analysis.id,
        or_(
            FindingRow.category == category,
            FindingRow.category.startswith(f"{category}.", autoescape=True),
        ),
    )


def _matches(words: list[str], dialect: str) -> ColumnElement[bool]:
    """Full-text: every word must appear (stemmed), on either database; no query syntax."""
    if dialect == "postgresql":
        search: ColumnElement[object] = literal_column("analyses.search")
        return search.op("@@")(func.plainto_tsquery("english", " ".join(words)))
    phrase = " ".join(f'"{word}"' for word in words)  # quoted: FTS5 syntax cannot leak in
    hits = select(_SQLITE_FTS.c.rowid).where(literal_column("analyses_fts").op("MATCH")(phrase))
    return Analysis.id.in_(hits)

"""The history schema as typed declarative models: one source of truth for queries and Alembic.

Full-text search is not modelled here: it is dialect-specific (an FTS5 table on SQLite, a
generated `tsvector` column on PostgreSQL) and lives in the migrations and `search.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bifrost.store.records import DEFAULT_TENANT, utcnow

# Ids are BIGINT on servers; SQLite needs INTEGER for its rowid alias (autoincrement).
Id = BigInteger().with_variant(Integer(), "sqlite")
Tags = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def tenant_column(*, primary_key: bool = False) -> Mapped[int]:
    """The owning tenant of a row. Not a foreign key: SQLite cannot add one to a table that
    exists (and a rebuild of `analyses` would drop its full-text triggers); tenants are never
    deleted, so nothing can be left pointing nowhere."""
    return mapped_column(
        Id,
        primary_key=primary_key,
        default=DEFAULT_TENANT,
        server_default=str(DEFAULT_TENANT),
    )


class Tenant(Base):
    """A team or organisation: it owns keys, analyses, known issues and jobs, and has its
    own limits (None: no limit beyond the server's)."""

    __tablename__ = "tenants"
    __table_args__ = (Index("ix_tenants_name", "name", unique=True),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rate: Mapped[str | None] = mapped_column(String(40))
    """Requests a minute (or any period) over all the tenant's keys, canonical ("600/minute")."""
    analyses_per_day: Mapped[int | None] = mapped_column(BigInteger)
    stored_bytes: Mapped[int | None] = mapped_column(BigInteger)
    llm_tokens_per_month: Mapped[int | None] = mapped_column(BigInteger)


class Analysis(Base):
    """One analysis: what went in, what came out (the full Report), and under which settings."""

    __tablename__ = "analyses"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'error')", name="status"),
        Index("ix_analyses_created_at", "created_at"),
        Index("ix_analyses_tenant_created_at", "tenant_id", "created_at"),
        Index("ix_analyses_tenant_stored_bytes", "tenant_id", "stored_bytes"),
        Index("ix_analyses_service_created_at", "service", "created_at"),
        Index("ix_analyses_content_hash", "content_hash"),
        Index("ix_analyses_cache_key", "cache_key"),
        Index("ix_analyses_tenant_request_id", "tenant_id", "request_id", unique=True),
        Index("ix_analyses_experiment", "experiment"),
        Index("ix_analyses_meaning_model", "meaning_model", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    input_name: Mapped[str] = mapped_column(String(1024))
    input_bytes: Mapped[int] = mapped_column(BigInteger)
    input_lines: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    cache_key: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(200))
    """The id of the request that asked for it (unique): a request sent again finds it."""
    service: Mapped[str | None] = mapped_column(String(255))
    environment: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(Tags, default=list)
    verdict: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="ok")
    elapsed_s: Mapped[float] = mapped_column(Float)
    engine_version: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(255))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    experiment: Mapped[str | None] = mapped_column(String(80))
    """The A/B experiment it was explained in, and its variant (also when the LLM failed)."""
    variant: Mapped[str | None] = mapped_column(String(40))
    top_title: Mapped[str | None] = mapped_column(Text)
    finding_titles: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text)
    report: Mapped[str] = mapped_column(Text)
    input_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The bytes the Report and the input take: a tenant's quota adds them up, from an index."""
    meaning: Mapped[bytes | None] = mapped_column(LargeBinary)  # `bifrost.embedding`
    meaning_model: Mapped[str | None] = mapped_column(String(64))


class FindingRow(Base):
    """One finding of an analysis, so that "how often did X hit service Y" is plain SQL."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_category", "category"),
        Index("ix_findings_analysis_id", "analysis_id"),
        Index("ix_findings_template_id", "template_id", "rank"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    analysis_id: Mapped[int] = mapped_column(Id, ForeignKey("analyses.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[str] = mapped_column(String(255))
    template: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(BigInteger)
    first_line: Mapped[int] = mapped_column(BigInteger)


class CacheEntry(Base):
    """A cached Report under its key (content hash + every setting that changes the answer)."""

    __tablename__ = "cache_entries"
    __table_args__ = (Index("ix_cache_entries_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    analysis_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("analyses.id", ondelete="CASCADE")
    )
    report: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(BigInteger, default=0)


class CacheCounter(Base):
    """Lifetime cache hits and misses (rows "hits" and "misses", created by the migration)."""

    __tablename__ = "cache_counters"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Feedback(Base):
    """A user's verdict on an analysis: was the top finding the right answer?"""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("verdict IN ('good', 'bad')", name="verdict"),
        Index("ix_feedback_analysis_id", "analysis_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    analysis_id: Mapped[int] = mapped_column(Id, ForeignKey("analyses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verdict: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)


class ApiKeyRow(Base):
    """A key to the HTTP API. Only the SHA-256 of its secret is kept, so a leaked database
    leaks no usable key; the prefix lets people tell their keys apart in `bifrost keys list`.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_key_hash", "key_hash", unique=True),
        Index("ix_api_keys_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = tenant_column()
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(Tags)  # a JSON list of strings, as tags are
    rate: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdHighWater(Base):
    """The highest id ever deleted from a table, so SQLite never gives it again (see 0003)."""

    __tablename__ = "id_high_water"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class JobRow(Base):
    """A request the API queued for the workers (`?wait=false`, `serve --queue`): its log,
    kept compressed until it is analysed, and how far it got."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_request_id", "tenant_id", "request_id", unique=True),
        Index("ix_jobs_created_at", "created_at"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    request_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(200))
    input: Mapped[bytes | None] = mapped_column(LargeBinary)
    analysis_id: Mapped[int | None] = mapped_column(Id)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationRow(Base):
    """One failure's notifications to one destination: when it was last sent, how many
    repeats were held back since (the cool-down), and how the last delivery went."""

    __tablename__ = "notifications"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination: Mapped[str] = mapped_column(String(200))
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_back: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class KnownIssueRow(Base):
    """A resolution a person pinned to a finding's template: every later finding of that
    template shows it ("Known issue: …")."""

    __tablename__ = "known_issues"

    tenant_id: Mapped[int] = tenant_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    note: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    analysis_id: Mapped[int | None] = mapped_column(Id)
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""The history schema: analyses, findings, cache, feedback, and full-text search.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

# SQLite: an external-content FTS5 index over analyses, kept in sync by triggers.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE analyses_fts USING fts5(top_title, summary, finding_titles, "
    "content='analyses', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER analyses_fts_insert AFTER INSERT ON analyses BEGIN "
    "INSERT INTO analyses_fts(rowid, top_title, summary, finding_titles) "
    "VALUES (new.id, new.top_title, new.summary, new.finding_titles); END",
    "CREATE TRIGGER analyses_fts_delete AFTER DELETE ON analyses BEGIN "
    "INSERT INTO analyses_fts(analyses_fts, rowid, top_title, summary, finding_titles) "
    "VALUES ('delete', old.id, old.top_title, old.summary, old.finding_titles); END",
    "CREATE TRIGGER analyses_fts_update AFTER UPDATE OF top_title, summary, finding_titles "
    "ON analyses BEGIN "
    "INSERT INTO analyses_fts(analyses_fts, rowid, top_title, summary, finding_titles) "
    "VALUES ('delete', old.id, old.top_title, old.summary, old.finding_titles); "
    "INSERT INTO analyses_fts(rowid, top_title, summary, finding_titles) "
    "VALUES (new.id, new.top_title, new.summary, new.finding_titles); END",
]

# PostgreSQL: a generated tsvector column with a GIN index.
POSTGRES_FTS = [
    "ALTER TABLE analyses ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector("
    "'english', coalesce(top_title, '') || ' ' || summary || ' ' || finding_titles)) STORED",
    "CREATE INDEX ix_analyses_search ON analyses USING gin (search)",
]


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("input_name", sa.String(1024), nullable=False),
        sa.Column("input_bytes", sa.BigInteger(), nullable=False),
        sa.Column("input_lines", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("environment", sa.String(255), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("engine_version", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("prompt_version", sa.String(64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("top_title", sa.Text(), nullable=True),
        sa.Column("finding_titles", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("input_blob", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('ok', 'error')", name="ck_analyses_status"),
        sa.PrimaryKeyConstraint("id", name="pk_analyses"),
    )
    op.create_index("ix_analyses_created_at", "analyses", ["created_at"])
    op.create_index("ix_analyses_service_created_at", "analyses", ["service", "created_at"])
    op.create_index("ix_analyses_content_hash", "analyses", ["content_hash"])
    op.create_index("ix_analyses_cache_key", "analyses", ["cache_key"])

    op.create_table(
        "findings",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("analysis_id", Id, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("category", sa.String(255), nullable=False),
        sa.Column("template_id", sa.String(255), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_line", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_findings_analysis_id_analyses",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_findings_category", "findings", ["category"])
    op.create_index("ix_findings_analysis_id", "findings", ["analysis_id"])

    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("analysis_id", Id, nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("expires_at", Time, nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_cache_entries"),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_cache_entries_analysis_id_analyses",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_cache_entries_expires_at", "cache_entries", ["expires_at"])

    counters = op.create_table(
        "cache_counters",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cache_counters"),
    )
    op.bulk_insert(counters, [{"name": "hits", "value": 0}, {"name": "misses", "value": 0}])

    op.create_table(
        "feedback",
        sa.Column("id", Id, autoincrement=True),
        sa.Column("analysis_id", Id, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("verdict IN ('good', 'bad')", name="ck_feedback_verdict"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_feedback_analysis_id_analyses",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_feedback_analysis_id", "feedback", ["analysis_id"])

    dialect = op.get_context().dialect.name
    for statement in {"sqlite": SQLITE_FTS, "postgresql": POSTGRES_FTS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TABLE analyses_fts")  # its triggers go with the analyses table
    for table in ("feedback", "cache_counters", "cache_entries", "findings", "analyses"):
        op.drop_table(table)

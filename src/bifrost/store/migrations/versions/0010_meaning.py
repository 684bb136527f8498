"""Meaning: each analysis's embedding, for similar incidents worded differently.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, as in 0004: a batch rebuild would drop the full-text search triggers.
def upgrade() -> None:
    op.add_column("analyses", sa.Column("meaning", sa.LargeBinary(), nullable=True))
    op.add_column("analyses", sa.Column("meaning_model", sa.String(64), nullable=True))
    op.create_index("ix_analyses_meaning_model", "analyses", ["meaning_model", "id"])


def downgrade() -> None:
    op.drop_index("ix_analyses_meaning_model", table_name="analyses")
    op.drop_column("analyses", "meaning_model")
    op.drop_column("analyses", "meaning")

"""Experiments: the A/B experiment and variant that explained an analysis.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, as in 0004: a batch rebuild would drop the full-text search triggers.
def upgrade() -> None:
    op.add_column("analyses", sa.Column("experiment", sa.String(80), nullable=True))
    op.add_column("analyses", sa.Column("variant", sa.String(40), nullable=True))
    op.create_index("ix_analyses_experiment", "analyses", ["experiment"])


def downgrade() -> None:
    op.drop_index("ix_analyses_experiment", table_name="analyses")
    op.drop_column("analyses", "variant")
    op.drop_column("analyses", "experiment")

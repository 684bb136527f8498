"""Findings by template: similar incidents look up the stored findings of a template.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_findings_template_id", "findings", ["template_id", "rank"])


def downgrade() -> None:
    op.drop_index("ix_findings_template_id", table_name="findings")

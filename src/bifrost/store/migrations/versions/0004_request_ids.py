"""An analysis may carry the id of the request that asked for it, unique: a request sent again
(a client's retry, a broker's redelivery) finds its analysis instead of making a second one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite 3.35+ drops columns): a batch rebuild of the
# table would drop its full-text search and high-water triggers.
def upgrade() -> None:
    op.add_column("analyses", sa.Column("request_id", sa.String(200), nullable=True))
    op.create_index("ix_analyses_request_id", "analyses", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_analyses_request_id", table_name="analyses")
    op.drop_column("analyses", "request_id")

"""Ids of deleted analyses are never given again (SQLite): a high-water mark per table.

SQLite hands out max(id) + 1, so deleting the newest analysis would give its id, and its URL
in the API, to the next one. A trigger records the highest id ever deleted and
`save_analysis` numbers new rows above it. PostgreSQL sequences never go back: the table
exists there too (one schema for both) but nothing writes to it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = (
    "CREATE TRIGGER analyses_high_water AFTER DELETE ON analyses BEGIN "
    "INSERT INTO id_high_water(name, value) VALUES ('analyses', OLD.id) "
    "ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value); END"
)


def upgrade() -> None:
    op.create_table(
        "id_high_water",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_id_high_water"),
    )
    if op.get_context().dialect.name == "sqlite":
        op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER analyses_high_water")
    op.drop_table("id_high_water")

"""Tenants: teams that share one server, each with its own data and limits. Everything stored
before moves to the default tenant (id 1), so a single-user history reads as it did.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DEFAULT = "1"
_NEW_SCOPES = (("read", "metrics"), ("admin", "server"))


def _tenant_column() -> sa.Column[int]:
    return sa.Column("tenant_id", Id, nullable=False, server_default=DEFAULT)


# `analyses`, `api_keys` and `jobs` gain the column by plain ALTER TABLE, as in 0004 (a batch
# rebuild of `analyses` would drop its full-text triggers); the unique request ids become
# unique per tenant. `known_issues` is rebuilt: its primary key gains the tenant.
def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rate", sa.String(40), nullable=True),
        sa.Column("analyses_per_day", sa.BigInteger(), nullable=True),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=True),
        sa.Column("llm_tokens_per_month", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_index("ix_tenants_name", "tenants", ["name"], unique=True)
    op.bulk_insert(tenants, [{"id": 1, "name": "default", "created_at": datetime.now(UTC)}])
    if op.get_bind().dialect.name == "postgresql":  # the sequence must start after id 1
        op.execute("SELECT setval(pg_get_serial_sequence('tenants', 'id'), 1)")

    for table in ("analyses", "api_keys", "jobs"):
        op.add_column(table, _tenant_column())
    op.drop_index("ix_analyses_request_id", table_name="analyses")
    op.create_index(
        "ix_analyses_tenant_request_id", "analyses", ["tenant_id", "request_id"], unique=True
    )
    op.create_index("ix_analyses_tenant_created_at", "analyses", ["tenant_id", "created_at"])
    op.add_column(
        "analyses", sa.Column("stored_bytes", sa.BigInteger(), nullable=False, server_default="0")
    )
    octets = "octet_length" if op.get_bind().dialect.name == "postgresql" else "length"
    blob = "input_blob" if octets == "octet_length" else "CAST(input_blob AS BLOB)"
    report = "report" if octets == "octet_length" else "CAST(report AS BLOB)"
    op.execute(
        f"UPDATE analyses SET stored_bytes = {octets}({report}) + coalesce({octets}({blob}), 0)"
    )
    op.create_index("ix_analyses_tenant_stored_bytes", "analyses", ["tenant_id", "stored_bytes"])
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.drop_index("ix_jobs_request_id", table_name="jobs")
    op.create_index("ix_jobs_tenant_request_id", "jobs", ["tenant_id", "request_id"], unique=True)

    _keep_what_keys_did(op.get_bind())

    with op.batch_alter_table("known_issues", recreate="always") as batch:
        batch.add_column(_tenant_column())
        batch.drop_constraint("pk_known_issues", type_="primary")
        batch.create_primary_key("pk_known_issues", ["tenant_id", "template_id"])


def _keep_what_keys_did(connection: sa.Connection) -> None:
    """Before tenants, an `admin` key ran the whole server: it keeps doing so (`server`); a
    `read` key read /metrics: it still does (`metrics`)."""
    scopes_type = sa.JSON().with_variant(JSONB(), "postgresql")
    keys = sa.table("api_keys", sa.column("id", Id), sa.column("scopes", scopes_type))
    for key_id, scopes in connection.execute(sa.select(keys.c.id, keys.c.scopes)).all():
        more = [new for old, new in _NEW_SCOPES if old in scopes and new not in scopes]
        if more:
            connection.execute(
                keys.update().where(keys.c.id == key_id).values(scopes=[*scopes, *more])
            )


def downgrade() -> None:
    with op.batch_alter_table("known_issues", recreate="always") as batch:
        batch.drop_constraint("pk_known_issues", type_="primary")
        batch.drop_column("tenant_id")
        batch.create_primary_key("pk_known_issues", ["template_id"])
    op.drop_index("ix_jobs_tenant_request_id", table_name="jobs")
    op.create_index("ix_jobs_request_id", "jobs", ["request_id"], unique=True)
    op.drop_index("ix_api_keys_tenant_id", table_name="api_keys")
    op.drop_index("ix_analyses_tenant_stored_bytes", table_name="analyses")
    op.drop_column("analyses", "stored_bytes")
    op.drop_index("ix_analyses_tenant_created_at", table_name="analyses")
    op.drop_index("ix_analyses_tenant_request_id", table_name="analyses")
    op.create_index("ix_analyses_request_id", "analyses", ["request_id"], unique=True)
    for table in ("jobs", "api_keys", "analyses"):
        op.drop_column(table, "tenant_id")
    op.drop_table("tenants")

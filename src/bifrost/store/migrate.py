"""Alembic, run programmatically on a connection bifrost already holds (no alembic.ini needed).

The migrations are packaged next to this module; `env.py` runs them on the connection passed
in `Config.attributes["connection"]`, inside the caller's transaction, so that the caller can
hold a lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock) around check-and-upgrade.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

SCRIPT_LOCATION = Path(__file__).with_name("migrations")

# Created by the migrations for full-text search, unknown to the models: autogenerate skips them.
_FTS_TABLE_PREFIX = "analyses_fts"
_FTS_COLUMN = "search"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def known_revision(revision: str) -> bool:
    """Whether this version of bifrost knows the revision (a newer bifrost may have migrated)."""
    return any(s.revision == revision for s in _scripts().walk_revisions())


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def downgrade_to(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate filter: ignore the full-text search objects the models do not describe."""
    if type_ == "table" and name and name.startswith(_FTS_TABLE_PREFIX):
        return False
    return not (type_ in {"column", "index"} and name in {_FTS_COLUMN, "ix_analyses_search"})

"""Alembic migrations of the history database, packaged with bifrost."""

HEAD_REVISION = "0011"
"""The newest migration: checked on every open without loading Alembic (a test keeps it true)."""

"""The web UI is served by the API's application: its tests use the API's harness
(`tests/api/conftest.py`): the real app in process, spoken to with httpx."""

from tests.api.conftest import (  # fixtures, shared by import
    _no_outside_settings,
    api,
    database_url,
    service_log,
    sqlite_api,
    sqlite_template,
    sqlite_url,
)

__all__ = [
    "_no_outside_settings",
    "api",
    "database_url",
    "service_log",
    "sqlite_api",
    "sqlite_template",
    "sqlite_url",
]

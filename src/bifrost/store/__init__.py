"""The history database: every analysis stored, cached and searchable (SQLite or PostgreSQL).

The names below load their module on first use (PEP 562), so that importing one part of the
store does not import the rest: `bifrost analyze` keeps its analyses through `embedded.py`
(the standard library's sqlite3) and never waits for SQLAlchemy, which `database.py` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bifrost.store.database import Store, current, database_url, open_store, upgrade
    from bifrost.store.keys import (
        SCOPES,
        create_key,
        find_key,
        hash_secret,
        list_keys,
        new_secret,
        revoke_key,
        touch_key,
    )
    from bifrost.store.records import (
        AnalysisSummary,
        ApiKey,
        FeedbackEntry,
        NotFound,
        StoredAnalysis,
    )
    from bifrost.store.repository import (
        add_feedback,
        analysis_for_request,
        delete_analysis,
        get_analysis,
        get_input_blob,
        iter_analyses,
        keep_input,
        save_analysis,
        search_analyses,
    )
    from bifrost.store.search import HistoryFilter

_HOMES = {
    "Store": "database",
    "current": "database",
    "database_url": "database",
    "open_store": "database",
    "upgrade": "database",
    "SCOPES": "keys",
    "create_key": "keys",
    "find_key": "keys",
    "hash_secret": "keys",
    "list_keys": "keys",
    "new_secret": "keys",
    "revoke_key": "keys",
    "touch_key": "keys",
    "AnalysisSummary": "records",
    "ApiKey": "records",
    "FeedbackEntry": "records",
    "NotFound": "records",
    "StoredAnalysis": "records",
    "add_feedback": "repository",
    "analysis_for_request": "repository",
    "delete_analysis": "repository",
    "get_analysis": "repository",
    "get_input_blob": "repository",
    "iter_analyses": "repository",
    "keep_input": "repository",
    "save_analysis": "repository",
    "search_analyses": "repository",
    "HistoryFilter": "search",
}
"""Where each public name lives."""

__all__ = [
    "SCOPES",
    "AnalysisSummary",
    "ApiKey",
    "FeedbackEntry",
    "HistoryFilter",
    "NotFound",
    "Store",
    "StoredAnalysis",
    "add_feedback",
    "analysis_for_request",
    "create_key",
    "current",
    "database_url",
    "delete_analysis",
    "find_key",
    "get_analysis",
    "get_input_blob",
    "hash_secret",
    "iter_analyses",
    "keep_input",
    "list_keys",
    "new_secret",
    "open_store",
    "revoke_key",
    "save_analysis",
    "search_analyses",
    "touch_key",
    "upgrade",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"bifrost.store.{home}"), name)

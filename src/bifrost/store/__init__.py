"""The history database: every analysis stored, cached and searchable (SQLite or PostgreSQL)."""

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
    delete_analysis,
    get_analysis,
    get_input_blob,
    iter_analyses,
    keep_input,
    save_analysis,
    search_analyses,
)
from bifrost.store.search import HistoryFilter

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

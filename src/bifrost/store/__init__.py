"""The history database: every analysis stored, cached and searchable (SQLite or PostgreSQL)."""

from bifrost.store.cache import cache_clear, cache_get, cache_put, cache_stats
from bifrost.store.database import Store, current, database_url, open_store, upgrade
from bifrost.store.records import AnalysisSummary, FeedbackEntry, NotFound, StoredAnalysis
from bifrost.store.repository import (
    add_feedback,
    delete_analysis,
    get_analysis,
    get_input_blob,
    iter_analyses,
    save_analysis,
    search_analyses,
)
from bifrost.store.search import HistoryFilter

__all__ = [
    "AnalysisSummary",
    "FeedbackEntry",
    "HistoryFilter",
    "NotFound",
    "Store",
    "StoredAnalysis",
    "add_feedback",
    "cache_clear",
    "cache_get",
    "cache_put",
    "cache_stats",
    "current",
    "database_url",
    "delete_analysis",
    "get_analysis",
    "get_input_blob",
    "iter_analyses",
    "open_store",
    "save_analysis",
    "search_analyses",
    "upgrade",
]

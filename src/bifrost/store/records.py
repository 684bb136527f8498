"""What the store hands back (plain frozen dataclasses) and the one error it adds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from bifrost.errors import BifrostError
from bifrost.report import Report


class NotFound(BifrostError):
    """Nothing stored (analysis or API key) has the id the user gave."""

    code = "not_found"


@dataclass(frozen=True)
class AnalysisSummary:
    """One analysis as history lists and export rows show it (no Report, no raw input)."""

    id: int
    created_at: datetime
    input_name: str
    input_bytes: int
    input_lines: int
    content_hash: str
    service: str | None
    environment: str | None
    tags: list[str]
    verdict: str
    status: str
    elapsed_s: float
    engine_version: str
    provider: str | None
    model: str | None
    prompt_version: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    top_title: str | None
    summary: str

    def to_row(self) -> dict[str, object]:
        """JSON-ready: the time as ISO 8601 UTC, everything else as is."""
        row = {f.name: getattr(self, f.name) for f in fields(AnalysisSummary)}
        row["created_at"] = self.created_at.isoformat()
        return row


@dataclass(frozen=True)
class FeedbackEntry:
    created_at: datetime
    good: bool
    note: str | None


@dataclass(frozen=True)
class StoredAnalysis(AnalysisSummary):
    """One analysis in full: its columns, the parsed Report, and what users said about it."""

    cache_key: str | None
    report: Report
    has_input: bool
    feedback: tuple[FeedbackEntry, ...]


SUMMARY_FIELDS = tuple(f.name for f in fields(AnalysisSummary))


@dataclass(frozen=True)
class ApiKey:
    """An API key as the CLI and the API see it: never its secret, never the secret's hash."""

    id: int
    name: str
    prefix: str  # the secret's first characters ("bfk_AbCdEfGh"), for people to recognise it
    scopes: tuple[str, ...]  # a subset of `bifrost.store.keys.SCOPES`, in that order
    rate: str | None  # canonical, like "600/hour"; None means the server's default
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key still opens the API: a revoked key is kept, to say so when used."""
        return self.revoked_at is None

    def to_row(self) -> dict[str, object]:
        """JSON-ready: times as ISO 8601 UTC (or None), scopes as a list, and `active`."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "rate": self.rate,
            "created_at": self.created_at.isoformat(),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
            "active": self.active,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None

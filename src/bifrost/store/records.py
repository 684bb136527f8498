"""What the store takes and hands back (plain data, no SQLAlchemy) and the one error it adds.

`analysis_row` and `finding_rows` are the rows of one stored analysis, whichever path writes
them (`repository.py` through SQLAlchemy, `embedded.py` through sqlite3).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Literal, TypedDict

from bifrost import __version__
from bifrost.errors import BifrostError
from bifrost.report import Report

DEFAULT_TENANT = 1
"""The tenant every row belongs to unless said otherwise: the embedded single-user history,
keys made without `--tenant`, and everything stored before tenants existed (migration 0011)."""
DEFAULT_TENANT_NAME = "default"


class AnalysisMeta(TypedDict, total=False):
    """What is stored with a Report beyond the Report itself."""

    service: str | None
    environment: str | None
    tags: Sequence[str]
    provider: str | None
    model: str | None
    prompt_version: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    experiment: str | None
    variant: str | None
    status: Literal["ok", "error"]
    cache_key: str | None
    request_id: str | None
    """The asking request's own id (a retry, a redelivery): one analysis per request id."""
    input_blob: bytes | None
    """The raw input already gzip-compressed (`--store-input`); kept as given."""
    created_at: datetime | None
    meaning: bytes | None
    """The leading findings' embedding (`bifrost.embedding.to_bytes`), with the `[memory]`
    extra."""
    meaning_model: str | None


def utcnow() -> datetime:
    return datetime.now(UTC)


def analysis_row(report: Report, meta: AnalysisMeta) -> dict[str, object]:
    """The `analyses` row of a Report (every column but the id and the tenant)."""
    titles = [f.title for f in report.findings]
    stored = report.to_json(indent=None)
    blob = meta.get("input_blob")
    return {
        "created_at": meta.get("created_at") or utcnow(),
        "input_name": report.input.name,
        "input_bytes": report.input.bytes,
        "input_lines": report.input.lines,
        "content_hash": report.input.sha256,
        "cache_key": meta.get("cache_key"),
        "request_id": meta.get("request_id"),
        "service": meta.get("service"),
        "environment": meta.get("environment"),
        "tags": list(meta.get("tags", ())),
        "verdict": report.verdict,
        "status": meta.get("status", "ok"),
        "elapsed_s": report.stats.elapsed_s,
        "engine_version": __version__,
        "provider": meta.get("provider"),
        "model": meta.get("model"),
        "prompt_version": meta.get("prompt_version"),
        "prompt_tokens": meta.get("prompt_tokens"),
        "completion_tokens": meta.get("completion_tokens"),
        "experiment": meta.get("experiment"),
        "variant": meta.get("variant"),
        "top_title": titles[0] if titles else None,
        "finding_titles": "\n".join(titles),
        "summary": report.summary,
        "report": stored,
        "input_blob": blob,
        "stored_bytes": len(stored.encode()) + len(blob or b""),
        "meaning": meta.get("meaning"),
        "meaning_model": meta.get("meaning_model"),
    }


def finding_rows(analysis_id: int, report: Report) -> list[dict[str, object]]:
    """The `findings` rows of a stored Report, ranked from 1."""
    return [
        {
            "analysis_id": analysis_id,
            "rank": rank,
            "title": f.title,
            "severity": f.severity,
            "category": f.category,
            "template_id": f.template_id,
            "template": f.template,
            "count": f.count,
            "first_line": f.first_seen.line,
        }
        for rank, f in enumerate(report.findings, start=1)
    ]


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
    tenant_id: int
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


@dataclass
class Counts:
    """Lookups not yet written: hits and misses, and the hits of each entry."""

    hits: int = 0
    misses: int = 0
    entry_hits: Counter[str] = field(default_factory=Counter)

    def add(self, other: Counts) -> None:
        self.hits += other.hits
        self.misses += other.misses
        self.entry_hits.update(other.entry_hits)


JobStatus = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True)
class Job:
    """An analysis the API queued for the workers (`bifrost serve --queue`)."""

    id: str
    request_id: str
    status: JobStatus
    source: str
    analysis_id: int | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def reference(self) -> str:
        """How a request names this job's log."""
        return "job:" + self.id

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


LEADS = 5
"""The leading findings (by rank) that make an analysis's fingerprint for similar incidents."""


@dataclass(frozen=True)
class Match:
    """A leading finding of a stored analysis whose template one of this run's has."""

    analysis_id: int
    template_id: str
    rank: int


@dataclass(frozen=True)
class PastIncident:
    """A stored analysis as a similar incident shows it, with its latest feedback note."""

    analysis_id: int
    created_at: datetime
    service: str | None
    verdict: str
    top_title: str | None
    leads: int  # its findings ranked LEADS or better
    note: str | None


MAX_MATCHES = 5000
"""Rows of matching findings read, newest first: a template every log has (`exited with 1`)
must not read the whole history."""

MATCHES_SQL = (
    "SELECT f.analysis_id, f.template_id, f.rank FROM findings f "
    "JOIN analyses a ON a.id = f.analysis_id "
    "WHERE a.tenant_id = {tenant} AND f.template_id IN {templates} AND f.rank <= {leads} "
    "AND a.content_hash <> {hash} "
    "ORDER BY f.analysis_id DESC LIMIT {limit}"
)
INCIDENTS_SQL = (
    "SELECT a.id, a.created_at, a.service, a.verdict, a.top_title, "
    "(SELECT count(*) FROM findings f WHERE f.analysis_id = a.id AND f.rank <= {leads}), "
    "(SELECT fb.note FROM feedback fb WHERE fb.analysis_id = a.id AND fb.note IS NOT NULL "
    "ORDER BY fb.id DESC LIMIT 1) "
    "FROM analyses a WHERE a.tenant_id = {tenant} AND a.id IN {ids}"
)
"""The queries of similar incidents, as SQL both paths run (`similar.py` through
SQLAlchemy, `embedded.py` through sqlite3), each filling in its own placeholders: a list
`{templates}` or `{ids}` with its parentheses (SQLAlchemy's expanding parameter adds them).
Each reads one tenant's analyses (`{tenant}`, always the first parameter)."""
MEANINGS_SQL = (
    "SELECT a.id, a.meaning FROM analyses a "
    "WHERE a.tenant_id = {tenant} AND a.meaning_model = {model} AND a.content_hash <> {hash} "
    "ORDER BY a.id DESC LIMIT {limit}"
)
MEANING_SQL = (
    "SELECT a.meaning_model, a.meaning FROM analyses a WHERE a.tenant_id = {tenant} AND a.id = {id}"
)
MAX_MEANINGS = 5_000
"""The newest analyses compared by meaning (7.5 MB of vectors): an exact search over a
bounded recent history (see `analysis/similar.py`); templates reach further back."""

"""Similar past incidents: "we have seen this before, and this is what fixed it".

An analysis's fingerprint is the templates of its leading findings (`LEADS`), weighted by
rank (1/rank): the same line in any log has the same template, so this matches the same
failure across logs, projects and days exactly. Two analyses are as alike as the cosine of
their fingerprints. The store finds the stored leading findings of the same templates
(newest first, bounded); this module scores them and keeps the best few, with what a person
left on them: a known issue pinned to a shared template, else the latest feedback note.

The same log analysed again (the same content) is not a past incident of itself.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from bifrost.report import KnownIssue, Report, SimilarIncident
from bifrost.store.records import LEADS, Match, PastIncident

SHOWN = 3
MIN_SIMILARITY = 0.3
"""Below it, two analyses share little more than a generic line."""
SCORED = 50
"""Candidates scored in full (their fingerprint's size read), best partial overlap first."""


class Incidents(Protocol):
    """What similar incidents need of the history (`History` in `run.py`)."""

    async def matches(self, template_ids: list[str], content_hash: str) -> list[Match]: ...

    async def incidents(self, analysis_ids: list[int]) -> list[PastIncident]: ...

    async def known_issues(self, template_ids: list[str]) -> dict[str, KnownIssue]: ...


def fingerprint(report: Report) -> dict[str, float]:
    """The leading findings' templates, each weighted 1/rank (a template twice: its best)."""
    weights: dict[str, float] = {}
    for rank, finding in enumerate(report.findings[:LEADS], start=1):
        weights.setdefault(finding.template_id, 1.0 / rank)
    return weights


def _norm(ranks: int) -> float:
    """The length of a fingerprint of `ranks` leading findings ranked 1, 2, …"""
    return math.sqrt(sum(1.0 / r**2 for r in range(1, ranks + 1)))


def overlaps(ours: dict[str, float], found: Sequence[Match]) -> dict[int, dict[str, float]]:
    """Each matching analysis's weights of the templates it shares with ours."""
    theirs: defaultdict[int, dict[str, float]] = defaultdict(dict)
    for match in found:
        if match.template_id in ours:
            weight = 1.0 / match.rank
            shared = theirs[match.analysis_id]
            shared[match.template_id] = max(shared.get(match.template_id, 0.0), weight)
    return dict(theirs)


def cosine(ours: dict[str, float], shared: dict[str, float], their_leads: int) -> float:
    dot = sum(ours[t] * w for t, w in shared.items())
    size = math.sqrt(sum(w * w for w in ours.values())) * _norm(max(their_leads, len(shared)))
    return dot / size if size else 0.0


async def similar_incidents(history: Incidents, report: Report) -> list[SimilarIncident]:
    """Up to `SHOWN` stored analyses of the same failure, most alike first."""
    ours = fingerprint(report)
    if not ours:
        return []
    theirs = overlaps(ours, await history.matches(list(ours), report.input.sha256))
    partial = sorted(theirs, key=lambda i: (-sum(ours[t] * w for t, w in theirs[i].items()), -i))
    details = {p.analysis_id: p for p in await history.incidents(partial[:SCORED])}
    scored = sorted(
        (
            (round(cosine(ours, theirs[i], details[i].leads), 3), i)
            for i in partial[:SCORED]
            if i in details
        ),
        key=lambda pair: (-pair[0], -pair[1]),
    )
    best = [(score, i) for score, i in scored if score >= MIN_SIMILARITY][:SHOWN]
    if not best:
        return []
    pinned = await history.known_issues(list(ours))
    return [_incident(details[i], score, theirs[i], pinned) for score, i in best]


def _incident(
    past: PastIncident, score: float, shared: dict[str, float], pinned: dict[str, KnownIssue]
) -> SimilarIncident:
    known = next((pinned[t] for t in shared if t in pinned), None)
    return SimilarIncident(
        analysis_id=past.analysis_id,
        created_at=past.created_at,
        service=past.service,
        verdict=past.verdict,  # type: ignore[arg-type]  # stored from a Verdict
        title=past.top_title,
        similarity=min(1.0, score),
        shared=len(shared),
        resolution=known.note if known is not None else past.note,
    )

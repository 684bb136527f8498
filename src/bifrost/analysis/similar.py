"""Similar past incidents: "we have seen this before, and this is what fixed it".

An analysis's fingerprint is the templates of its leading findings (`LEADS`), weighted by
rank (1/rank): the same line in any log has the same template, so this matches the same
failure across logs, projects and days exactly. Two analyses are as alike as the cosine of
their fingerprints. The store finds the stored leading findings of the same templates
(newest first, bounded); this module scores them and keeps the best few, with what a person
left on them: a known issue pinned to a shared template, else the latest feedback note.

A template match needs the same line. With the `[memory]` extra, an analysis also has a
*meaning*: the embedding of its leading findings' titles (redacted; `bifrost.embedding`),
which lands near that of the same failure worded by another version of a tool. The newest
`MAX_MEANINGS` stored meanings are compared exactly (numpy; a matrix of 5,000 × 384 takes a
few milliseconds): Python's own sqlite3 here cannot load sqlite-vec, and an exact search
over a bounded recent history needs neither it nor pgvector. Two analyses are as alike as
the better of the two measures, the meaning counting only from `MEANING_MIN` (below it,
unrelated failures that share the words of logs).

The same log analysed again (the same content) is not a past incident of itself.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bifrost import embedding
from bifrost.config import Settings
from bifrost.report import KnownIssue, Report, SimilarIncident
from bifrost.store.records import LEADS, Match, PastIncident

if TYPE_CHECKING:
    from bifrost.embedding import Vectors

SHOWN = 3
MIN_SIMILARITY = 0.3
"""Below it, two analyses share little more than a generic line."""
SCORED = 50
"""Candidates scored in full (their fingerprint's size read), best partial overlap first."""
MEANING_MIN = 0.7
"""The cosine of two meanings from which they count as the same failure."""


class Incidents(Protocol):
    """What similar incidents need of the history (`History` in `run.py`)."""

    async def matches(self, template_ids: list[str], content_hash: str) -> list[Match]: ...

    async def incidents(self, analysis_ids: list[int]) -> list[PastIncident]: ...

    async def known_issues(self, template_ids: list[str]) -> dict[str, KnownIssue]: ...

    async def meanings(self, model: str, content_hash: str) -> list[tuple[int, bytes]]: ...


@dataclass(frozen=True)
class Meaning:
    """An analysis's embedding, and the model that made it."""

    model: str
    vector: Vectors

    def to_bytes(self) -> bytes:
        return embedding.to_bytes(self.vector)


def incident_text(report: Report) -> str:
    """What a failure says, for its meaning: the leading findings' titles, secrets redacted."""
    from bifrost.llm.redact import Redactor  # noqa: PLC0415 — only with the [memory] extra

    redactor = Redactor()
    return "\n".join(redactor.redact(f.title) for f in report.findings[:LEADS])


def meaning_of(report: Report, settings: Settings) -> Meaning | None:
    """The Report's meaning; None without findings, without the `[memory]` extra, or when
    `similar_by_meaning` is off. Takes about 20 ms (and 0.5 s to load the model once)."""
    if not report.findings or not settings.similar_by_meaning:
        return None
    model = embedding.embedder()
    if model is None:
        return None
    return Meaning(embedding.MODEL_ID, model.embed([incident_text(report)])[0])


def stored_meaning(stored: tuple[str, bytes], settings: Settings) -> Meaning | None:
    """A meaning as the history keeps it (model, vector bytes), when it is of the model in
    use and `similar_by_meaning` is on."""
    model, blob = stored
    if model != embedding.MODEL_ID or not settings.similar_by_meaning or not embedding.available():
        return None
    return Meaning(model, embedding.from_bytes([blob])[0])


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


async def similar_incidents(
    history: Incidents, report: Report, meaning: Meaning | None = None
) -> list[SimilarIncident]:
    """Up to `SHOWN` stored analyses of the same failure, most alike first: by templates, and
    by `meaning` when given."""
    ours = fingerprint(report)
    if not ours:
        return []
    theirs = overlaps(ours, await history.matches(list(ours), report.input.sha256))
    partial = sorted(theirs, key=lambda i: (-sum(ours[t] * w for t, w in theirs[i].items()), -i))
    near = await _nearest(history, meaning, report.input.sha256) if meaning else {}
    candidates = list(dict.fromkeys([*partial[:SCORED], *near]))
    details = {p.analysis_id: p for p in await history.incidents(candidates)}
    scored = sorted(
        (
            (round(max(_template_score(ours, theirs, details[i]), near.get(i, 0.0)), 3), i)
            for i in candidates
            if i in details
        ),
        key=lambda pair: (-pair[0], -pair[1]),
    )
    best = [(score, i) for score, i in scored if score >= MIN_SIMILARITY][:SHOWN]
    if not best:
        return []
    pinned = await history.known_issues(list(ours))
    return [
        _incident(details[i], score, theirs.get(i, {}), near.get(i), pinned) for score, i in best
    ]


def _template_score(
    ours: dict[str, float], theirs: dict[int, dict[str, float]], past: PastIncident
) -> float:
    shared = theirs.get(past.analysis_id)
    return cosine(ours, shared, past.leads) if shared else 0.0


async def _nearest(history: Incidents, meaning: Meaning, content_hash: str) -> dict[int, float]:
    """The newest analyses whose meaning is at least `MEANING_MIN` alike, the `SCORED`
    nearest, with their cosines (vectors are unit length: a dot product)."""
    stored = await history.meanings(meaning.model, content_hash)
    if not stored:
        return {}
    ids = [analysis_id for analysis_id, _ in stored]
    cosines = embedding.from_bytes([blob for _, blob in stored]) @ meaning.vector
    ranked = sorted(range(len(ids)), key=lambda k: -float(cosines[k]))[:SCORED]
    return {ids[k]: float(cosines[k]) for k in ranked if cosines[k] >= MEANING_MIN}


def _incident(
    past: PastIncident,
    score: float,
    shared: dict[str, float],
    meaning: float | None,
    pinned: dict[str, KnownIssue],
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
        meaning=round(min(1.0, meaning), 3) if meaning is not None else None,
        resolution=known.note if known is not None else past.note,
    )

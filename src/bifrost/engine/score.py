"""Scoring: turn the scan's troubled templates into ranked findings.

A template's score mixes what it says (level, trouble words, a known failure signature), how
rare it is, and where it sits relative to the failure: the lines just before the first fatal
line, and near the end of a failed run, explain more than noise long before or after it.
Deprecations and retries that later succeed are kept down.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from bifrost.engine import evidence
from bifrost.engine.bursts import burst
from bifrost.engine.scan import Occurrence, Scan, TemplateStats
from bifrost.engine.signatures import Signature, match
from bifrost.engine.vocabulary import is_mild, trouble_words
from bifrost.levels import LEVELS, RANK
from bifrost.report import SEVERITY_RANK, Evidence, Finding, Position, Severity

_SEVERITY_WEIGHT: dict[str, float] = {"info": 0.1, "warning": 0.35, "error": 0.7, "critical": 1.0}
_MAX_FINDINGS = 50
_GAP = 3  # lines between two troubled events that still make them one block
_SHORT_EVENT = 4  # an event this short is shown whole even when it is not the lead's
_VARIABLE = re.compile(r"(?:<\*>\s*)+")


@dataclass
class Candidate:
    stats: TemplateStats
    signature: Signature | None
    severity: Severity
    score: float


def findings(scan: Scan, *, evidence_lines: int = 15) -> list[Finding]:
    """The troubled templates of a scan as findings, most important first."""
    candidates = [_candidate(scan, s) for s in scan.stats.values() if s.trouble and s.count]
    if not candidates:
        return []
    failure_line = _first_failure(candidates)
    for candidate in candidates:
        candidate.score *= _place_weight(scan, candidate.stats, failure_line)
    groups = _group(candidates)
    groups.sort(key=lambda g: (-g[0].score, g[0].stats.first or (0, 0)))
    top = groups[:_MAX_FINDINGS]
    best = top[0][0].score
    return [
        _finding(scan, group, rank, best, evidence_lines) for rank, group in enumerate(top, start=1)
    ]


def _group(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Candidates that are one problem, best first in each group.

    Two templates are one problem when they were first seen in the same event (an error line
    and the exception under it) or match the same known signature (the same failure worded
    differently, or seen on many ranks).
    """
    owner: dict[tuple[object, ...], int] = {}
    parent = list(range(len(candidates)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, candidate in enumerate(candidates):
        for key in _group_keys(candidate):
            j = owner.setdefault(key, i)
            if j != i:
                parent[root(i)] = root(j)
    signature = {root(i): c.signature.id for i, c in enumerate(candidates) if c.signature}
    for i, j in _neighbours(candidates):
        a, b = root(i), root(j)
        if a != b and signature.get(a, signature.get(b)) == signature.get(b, signature.get(a)):
            parent[a] = b  # neighbours join unless they are two different known failures
            if a in signature:
                signature[b] = signature[a]
    groups: dict[int, list[Candidate]] = {}
    for i, candidate in enumerate(candidates):
        groups.setdefault(root(i), []).append(candidate)
    return [sorted(g, key=lambda c: -c.score) for g in groups.values()]


def _neighbours(candidates: list[Candidate]) -> list[tuple[int, int]]:
    """Pairs of errors whose first events touch (at most `_GAP` lines apart): one block of error
    output, such as Gradle's `FAILED` / `What went wrong` / exception lines. Warnings next to
    an error (a deprecation, a retry) stay apart: they are not the error."""
    placed = sorted(
        (o.file, o.start, o.start + len(o.lines) - 1, i)
        for i, c in enumerate(candidates)
        for o in c.stats.occurrences[:1]
        if SEVERITY_RANK[c.severity] >= SEVERITY_RANK["error"]
    )
    pairs = []
    for (file_a, _, end_a, a), (file_b, start_b, _, b) in itertools.pairwise(placed):
        if file_a == file_b and start_b - end_a <= _GAP:
            pairs.append((a, b))
    return pairs


def _group_keys(candidate: Candidate) -> list[tuple[object, ...]]:
    keys: list[tuple[object, ...]] = []
    if candidate.signature is not None:
        keys.append(("signature", candidate.signature.id))
    occurrence = candidate.stats.occurrence
    if occurrence is not None and len(occurrence.lines) > 1:
        keys.append(("event", occurrence.file, occurrence.start))
    return keys


def _candidate(scan: Scan, stats: TemplateStats) -> Candidate:
    occurrence = stats.occurrence
    text = scan.template_text(stats.index)
    example = _example_lines(stats)
    signature = _best_signature(example)
    level_severity = _level_severity(stats.level)
    words = trouble_words(text)
    vocab_severity: Severity = "error" if words else "info"
    if words and 0 <= stats.level <= RANK["notice"]:
        vocab_severity = "warning"  # the program itself said this was information
    severity = max(
        (level_severity, vocab_severity, signature.severity if signature else "info"),
        key=SEVERITY_RANK.__getitem__,
    )
    score = _SEVERITY_WEIGHT[severity]
    score += 0.05 * min(words, 3)
    if signature is not None:
        # A negative priority marks a generic wrapper (`exit code 1`, `BUILD FAILURE`): it
        # ranks below the cause. A positive one only chooses between signatures of a line.
        score += 0.35 + 0.05 * max(-4, min(signature.priority, 0))
    score *= 0.5 + 0.5 / (1.0 + math.log10(stats.count))  # rarity
    if is_mild(text):  # a retry or a deprecation: worth a look, rarely the cause
        score *= 0.3
        severity = min(severity, "warning", key=SEVERITY_RANK.__getitem__)
    if occurrence is not None and len(occurrence.lines) > 1:
        score += 0.05  # a whole stack trace or wrapped message
    if stats.histogram is not None:
        score += 0.15 * burst(stats.histogram, scan.histogram_shift, scan.lines)
    return Candidate(stats=stats, signature=signature, severity=severity, score=score)


def _example_lines(stats: TemplateStats) -> list[str]:
    occurrence = stats.occurrence
    if occurrence is None:
        return [stats.last_text] if stats.last_text else []
    return occurrence.lines[:50]


def _best_signature(lines: list[str]) -> Signature | None:
    found = [s for s in map(match, lines) if s is not None]
    if not found:
        return None
    return max(found, key=lambda s: (s.priority, SEVERITY_RANK[s.severity]))


def _level_severity(level: int) -> Severity:
    if level >= RANK["critical"]:
        return "critical"
    if level >= RANK["error"]:
        return "error"
    return "warning" if level >= RANK["warning"] else "info"


def _first_failure(candidates: list[Candidate]) -> tuple[int, int] | None:
    """Where the run first went fatally wrong: the first critical (or else error) finding."""
    for wanted in ("critical", "error"):
        firsts = [c.stats.first for c in candidates if c.severity == wanted and c.stats.first]
        if firsts:
            return min(firsts)
    return None


def _place_weight(scan: Scan, stats: TemplateStats, failure: tuple[int, int] | None) -> float:
    """Lines at or just before the failure weigh most; the end of a run more than its start."""
    if stats.first is None:
        return 1.0
    file, line = stats.first
    total = scan.line_files[file] if file < len(scan.line_files) else scan.lines
    weight = 0.8 + 0.4 * (line / max(total, 1))  # later in the run: closer to the failure
    if failure is not None and failure[0] == file:
        distance = failure[1] - line
        if 0 <= distance <= max(50, total // 50):
            weight += 0.25
        elif distance < -max(50, total // 20):
            weight -= 0.15  # aftermath: far after the first failure
    return weight


def _finding(scan: Scan, group: list[Candidate], rank: int, best: float, limit: int) -> Finding:
    lead = group[0]
    stats = lead.stats
    text = scan.template_text(stats.index)
    signature = next((c.signature for c in group if c.signature), None)
    severity = max((c.severity for c in group), key=SEVERITY_RANK.__getitem__)
    title = signature.title if signature else _title(text)
    category = signature.id if signature else f"log.{LEVELS[stats.level]}"
    if stats.level < 0 and signature is None:
        category = "log.trouble"
    first = min(c.stats.first or (0, 0) for c in group)
    last = max(c.stats.last or first for c in group)
    first_lines = next(
        (o.lines for c in group for o in c.stats.occurrences[:1] if c.stats.first == first), []
    )
    last_text = next((c.stats.last_text for c in group if c.stats.last == last), "")
    return Finding(
        id=f"F{rank}",
        title=title,
        severity=severity,
        category=category,
        score=round(lead.score / best, 3) if best else 0.0,
        template_id=scan.template_id(stats.index),
        template=text,
        count=_group_count(group),
        first_seen=_position(scan, first, first_lines),
        last_seen=_position(scan, last, [last_text] if last_text else []),
        evidence=_evidence(scan, group, limit),
        explanation=signature.explanation if signature else None,
        suggestion=signature.suggestion if signature else None,
        signature=signature.id if signature else None,
        sources=sorted(set().union(*(c.stats.sources for c in group))),
    )


def _group_count(group: list[Candidate]) -> int:
    """Occurrences of the problem: templates seen in one event count once, others add up."""
    per_event: dict[tuple[object, ...], int] = {}
    for c in group:
        occurrence = c.stats.occurrence
        key: tuple[object, ...] = (
            (occurrence.file, occurrence.start) if occurrence else ("template", c.stats.index)
        )
        per_event[key] = max(per_event.get(key, 0), c.stats.count)
    return sum(per_event.values())


def _title(template: str) -> str:
    """A readable title from a template: variables shown as `…`, cut at a word boundary."""
    title = _VARIABLE.sub("… ", template).strip()
    if len(title) > 90:
        title = title[:87].rsplit(" ", 1)[0] + " …"
    return title[:1].upper() + title[1:]


def _position(scan: Scan, where: tuple[int, int], lines: list[str]) -> Position:
    file, line = where
    ts = None
    if lines:
        ts = scan.timestamp(file, lines[0])
    return Position(line=line, ts=ts, file=_file_name(scan, file))


def _file_name(scan: Scan, file: int) -> str | None:
    return scan.sources[file].name if len(scan.sources) > 1 else None


def _evidence(scan: Scan, group: list[Candidate], limit: int) -> list[Evidence]:
    """What to show, within `limit` lines, in line order: the lead's first event (trimmed), then
    the line of each other template of the group, then later occurrences (the same error
    elsewhere), one line each."""
    lead, *others = group
    chosen: list[tuple[Occurrence, list[tuple[int, int]]]] = []
    budget = limit
    seen: set[tuple[int, int]] = set()
    for occurrence in lead.stats.occurrences[:1]:
        runs = evidence.select(occurrence.lines, limit=limit * 2 // 3)
        chosen.append((occurrence, runs))
        budget -= sum(b - a + 1 for a, b in runs)
        seen.add((occurrence.file, occurrence.line))
    singles = [c.stats.occurrences[:1] for c in others] + [c.stats.occurrences[1:] for c in group]
    for occurrence in (o for batch in singles for o in batch):
        if budget <= 0:
            break
        if (occurrence.file, occurrence.line) in seen or _inside(occurrence, chosen):
            continue
        seen.add((occurrence.file, occurrence.line))
        offset = occurrence.line - occurrence.start
        runs = [(offset, offset)]
        if offset == 0 and len(occurrence.lines) <= _SHORT_EVENT:  # `cannot find symbol` + 2
            runs = [(0, len(occurrence.lines) - 1)]
        chosen.append((occurrence, runs))
        budget -= sum(b - a + 1 for a, b in runs)
    items = [
        Evidence(
            line=o.start + first,
            end_line=o.start + last,
            text="\n".join(o.lines[first : last + 1]),
            file=_file_name(scan, o.file),
        )
        for o, runs in chosen
        for first, last in runs
    ]
    return sorted(items, key=lambda e: (e.file or "", e.line))


def _inside(occurrence: Occurrence, chosen: list[tuple[Occurrence, list[tuple[int, int]]]]) -> bool:
    """Whether the occurrence's own line is already among the lines chosen."""
    return any(
        o.file == occurrence.file and o.start + a <= occurrence.line <= o.start + b
        for o, runs in chosen
        for a, b in runs
    )

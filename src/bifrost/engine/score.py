"""Scoring: turn the scan's candidates into ranked findings.

Candidates are the troubled templates (an error level, trouble words, a known signature) and
every line of the windows the scan kept before each failing step's exit line and at the end
of each input, where causes without error words are printed. Each candidate is measured
(`features`) and scored by the learned ranker (`ranker`); candidates that are one problem
are grouped, and groups are ranked by their best member.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, replace

from bifrost.choices import Severity
from bifrost.engine import events, evidence, steps
from bifrost.engine import normal as normal_model
from bifrost.engine import ranker as ranker_model
from bifrost.engine.features import Context, own_line, vector, words
from bifrost.engine.normal import Normal
from bifrost.engine.ranker import Ranker
from bifrost.engine.scan import Occurrence, Scan, TemplateStats, Window
from bifrost.engine.signatures import Signature, match
from bifrost.engine.vocabulary import is_mild, trouble_words
from bifrost.levels import LEVELS, RANK
from bifrost.report import SEVERITY_RANK, Evidence, Finding, Position

SUSPICIOUS = "log.suspicious"
"""The category of a finding whose lines say nothing wrong themselves, but sit where the
failure happened (before a failing step's exit line, at the end of the log)."""

_MAX_FINDINGS = 50
_GAP = 3  # lines between two troubled events that still make them one block
_SHORT_EVENT = 4  # an event this short is shown whole even when it is not the lead's
_CONTEXT = 3  # lines kept before a window's event, as the scan keeps before its events
_MILD = 0.3  # what a retry, a deprecation or a skipped test keeps of its score
_SUSPICIOUS = 0.5  # a line without trouble of its own is reported from this probability on
_LETTER = re.compile(r"[^\W\d_]")
_FOLLOWING = re.compile(r"\bfollowing\b", re.IGNORECASE)
_VARIABLE = re.compile(r"(?:<\*>\s*)+")
# A source location leading a message: `src/app.py:12:`, `helm.go:84:`, `main.c:3:5:`.
_LOCATED = re.compile(r"(?P<path>[\w.\\/-]+\.\w{1,8})(?:\s*:\s*(?:…|\d+))+\s*:?\s*(?P<rest>.*)")


@dataclass
class Candidate:
    stats: TemplateStats
    lead: Occurrence | None  # the occurrence measured and shown first
    signature: Signature | None
    severity: Severity
    wrapper: bool  # only says that something failed (see `steps`)
    troubles: int  # trouble words of its template or its own line
    features: tuple[float, ...] = ()
    words: frozenset[str] = frozenset()
    score: float = 0.0  # the ranker's probability that this explains the failure


def findings(
    scan: Scan,
    *,
    evidence_lines: int = 15,
    ranker: Ranker | None = None,
    normal: Normal | None = None,
) -> list[Finding]:
    """The candidates of a scan as findings, most important first."""
    ranker = ranker or ranker_model.packaged()
    context, scored = _candidates(scan, normal or normal_model.packaged())
    for candidate in scored:
        candidate.score = ranker.probability(candidate.features, candidate.words)
    _hand_over(context, scored)
    _errors_first_outside_steps(context, scored)
    for candidate in scored:
        if is_mild(scan.template_text(candidate.stats.index)):
            candidate.score *= _MILD  # a retry or a deprecation is rarely the cause
    kept = _kept(scan, scored)
    if not kept:
        return []
    groups = _group(kept)
    groups.sort(key=lambda g: (-_score(g), not _specific(g[0]), _where(g[0])))
    top = groups[:_MAX_FINDINGS]
    best = _score(top[0])
    return [
        _finding(scan, group, rank, best, evidence_lines) for rank, group in enumerate(top, start=1)
    ]


def candidates(scan: Scan, normal: Normal) -> list[Candidate]:
    """Every candidate of a scan with its features, in no particular order."""
    return _candidates(scan, normal)[1]


def _candidates(scan: Scan, normal: Normal) -> tuple[Context, list[Candidate]]:
    context = Context.of(scan, normal)
    in_windows = _window_occurrences(scan)
    chosen = [
        candidate
        for index, stats in scan.stats.items()
        if stats.count and (stats.trouble or index in in_windows)
        for candidate in [_candidate(scan, stats, in_windows.get(index))]
        if not _announces(candidate.stats)
    ]
    for candidate in chosen:  # `BUILD FAILURE`, torchrun's summary: wrappers known by signature
        if candidate.signature and candidate.signature.wrapper and candidate.lead:
            bisect.insort(context.wrappers.setdefault(candidate.lead.file, []), candidate.lead.line)
    first_errors, last_errors = _first_and_last_errors(context, chosen)
    for candidate in chosen:
        candidate.features = vector(
            context,
            candidate.stats,
            scan.template_text(candidate.stats.index),
            candidate.lead,
            candidate.signature,
            troubles=candidate.troubles,
            wrapper=candidate.wrapper,
            first_error=id(candidate) in first_errors,
            last_error=id(candidate) in last_errors,
        )
        lead = candidate.lead
        candidate.words = words(own_line(lead) if lead else candidate.stats.last_text)
    return context, chosen


def _kept(scan: Scan, scored: list[Candidate]) -> list[Candidate]:
    """The candidates worth reporting: every troubled one; when the input shows that
    something failed, the lines without trouble words of their own that score high enough,
    and in each failing step at least its most suspicious line (the step failed: its best
    guess is better than nothing)."""
    troubled = [c for c in scored if c.stats.trouble]
    failed = any(SEVERITY_RANK[c.severity] >= SEVERITY_RANK["error"] for c in troubled)
    if not scan.failures and not failed:
        return troubled
    quiet = [c for c in scored if not c.stats.trouble and c.lead is not None]
    kept = {id(c) for c in quiet if c.score >= _SUSPICIOUS}
    for window in scan.failures:
        if window.exit and window.end is not None:
            inside = [
                c
                for c in quiet
                if c.lead is not None
                and c.lead.file == window.file
                and window.step_start <= c.lead.line < window.end
            ]
            if inside:
                kept.add(id(max(inside, key=lambda c: c.score)))
    return troubled + [c for c in quiet if id(c) in kept]


def _announces(stats: TemplateStats) -> bool:
    """An echoed command or a header (`=== FAILURES ===`): it introduces what explains the
    failure, and is never the explanation."""
    return stats.command or stats.role == steps.HEADER


def _hand_over(context: Context, scored: list[Candidate]) -> None:
    """Cause before symptom: a wrapper (`npm ERR! code ELIFECYCLE`, `make: *** Error 1`) hands
    its score to the most specific error before it in its step, and ranks just below it. A
    cause without a known signature takes the wrapper's, when that one says what kind of
    failure it was (`2 failed, 40 passed` is a failing test).

    The most specific error is the best-scored error-level candidate of the step before the
    wrapper (an input without steps is one step) that a known signature identifies, else its
    best-scored error, or its best warning when it printed no error (`-Werror`, a linter that
    fails on warnings). An identified error also ranks above the step's other errors: they
    are its details or advice (npm's `Fix the upstream dependency conflict`). A step without
    an error or warning keeps its wrapper's rank: the ranker alone decides whether a line
    without error words explains it. What the
    step prints after the wrapper (a coverage report, a summary, npm's debug lines) is
    aftermath: it ranks below the cause too."""
    for wrapper in sorted((c for c in scored if c.wrapper and c.lead), key=lambda c: -c.score):
        assert wrapper.lead is not None
        step = context.step_of(wrapper.lead.file, wrapper.lead.line) or (1, wrapper.lead.line)
        before = [
            c
            for c in scored
            if not c.wrapper
            and c.lead is not None
            and c.lead.file == wrapper.lead.file
            and step[0] <= c.lead.line < wrapper.lead.line
        ]
        errors = [c for c in before if SEVERITY_RANK[c.severity] >= SEVERITY_RANK["error"]]
        warnings = [c for c in before if c.severity == "warning"]  # `-Werror`, strict linters
        if not errors and not warnings:
            continue
        known = [c for c in errors if _specific(c)]  # identified by the knowledge base
        cause = max(known or errors or warnings, key=lambda c: c.score)
        cause.score = max(cause.score, wrapper.score)
        if known:  # what else the step printed is its detail or advice
            cause.score = max(cause.score, *(c.score for c in errors))
        wrapper.score = min(wrapper.score, cause.score * 0.99)
        if cause.signature is None and wrapper.signature and not wrapper.signature.wrapper:
            cause.signature = wrapper.signature  # `2 failed`: the test that failed explains
        end = context.aftermath_end(wrapper.lead.file, wrapper.lead.line)
        for later in scored:
            if (
                later.lead is not None
                and later.lead.file == wrapper.lead.file
                and wrapper.lead.line < later.lead.line <= end
            ):
                later.score = min(later.score, cause.score * 0.98)


def _errors_first_outside_steps(context: Context, scored: list[Candidate]) -> None:
    """A line without trouble words of its own may explain a failing build step: the step's
    exit line says something failed there. Outside a failing step nothing vouches for it,
    so it ranks below the best error of its input."""
    best: dict[int, float] = {}
    for c in scored:
        if (
            c.lead is not None
            and c.stats.trouble
            and SEVERITY_RANK[c.severity] >= SEVERITY_RANK["error"]
        ):
            best[c.lead.file] = max(best.get(c.lead.file, 0.0), c.score)
    for c in scored:
        if c.stats.trouble or c.lead is None or c.lead.file not in best:
            continue
        if not context.in_failed_step(c.lead):
            c.score = min(c.score, best[c.lead.file] * 0.99)


def _window_occurrences(scan: Scan) -> dict[int, Occurrence]:
    """The first occurrence of each template in the windows, failing steps first."""
    found: dict[int, Occurrence] = {}
    for window in [*scan.failures, *scan.ends]:
        commands = [i for i, line in enumerate(window.lines) if steps.is_shell_echo(line)]
        for offset, (first, last) in _window_events(window):
            index = scan.miner.find(window.templates[offset])
            if index not in found:
                above = bisect.bisect_left(commands, first) - 1
                command = commands[above] if above >= 0 else None
                found[index] = Occurrence(
                    file=window.file,
                    line=window.start + offset,
                    start=window.start + first,
                    lines=window.lines[first : last + 1],
                    context=window.lines[max(0, first - _CONTEXT) : first],
                    after=window.lines[last + 1 : last + 1 + evidence.AFTER_LINES],
                    command=None
                    if command is None
                    else (window.start + command, window.lines[command]),
                )
    return found


def _window_events(window: Window) -> list[tuple[int, tuple[int, int]]]:
    """(offset of a line worth measuring, the event it belongs to) for a window's lines: every
    line that starts an event or stands alone, and the headline lines inside events."""
    spans = _with_details(window, events.spans(window.classes))
    inside: dict[int, tuple[int, int]] = {}
    for first, last in spans:
        for offset in range(first, last + 1):
            inside[offset] = (first, last)
    chosen = []
    for offset, cls in enumerate(window.classes):
        if cls == events.BLANK or not _LETTER.search(window.lines[offset]):
            continue  # a blank line, a rule, progress dots, a lone bracket: never the cause
        span = inside.get(offset, (offset, offset))
        if span[0] == offset or events.is_headline(cls):
            chosen.append((offset, span))
    return chosen


def _with_details(window: Window, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The events, with a line that announces a list (`… are not available:`) joined to the
    indented lines after it, across one blank line: the list is what explains it. When such a
    line says that the `following` list is the problem, the line right after the list is the
    verdict on it (apt's `E: Unable to correct problems`) and joins too."""
    classes, lines = window.classes, window.lines
    joined: list[tuple[int, int]] = []
    i = 0
    while i < len(classes):
        first = i + 1 + (i + 1 < len(classes) and classes[i + 1] == events.BLANK)
        if classes[i] != events.BLANK and lines[i].rstrip().endswith(":"):
            end = first
            while end < len(classes) and classes[end] == events.INDENTED:
                end += 1
            if end > first:
                if (
                    end < len(classes)
                    and classes[end] != events.BLANK
                    and _FOLLOWING.search(lines[i])
                ):
                    end += 1
                joined.append((i, end - 1))
                i = end
                continue
        i += 1
    if not joined:
        return spans
    kept = [s for s in spans if not any(a <= s[1] and s[0] <= b for a, b in joined)]
    return sorted(kept + joined)


def _lead(stats: TemplateStats, in_window: Occurrence | None) -> Occurrence | None:
    """The occurrence to measure and show first: the template's first line in a window (near
    the failure), unless a troubled line of it follows (the window's first line of a template
    may be its harmless form: `loss: 0.41` before `loss: nan`) or the scan saw more of the
    same event (a trace that began before the window)."""
    if in_window is None:
        return stats.occurrence
    for occurrence in stats.occurrences:
        if occurrence.file != in_window.file or occurrence.line < in_window.line:
            continue
        if occurrence.line > in_window.line or occurrence.start < in_window.start:
            return occurrence  # troubled later, or the same line with more of its event
        break
    return in_window


def _candidate(scan: Scan, stats: TemplateStats, in_window: Occurrence | None) -> Candidate:
    lead = _lead(stats, in_window)
    text = scan.template_text(stats.index)
    signature = _best_signature(lead.lines[:50] if lead else [stats.last_text])
    words = max(trouble_words(text), trouble_words(own_line(lead)) if lead else 0)
    # Error words make a line an error only when the program gave it no level: its own level
    # wins (a WARNING that mentions a failure is a warning; INFO with error words, a note).
    vocab_severity: Severity = "info"
    if words and stats.trouble:
        vocab_severity = "error" if stats.level < 0 else _level_severity(stats.level)
    severity = max(
        (_level_severity(stats.level), vocab_severity, signature.severity if signature else "info"),
        key=SEVERITY_RANK.__getitem__,
    )
    if is_mild(text):  # a retry or a deprecation: a note, rarely the cause
        severity = "info"
    wrapper = (
        stats.role == steps.WRAPPER
        or (stats.role == steps.STEP_END and steps.failed(own_line(lead) if lead else text))
        or (signature is not None and signature.wrapper)
    )
    return Candidate(stats, lead, signature, severity, wrapper, words)


def _first_and_last_errors(context: Context, chosen: list[Candidate]) -> tuple[set[int], set[int]]:
    """The ids of the candidates that are the first error-level line of a failing step, and of
    those that are its last one that is not a wrapper."""
    first: dict[int, Candidate] = {}
    last: dict[int, Candidate] = {}
    for candidate in chosen:
        lead = candidate.lead
        if lead is None or SEVERITY_RANK[candidate.severity] < SEVERITY_RANK["error"]:
            continue
        if not context.in_failed_step(lead):
            continue
        if lead.file not in first or lead.line < _line(first[lead.file]):
            first[lead.file] = candidate
        if not candidate.wrapper and (lead.file not in last or lead.line > _line(last[lead.file])):
            last[lead.file] = candidate
    return {id(c) for c in first.values()}, {id(c) for c in last.values()}


def _line(candidate: Candidate) -> int:
    return candidate.lead.line if candidate.lead else 0


def _where(candidate: Candidate) -> tuple[int, int]:
    lead = candidate.lead
    return (lead.file, lead.line) if lead else candidate.stats.first or (0, 0)


def _group(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Candidates that are one problem, the one to show first leading each group (see
    `_leads_first`).

    Two templates are one problem when their lead occurrences are one event (an error line
    and the exception under it) or they match the same known signature (the same failure
    worded differently, or seen on many ranks).
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
    return [sorted(g, key=_leads_first) for g in groups.values()]


def _leads_first(candidate: Candidate) -> tuple[bool, float]:
    """Within a group, the member the knowledge base identifies leads (the `ERESOLVE` line of
    a block of npm errors, not its advice), then the best scored."""
    return (not _specific(candidate), -candidate.score)


def _specific(candidate: Candidate) -> bool:
    """Identified by a known signature that names a failure (not a wrapper, not a catch-all)."""
    signature = candidate.signature
    return signature is not None and signature.priority >= 0 and not signature.wrapper


def _score(group: list[Candidate]) -> float:
    """A group ranks by its best member."""
    return max(c.score for c in group)


def _neighbours(candidates: list[Candidate]) -> list[tuple[int, int]]:
    """Pairs of errors whose lead events touch (at most `_GAP` lines apart): one block of error
    output, such as Gradle's `FAILED` / `What went wrong` / exception lines. Warnings next to
    an error (a deprecation, a retry) stay apart: they are not the error."""
    placed = sorted(
        (c.lead.file, c.lead.start, c.lead.start + len(c.lead.lines) - 1, i)
        for i, c in enumerate(candidates)
        if c.lead is not None and SEVERITY_RANK[c.severity] >= SEVERITY_RANK["error"]
    )
    pairs = []
    for (file_a, _, end_a, a), (file_b, start_b, _, b) in itertools.pairwise(placed):
        same_kind = candidates[a].wrapper == candidates[b].wrapper  # a cause stays apart from
        if file_a == file_b and start_b - end_a <= _GAP and same_kind:  # the summary after it
            pairs.append((a, b))
    return pairs


def _group_keys(candidate: Candidate) -> list[tuple[object, ...]]:
    keys: list[tuple[object, ...]] = []
    if candidate.signature is not None:
        keys.append(("signature", candidate.signature.id))
    lead = candidate.lead
    if lead is not None and len(lead.lines) > 1:
        keys.append(("event", lead.file, lead.start))
    return keys


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
    if signature is None and not any(c.stats.trouble for c in group):
        category = SUSPICIOUS
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
        score=round(_score(group) / best, 3) if best else 0.0,
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
    """A readable title from a template: the message first and the place it names after it
    (`AssertionError (tests/test_tax.py)`, not `tests/test_tax.py:…: AssertionError`),
    variables shown as `…`, cut at a word boundary, written as the log writes it."""
    title = _VARIABLE.sub("… ", template).strip()
    located = _LOCATED.match(title)
    if located is not None and located["rest"].strip(" :…"):
        title = f"{located['rest'].strip(' :')} ({located['path']})"
    if len(title) > 90:
        title = title[:87].rsplit(" ", 1)[0] + " …"
    return title


def _position(scan: Scan, where: tuple[int, int], lines: list[str]) -> Position:
    file, line = where
    ts = None
    if lines:
        ts = scan.timestamp(file, lines[0])
    return Position(line=line, ts=ts, file=scan.file_name(file))


def _evidence(scan: Scan, group: list[Candidate], limit: int) -> list[Evidence]:
    """What to show, within `limit` lines, in line order. First what names the problem: the
    lead's first event (trimmed), then the line of each other template of the group, then
    later occurrences (the same error elsewhere), one line each or a short event whole. Then,
    with the lines left, what explains it (`_widen`)."""
    lead, *others = group
    chosen: list[tuple[Occurrence, list[tuple[int, int]]]] = []
    budget = limit
    seen: set[tuple[int, int]] = set()
    if lead.lead is not None:
        occurrence = lead.lead
        runs = evidence.select(occurrence.lines, limit=limit * 2 // 3)
        chosen.append((occurrence, runs))
        budget -= sum(b - a + 1 for a, b in runs)
        seen.add((occurrence.file, occurrence.line))
    singles = [[c.lead] for c in others if c.lead] + [c.stats.occurrences for c in group]
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
    _widen(chosen, budget, has_lead=lead.lead is not None)
    items = [
        Evidence(
            line=o.start + first,
            end_line=o.start + last,
            text="\n".join(o.lines[first : last + 1]),
            file=scan.file_name(o.file),
        )
        for o, runs in chosen
        for first, last in runs
    ]
    if lead.lead is not None and (command := _command_above(lead.lead)) is not None:
        items.append(command.model_copy(update={"file": scan.file_name(lead.lead.file)}))
    return sorted(items, key=lambda e: (e.file or "", e.line))


def _widen(
    chosen: list[tuple[Occurrence, list[tuple[int, int]]]], budget: int, *, has_lead: bool
) -> None:
    """Spend the lines left on what explains the lines chosen: the block that a one-line lead
    heads (`evidence.block_after`), then the first lines of the other events shown by their
    first line only (a failed test's name, then its assertion). Never a line shown already."""
    if has_lead and budget > 0 and len(chosen[0][0].lines) == 1:
        lead = chosen[0][0]
        above = lead.context[-1] if lead.context else None
        block = min(evidence.block_after(above, lead.after), budget)
        block = _free_lines(chosen, lead.file, lead.line + 1, block)
        if block:
            chosen[0] = (replace(lead, lines=lead.lines + lead.after[:block]), [(0, block)])
            budget -= block
    earliest_first = sorted(
        range(has_lead, len(chosen)), key=lambda i: (chosen[i][0].file, chosen[i][0].start)
    )
    for i in earliest_first:
        occurrence, runs = chosen[i]
        if budget <= 0:
            return
        if runs != [(0, 0)] or len(occurrence.lines) == 1:
            continue
        wanted = min(_SHORT_EVENT, len(occurrence.lines)) - 1
        extra = _free_lines(chosen, occurrence.file, occurrence.start + 1, min(wanted, budget))
        chosen[i] = (occurrence, [(0, extra)])
        budget -= extra


def _free_lines(
    chosen: list[tuple[Occurrence, list[tuple[int, int]]]], file: int, first: int, most: int
) -> int:
    """How many lines from `first` on (at most `most`) are not shown by a chosen item yet."""
    shown = _shown(chosen, file)
    n = 0
    while n < most and first + n not in shown:
        n += 1
    return n


def _command_above(occurrence: Occurrence) -> Evidence | None:
    """The echoed command that printed an event: the nearest shell echo above it in its
    failing step (`$ npm test`, yarn's `$ gulp && …`), or a command right above it."""
    if occurrence.command is not None:
        line, text = occurrence.command
        return Evidence(line=line, end_line=line, text=text)
    if not occurrence.context or occurrence.start < 2:
        return None
    above = occurrence.context[-1]
    if not steps.is_command(above):
        return None
    return Evidence(line=occurrence.start - 1, end_line=occurrence.start - 1, text=above)


def _inside(occurrence: Occurrence, chosen: list[tuple[Occurrence, list[tuple[int, int]]]]) -> bool:
    """Whether the occurrence's own line is already among the lines chosen."""
    return occurrence.line in _shown(chosen, occurrence.file)


def _shown(chosen: list[tuple[Occurrence, list[tuple[int, int]]]], file: int) -> set[int]:
    """The lines of `file` that the chosen items show."""
    return {
        o.start + n
        for o, runs in chosen
        if o.file == file
        for a, b in runs
        for n in range(a, b + 1)
    }

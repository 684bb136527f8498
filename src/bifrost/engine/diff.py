"""Compare a failing run with a baseline (the last good run): what is new, gone or changed.

Both inputs go through one `TemplateMiner`, so a line the baseline also wrote — with other
timestamps, ids or durations, which masking turns into variables — lands in the same template
and is not new. The findings are those of the failing run, scored as `analyze` scores them,
then re-ranked: a problem the baseline already had at a similar rate did not make this run
fail, so it sinks below the problems that are new.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bifrost.engine.miner import TemplateMiner
from bifrost.engine.read import Source
from bifrost.engine.scan import Scan, Scanner
from bifrost.report import DiffSection, Finding, InputInfo, TemplateDelta

RATE_CHANGE = 4.0  # a rate per line this many times higher or lower is a change
MIN_CHANGED = 3  # ... when the busier run wrote the template at least this often
LISTED = 10  # templates listed per kind in the diff section
_SEEN_BEFORE = 0.15  # weight of a finding the baseline had at a similar rate
_RISEN = 0.6  # weight of a finding the baseline had, far less often


@dataclass(frozen=True)
class Counts:
    """One run's lines per template id (ids come from the shared miner, so they compare)."""

    lines: int
    count: Counter[str]
    text: dict[str, str]
    trouble: set[str]  # templates with error-ish lines in this run
    first: dict[str, tuple[int, int]]  # where each was first seen

    @classmethod
    def of(cls, scan: Scan) -> Counts:
        count: Counter[str] = Counter()
        text: dict[str, str] = {}
        trouble: set[str] = set()
        first: dict[str, tuple[int, int]] = {}
        for stats in scan.stats.values():
            template_id = scan.template_id(stats.index)  # templates may have merged since
            count[template_id] += stats.count
            text[template_id] = scan.template_text(stats.index)
            if stats.trouble:
                trouble.add(template_id)
            if stats.first is not None:
                first[template_id] = min(stats.first, first.get(template_id, stats.first))
        return cls(lines=max(scan.lines, 1), count=count, text=text, trouble=trouble, first=first)

    def rate(self, template_id: str) -> float:
        return self.count[template_id] / self.lines


@dataclass
class Comparison:
    baseline: Scan
    failing: Scan
    before: Counts
    after: Counts

    def changed(self, template_id: str) -> bool:
        """Whether the rate per line differs `RATE_CHANGE` times (both runs wrote it)."""
        a, b = self.before.rate(template_id), self.after.rate(template_id)
        busiest = max(self.before.count[template_id], self.after.count[template_id])
        return bool(a and b) and busiest >= MIN_CHANGED and max(a / b, b / a) >= RATE_CHANGE


def compare(
    baseline: list[Source],
    failing: list[Source],
    *,
    block_bytes: int,
    context_lines: int = 3,
    max_line_bytes: int = 64 << 10,
) -> Comparison:
    """Scan the baseline, then the failing run, with one miner shared by both."""
    miner = TemplateMiner()
    first, second = (
        Scanner(context_lines=context_lines, max_line_bytes=max_line_bytes, miner=miner).scan(
            sources, block_bytes
        )
        for sources in (baseline, failing)
    )
    return Comparison(first, second, Counts.of(first), Counts.of(second))


def rerank(comparison: Comparison, ranked: list[Finding]) -> list[Finding]:
    """The failing run's findings with those the baseline already had sunk (see the module
    docstring); scores are renormalised and ids renumbered in the new order."""
    before, after = comparison.before, comparison.after

    def weight(finding: Finding) -> float:
        template_id = finding.template_id
        if template_id not in before.trouble:  # new, or harmless in the baseline (`0 failed`)
            return 1.0
        if comparison.changed(template_id) and after.rate(template_id) > before.rate(template_id):
            return _RISEN
        return _SEEN_BEFORE

    weighted = sorted(
        ((f.score * weight(f), i, f) for i, f in enumerate(ranked)), key=lambda t: (-t[0], t[1])
    )
    best = weighted[0][0] if weighted else 0.0
    return [
        f.model_copy(update={"id": f"F{rank}", "score": round(score / best, 3) if best else 0.0})
        for rank, (score, _, f) in enumerate(weighted, start=1)
    ]


def section(comparison: Comparison, listed: int = LISTED) -> DiffSection:
    """The counts of new, gone and changed templates, and the first few of each."""
    before, after = comparison.before, comparison.after
    new = [t for t in after.count if t not in before.count]
    gone = [t for t in before.count if t not in after.count]
    changed = [t for t in after.count if comparison.changed(t)]
    new.sort(key=lambda t: (t not in after.trouble, after.first.get(t, (0, 0))))
    gone.sort(key=lambda t: (t not in before.trouble, before.first.get(t, (0, 0))))
    changed.sort(key=lambda t: (t not in after.trouble, -_ratio(comparison, t)))
    return DiffSection(
        baseline=_input_info(comparison.baseline),
        new=len(new),
        gone=len(gone),
        changed=len(changed),
        new_templates=[_delta(comparison, t) for t in new[:listed]],
        gone_templates=[_delta(comparison, t) for t in gone[:listed]],
        changed_templates=[_delta(comparison, t) for t in changed[:listed]],
    )


def _ratio(comparison: Comparison, template_id: str) -> float:
    """How many times the rate changed, up or down."""
    a, b = comparison.before.rate(template_id), comparison.after.rate(template_id)
    return max(a / b, b / a)


def _delta(comparison: Comparison, template_id: str) -> TemplateDelta:
    return TemplateDelta(
        template_id=template_id,
        template=comparison.after.text.get(template_id) or comparison.before.text[template_id],
        baseline_count=comparison.before.count[template_id],
        failing_count=comparison.after.count[template_id],
    )


def _input_info(scan: Scan) -> InputInfo:
    return InputInfo.of(
        [s.name for s in scan.sources],
        lines=scan.lines,
        bytes=sum(s.bytes_read for s in scan.sources),
        sha256=scan.sha256,
    )

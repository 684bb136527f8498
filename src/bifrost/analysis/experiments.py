"""A/B experiments of explanations: which variant explains an input, and how variants compare.

An input's variant follows from its content's hash and the experiment's name, never from
chance or order: the same log always meets the same variant (a retry, another replica, a
cached answer), and two experiments split the same logs independently.

The comparison gives every figure with its count and a 95% interval (Wilson's for a share,
the normal approximation for a mean) and names a better variant only when both have at
least `MIN_SAMPLES` analyses and their intervals do not overlap: nobody declares a winner
on five samples. The store (and SQLAlchemy) is imported only when a report is built.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bifrost.config import Experiment, Settings, Variant
from bifrost.report import Report

if TYPE_CHECKING:
    from bifrost.store import Store
    from bifrost.store.experiments import ExperimentRow

MIN_SAMPLES = 30
"""Analyses each variant needs before a figure may name a better one."""
Z95 = 1.959964


@dataclass(frozen=True)
class Assignment:
    """The experiment an input was in and the variant that explained it."""

    experiment: str
    variant: str


def assign(experiment: Experiment, content_hash: str) -> Variant:
    """The input's variant: its hash with the experiment's name, as a point in [0, 1), falls
    in one variant's share of the weights."""
    digest = hashlib.sha256(f"{experiment.name}\0{content_hash}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(v.weight for v in experiment.variants)
    reached = 0.0
    for variant in experiment.variants:
        reached += variant.weight / total
        if point < reached:
            return variant
    return experiment.variants[-1]


def variant_settings(settings: Settings, variant: Variant) -> Settings:
    """The settings a variant explains with: what it names replaces what is configured. A
    variant on another provider starts from that provider's default model and address."""
    update: dict[str, object] = {"experiment": None}
    if variant.llm is not None and variant.llm != settings.llm:
        update |= {"llm": variant.llm, "model": None, "base_url": None}
    for name in ("model", "prompt", "base_url"):
        value = getattr(variant, name)
        if value is not None:
            update[name] = value
    return settings.model_copy(update=update)


@dataclass(frozen=True)
class Estimate:
    """A figure over `n` analyses with its 95% interval; `value` is None when n is 0."""

    value: float | None
    low: float | None
    high: float | None
    n: int


def share(successes: int, n: int) -> Estimate:
    """A proportion with Wilson's interval (sound at 0, 1 and small n, unlike p ± z·se)."""
    if n == 0:
        return Estimate(None, None, None, 0)
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mean(values: Sequence[float], within: tuple[float, float] | None = None) -> Estimate:
    """A mean with a normal-approximation interval (none for a single value), kept `within`
    the values' possible range (a mean of shares is never below 0)."""
    n = len(values)
    if n == 0:
        return Estimate(None, None, None, 0)
    centre = statistics.fmean(values)
    if n == 1:
        return Estimate(centre, None, None, 1)
    half = Z95 * statistics.stdev(values) / math.sqrt(n)
    low, high = centre - half, centre + half
    if within is not None:
        low, high = max(within[0], low), min(within[1], high)
    return Estimate(centre, low, high, n)


def agrees(report: Report) -> bool | None:
    """Whether the answer's root cause is the engine's first finding: the model names a root
    cause and either its first note is about F1 or its first grounded citation is one of
    F1's evidence lines. None when there is nothing to compare."""
    llm = report.llm
    if llm is None or not report.findings:
        return None
    if llm.root_cause is None:
        return False
    first = report.findings[0]
    if llm.findings and llm.findings[0].finding_id == first.id:
        return True
    grounded = [c.line for c in llm.citations if c.grounded]
    return bool(grounded) and any(e.line <= grounded[0] <= e.end_line for e in first.evidence)


def grounded_ratio(report: Report) -> float | None:
    """The share of the answer's citations found in the log; None without citations."""
    citations = report.llm.citations if report.llm is not None else []
    if not citations:
        return None
    return sum(c.grounded for c in citations) / len(citations)


def cost_usd(report: Report, variant: Variant | None) -> float | None:
    """What the call cost at the variant's prices; None when a price or a count is unknown."""
    llm = report.llm
    if llm is None or variant is None:
        return None
    prices = (variant.usd_per_million_input, variant.usd_per_million_output)
    tokens = (llm.prompt_tokens, llm.completion_tokens)
    if None in prices or None in tokens:
        return None
    return sum(p * t for p, t in zip(prices, tokens, strict=True) if p and t) / 1e6


@dataclass(frozen=True)
class VariantResult:
    """One variant's figures. Latency, tokens and cost cover the answers it asked a model
    for: an explanation reused from another log cost nothing and took no time."""

    name: str
    analyses: int
    failed: int  # asked, and the provider failed: the built-in Report was kept
    reused: int
    feedback: Estimate  # the share judged right
    grounded: Estimate  # the mean share of grounded citations
    agreement: Estimate  # the share whose root cause is the engine's first finding
    latency_s: Estimate
    prompt_tokens: Estimate
    completion_tokens: Estimate
    cost_usd: Estimate


Better = Literal["higher", "lower"]
COMPARED: tuple[tuple[str, str, Better], ...] = (
    ("feedback", "judged right", "higher"),
    ("grounded", "grounded citations", "higher"),
    ("agreement", "agrees with the engine", "higher"),
    ("latency_s", "latency", "lower"),
    ("cost_usd", "cost", "lower"),
)


@dataclass(frozen=True)
class ExperimentReport:
    name: str
    variants: list[VariantResult]
    conclusions: list[str]
    configured: bool  # whether it is the experiment the settings run now


def summarise(
    name: str, rows: Sequence[ExperimentRow], experiment: Experiment | None
) -> ExperimentReport:
    """The variants' figures over the stored analyses of the experiment, in the order the
    settings list them (then any variant only the history knows, by name)."""
    defined = {v.name: v for v in experiment.variants} if experiment is not None else {}
    seen = sorted({r.variant for r in rows} - set(defined))
    results = [
        _variant_result(v, [r for r in rows if r.variant == v], defined.get(v))
        for v in [*defined, *seen]
    ]
    return ExperimentReport(name, results, conclusions(results), experiment is not None)


def _variant_result(
    name: str, rows: Sequence[ExperimentRow], variant: Variant | None
) -> VariantResult:
    explained = [r.report for r in rows if r.report.llm is not None]
    called = [r for r in explained if r.llm is not None and not r.llm.reused]
    votes = [good for r in rows for good in r.feedback]

    def known(values: Sequence[float | None]) -> list[float]:
        return [v for v in values if v is not None]

    agreement = [a for a in (agrees(r) for r in explained) if a is not None]
    return VariantResult(
        name=name,
        analyses=len(rows),
        failed=len(rows) - len(explained),
        reused=len(explained) - len(called),
        feedback=share(sum(votes), len(votes)),
        grounded=mean(known([grounded_ratio(r) for r in explained]), within=(0.0, 1.0)),
        agreement=share(sum(agreement), len(agreement)),
        latency_s=mean([r.llm.duration_s for r in called if r.llm is not None]),
        prompt_tokens=mean(known([r.llm.prompt_tokens for r in called if r.llm is not None])),
        completion_tokens=mean(
            known([r.llm.completion_tokens for r in called if r.llm is not None])
        ),
        cost_usd=mean(known([cost_usd(r, variant) for r in called])),
    )


def conclusions(results: Sequence[VariantResult]) -> list[str]:
    """One sentence per compared figure: which variant is better, or why none is named."""
    said = []
    for attribute, label, better in COMPARED:
        estimates = {r.name: getattr(r, attribute) for r in results}
        said.append(f"{label}: {_verdict(estimates, better)}")
    return said


def _verdict(estimates: dict[str, Estimate], better: Better) -> str:
    measured = {k: e for k, e in estimates.items() if e.value is not None}
    if len(measured) < 2:
        return "not measured on two variants"
    few = {k: e.n for k, e in measured.items() if e.n < MIN_SAMPLES}
    if few:
        counts = ", ".join(f"{k} {n}" for k, n in few.items())
        return f"too few to compare (need {MIN_SAMPLES} per variant; {counts})"
    ordered = sorted(measured, key=lambda k: measured[k].value or 0.0)
    best = ordered[-1] if better == "higher" else ordered[0]
    rest = [e for k, e in measured.items() if k != best]
    top = measured[best]
    if top.low is None or top.high is None or any(e.low is None or e.high is None for e in rest):
        return "no interval to compare"
    if better == "higher" and all(top.low > (e.high or 0.0) for e in rest):
        return f"{best} is better (its 95% interval is above every other's)"
    if better == "lower" and all(top.high < (e.low or 0.0) for e in rest):
        return f"{best} is better (its 95% interval is below every other's)"
    return "no difference shown (the 95% intervals overlap)"


async def experiment_report(settings: Settings, store: Store, name: str) -> ExperimentReport:
    """The report of experiment `name` from the history (NotFound when nothing was stored
    under it)."""
    from bifrost.store.experiments import experiment_rows  # noqa: PLC0415

    rows = await experiment_rows(store, name)
    configured = (
        settings.experiment if settings.experiment and settings.experiment.name == name else None
    )
    return summarise(name, rows, configured)


async def experiment_list(settings: Settings, store: Store) -> list[tuple[str, int, bool]]:
    """Every experiment the history holds analyses of, or the settings run now: its name, how
    many analyses, and whether it runs now."""
    from bifrost.store.experiments import experiment_names  # noqa: PLC0415

    found = dict(await experiment_names(store))
    running = settings.experiment.name if settings.experiment else None
    if running is not None:
        found.setdefault(running, 0)
    return [(name, count, name == running) for name, count in sorted(found.items())]

"""The Report: the single output of an analysis — stored, cached, rendered and served as is.

Its JSON form is a public contract (`schema: bifrost.report/v1`); add fields, never rename.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bifrost.choices import Severity, Verdict
from bifrost.i18n import DEFAULT_LANGUAGE, counted, message

SCHEMA = "bifrost.report/v1"


SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2, "critical": 3}
SEVERITY_ORDER: tuple[Severity, ...] = ("critical", "error", "warning", "info")

VERDICT_SEVERITY: dict[str, Severity] = {
    "ok": "info",
    "warning": "warning",
    "unclear": "warning",
    "failure": "error",
}
"""How `--fail-on` weighs a verdict: an unclear failure counts as a warning."""


def counts_phrase(counts: Mapping[Severity, int], lang: str = DEFAULT_LANGUAGE) -> str:
    """`"9 findings: 1 critical, 5 error, 3 warning"`, `"1 finding: 1 info"`: one wording of the
    counts for every place that states them (`"발견 9건: 심각 1, 오류 5, 경고 3"` in Korean)."""
    total = counted(sum(counts.values()), "finding", lang)
    parts = [
        message("counts.part", lang, n=f"{counts[s]:,}", severity=message(f"severity.{s}", lang))
        for s in SEVERITY_ORDER
        if counts.get(s)
    ]
    return message("counts", lang, total=total, parts=", ".join(parts)) if parts else total


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputInfo(_Model):
    name: str
    lines: int
    bytes: int
    sha256: str
    files: list[str] = Field(
        default_factory=list, description="Each input, when there were several."
    )

    @classmethod
    def of(cls, names: list[str], *, lines: int, bytes: int, sha256: str) -> InputInfo:
        """One input goes by its name; several by `N files`, each named in `files`."""
        several = len(names) > 1
        name = f"{len(names)} files" if several else names[0]
        return cls(
            name=name, lines=lines, bytes=bytes, sha256=sha256, files=names if several else []
        )


class Stats(_Model):
    lines: int
    events: int
    templates: int
    levels: dict[str, int]
    elapsed_s: float
    format: str | None = Field(default=None, description="The detected log format.")


class Position(_Model):
    line: int
    ts: str | None = None
    file: str | None = None


class Evidence(_Model):
    """Lines a reader should look at. `line`..`end_line` cover exactly the lines in `text`."""

    line: int
    end_line: int
    text: str
    file: str | None = None


class KnownIssue(_Model):
    """A resolution a person pinned to this finding's template (`bifrost known add`)."""

    note: str
    link: str | None = None
    pinned_at: datetime
    analysis_id: int | None = Field(default=None, description="The analysis it was pinned on.")

    def line(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """How every format shows it: `Known issue: NOTE (pinned on DATE) LINK`."""
        link = f" {self.link}" if self.link else ""
        date = f"{self.pinned_at:%Y-%m-%d}"
        return message("known_issue", lang, note=self.note, date=date, link=link)


class Message(_Model):
    """A text the engine wrote from the message catalog (`bifrost.i18n`): its id and fields,
    kept so that a Report stored in English can say it again in the reader's language."""

    key: str
    fields: dict[str, str] = Field(default_factory=dict)


FindingText = Literal["title", "explanation", "suggestion"]


class Finding(_Model):
    id: str
    title: str
    severity: Severity
    category: str
    score: float
    template_id: str
    template: str
    count: int
    first_seen: Position
    last_seen: Position
    evidence: list[Evidence]
    explanation: str | None = None
    suggestion: str | None = None
    signature: str | None = Field(default=None, description="Id of the known signature matched.")
    known_issue: KnownIssue | None = Field(
        default=None, description="What a person pinned to this template, if anything."
    )
    sources: list[str] = Field(
        default_factory=list, description="Pods or services it came from (merged streams)."
    )
    messages: dict[FindingText, Message] | None = Field(
        default=None,
        description="The catalog messages its title, explanation and fix were written from, "
        "when the engine wrote them (training curves); a knowledge-base finding has `signature`.",
    )


class LLMFindingNote(_Model):
    finding_id: str
    explanation: str
    fix: str | None = None


class LLMCitation(_Model):
    """A line the model cited. When its quote is on another evidence line than the one the
    model gave, `line` is where the quote really is and `claimed_line` what the model said."""

    line: int
    text: str
    grounded: bool = Field(description="Whether the quoted text is really in the log, on `line`.")
    claimed_line: int | None = Field(
        default=None,
        description="The line the model cited, when its quote is on another line (`line`); "
        "null when the model cited the right line or the quote is not in the log.",
    )


class LLMExplanation(_Model):
    """The provider's written diagnosis, with placeholders mapped back and citations checked."""

    provider: str
    model: str
    prompt_version: str = Field(description="The prompt's name and version: triage/1.")
    prompt_sha256: str | None = Field(
        default=None, description="The prompt file's SHA-256: its exact wording."
    )
    summary: str
    root_cause: str | None = Field(description="None: the model found no root cause.")
    confidence: Literal["low", "medium", "high"]
    findings: list[LLMFindingNote] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    citations: list[LLMCitation] = Field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    duration_s: float
    redactions: int = Field(description="Secrets and personal data replaced before sending.")
    reused: bool = Field(
        default=False,
        description="Reused from an earlier log's explanation of the same failure (the same "
        "leading findings' templates, provider, model and prompt): no call was made.",
    )
    experiment: str | None = Field(default=None, description="The A/B experiment it was in.")
    variant: str | None = Field(default=None, description="The experiment's variant that wrote it.")


class SimilarIncident(_Model):
    """A stored analysis whose leading findings share templates with this one's: the same
    failure seen before, with what a person said fixed it."""

    analysis_id: int
    created_at: datetime
    service: str | None = None
    verdict: Verdict
    title: str | None = Field(description="Its first finding's title.")
    similarity: float = Field(description="0–1: how much of both runs' leading findings match.")
    shared: int = Field(description="Leading findings' templates the two have in common.")
    meaning: float | None = Field(
        default=None,
        description="0–1: how alike the leading findings read (embeddings, the `[memory]` "
        "extra); None when not compared or not alike enough.",
    )
    resolution: str | None = Field(
        default=None, description="What fixed it: a pinned known issue, else a feedback note."
    )

    def line(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """How the formats show it: `#42 on 2026-12-01 (trainer), 80% alike: NOTE`; `reads
        80% alike` when only the meaning matched (no line in common)."""
        where = f" ({self.service})" if self.service else ""
        said = f": {self.resolution}" if self.resolution else f": {self.title or self.verdict}"
        return message(
            "similar.meaning" if self.shared == 0 else "similar.templates",
            lang,
            id=self.analysis_id,
            date=f"{self.created_at:%Y-%m-%d}",
            where=where,
            percent=f"{self.similarity:.0%}",
            said=said,
        )


class Ranking(_Model):
    """The findings in two orders, the engine's and the LLM's (`--llm-rerank`): the Report
    lists them in the order `shown` names."""

    shown: Literal["engine", "llm"] = Field(
        description="`llm` when the model named a cause; `engine` when it named none."
    )
    engine: list[str] = Field(description="Finding ids in the engine's order.")
    llm: list[str] = Field(description="Finding ids in the LLM's order: its cause first.")
    cause: str | None = Field(description="The finding the model named; None: none of them.")
    reason: str
    provider: str
    model: str
    prompt_version: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    duration_s: float


MetricKind = Literal[
    "loss", "val_loss", "lr", "grad_norm", "accuracy", "perplexity", "throughput", "memory"
]


def metric_value(value: float | None) -> str:
    """A metric's value as people read it: 4 significant digits, thousands written out
    (13,810 MiB, not 1.381e+04), NaN for one that is not a number."""
    if value is None or math.isnan(value):
        return "NaN"
    if 1e4 <= abs(value) < 1e12:
        return f"{value:,.0f}"
    return f"{value:.4g}"


class MetricPoint(_Model):
    """One value of a training metric (`value` None: NaN or infinite)."""

    index: int = Field(description="1-based: the how-manieth value of its metric.")
    value: float | None
    line: int
    file: str | None = None
    step: int | None = None
    epoch: float | None = None


class Metric(_Model):
    """One metric of a training run, as the log printed it over time."""

    key: str = Field(description="The name the log gives it: `loss`, `train/loss`, `lr`.")
    kind: MetricKind
    count: int = Field(
        description="Values the log printed (past the first 256 lines of one shape, lines are "
        "read thinned and each stands for those skipped: then a close estimate)."
    )
    non_finite: int = Field(description="Of them, NaN or infinite (counted the same way).")
    first: float | None
    last: float | None
    min: float | None
    max: float | None
    first_line: int
    last_line: int
    points: list[MetricPoint] | None = Field(
        default=None,
        description="The series, thinned evenly to at most 256 points; only on request "
        "(`analyze --series`, `?series=true`).",
    )

    def values(self) -> list[float | None]:
        """The kept values in order, for a sparkline or a chart."""
        return [p.value for p in self.points or []]


class TemplateDelta(_Model):
    """One template of `bifrost diff` with how often each run wrote it."""

    template_id: str
    template: str
    baseline_count: int
    failing_count: int


class DiffSection(_Model):
    """What `bifrost diff` found changed between a baseline run and the failing one.

    Counts cover every template; the lists show the first few, troubled ones first.
    """

    baseline: InputInfo
    new: int = Field(description="Templates the baseline never wrote.")
    gone: int = Field(description="Templates the failing run never wrote.")
    changed: int = Field(description="Templates whose rate per line changed markedly.")
    new_templates: list[TemplateDelta] = Field(default_factory=list)
    gone_templates: list[TemplateDelta] = Field(default_factory=list)
    changed_templates: list[TemplateDelta] = Field(default_factory=list)


class Report(_Model):
    schema_: str = Field(default=SCHEMA, alias="schema")
    input: InputInfo
    stats: Stats
    verdict: Verdict
    findings: list[Finding]
    finding_counts: dict[Severity, int] = Field(
        default_factory=dict,
        description="How many findings the analysis found, by severity: all of them, also "
        "those beyond `findings`, which holds the first `--top`.",
    )
    summary: str
    llm: LLMExplanation | None = None
    ranking: Ranking | None = Field(
        default=None, description="The engine's and the LLM's orders (`--llm-rerank`)."
    )
    similar: list[SimilarIncident] = Field(
        default_factory=list, description="Past analyses of the same failure, most alike first."
    )
    warnings: list[str] = Field(
        default_factory=list, description="What could not be read as it should (cut, truncated)."
    )
    diff: DiffSection | None = Field(
        default=None, description="`bifrost diff`: the comparison with the baseline run."
    )
    metrics: list[Metric] = Field(
        default_factory=list, description="A training run's metrics (loss, lr …) over time."
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)

    def without_series(self) -> Report:
        """The Report with its metrics' summaries only: what JSON answers hold unless the
        series are asked for."""
        if not any(m.points for m in self.metrics):
            return self
        metrics = [m.model_copy(update={"points": None}) for m in self.metrics]
        return self.model_copy(update={"metrics": metrics})

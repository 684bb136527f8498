"""What the tools answer: a Report cut to what an agent acts on. The findings come with their
evidence lines and line numbers (and files), so the agent can open the log where it matters;
the whole Report only when asked (`full_report`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bifrost.report import Finding, Report
from bifrost.store import AnalysisSummary


class EvidenceLine(BaseModel):
    file: str | None = Field(description="The input the lines are in, when there were several.")
    line: int = Field(description="First line, from 1.")
    end_line: int
    text: str


class FindingBrief(BaseModel):
    rank: int = Field(description="1 is the likeliest cause.")
    id: str
    severity: str
    category: str
    title: str
    count: int = Field(description="How often the line's template occurred.")
    first_line: int
    explanation: str | None = None
    fix: str | None = None
    evidence: list[EvidenceLine]


class AnalysisBrief(BaseModel):
    analysis_id: int | None = Field(description="The stored analysis (get_analysis, resources).")
    verdict: str
    summary: str
    lines: int
    findings: list[FindingBrief]
    llm_summary: str | None = Field(default=None, description="An LLM's summary, if one ran.")
    diff: dict[str, Any] | None = Field(default=None, description="diff_logs: what changed.")
    warnings: list[str] = Field(default_factory=list)
    report: dict[str, Any] | None = Field(
        default=None, description="The whole Report (bifrost.report/v1), when asked for."
    )


class FindingDetail(FindingBrief):
    template: str = Field(description="The line with its variable parts as <*>.")
    signature: str | None = Field(description="The known failure signature it matched.")
    llm_explanation: str | None = None
    llm_fix: str | None = None


class HistoryItem(BaseModel):
    analysis_id: int
    created_at: datetime
    input_name: str
    verdict: str
    summary: str
    service: str | None
    env: str | None
    top_title: str | None


def finding_brief(rank: int, finding: Finding) -> FindingBrief:
    return FindingBrief(
        rank=rank,
        id=finding.id,
        severity=finding.severity,
        category=finding.category,
        title=finding.title,
        count=finding.count,
        first_line=finding.first_seen.line,
        explanation=finding.explanation,
        fix=finding.suggestion,
        evidence=[
            EvidenceLine(file=e.file, line=e.line, end_line=e.end_line, text=e.text)
            for e in finding.evidence
        ],
    )


def analysis_brief(
    report: Report,
    analysis_id: int | None,
    *,
    full: bool = False,
    warnings: list[str] | None = None,
) -> AnalysisBrief:
    diff = None
    if report.diff is not None:
        diff = report.diff.model_dump(
            mode="json", include={"baseline", "new", "gone", "changed", "new_templates"}
        )
    return AnalysisBrief(
        analysis_id=analysis_id,
        verdict=report.verdict,
        summary=report.summary,
        lines=report.stats.lines,
        findings=[finding_brief(rank, f) for rank, f in enumerate(report.findings, start=1)],
        llm_summary=report.llm.summary if report.llm else None,
        diff=diff,
        warnings=[*report.warnings, *(warnings or [])],
        report=report.without_series().model_dump(mode="json", by_alias=True) if full else None,
    )


def finding_detail(report: Report, rank: int) -> FindingDetail:
    finding = report.findings[rank - 1]
    note = next(
        (n for n in (report.llm.findings if report.llm else []) if n.finding_id == finding.id),
        None,
    )
    return FindingDetail(
        **finding_brief(rank, finding).model_dump(),
        template=finding.template,
        signature=finding.signature,
        llm_explanation=note.explanation if note else None,
        llm_fix=note.fix if note else None,
    )


def history_item(summary: AnalysisSummary) -> HistoryItem:
    return HistoryItem(
        analysis_id=summary.id,
        created_at=summary.created_at,
        input_name=summary.input_name,
        verdict=summary.verdict,
        summary=summary.summary,
        service=summary.service,
        env=summary.environment,
        top_title=summary.top_title,
    )

"""The message every destination sends, built from a Report. Log text (the summary, the lead
finding's title and evidence) is redacted as LLM input is: secrets never leave the process.
Bifrost's own words (the fix) are sent as written."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from bifrost.llm.redact import Redactor
from bifrost.report import Report

NOTIFICATION_SCHEMA: Final = "bifrost.notification/v1"
EVIDENCE_LINES = 3


class NoticeLine(BaseModel):
    line: int
    text: str
    file: str | None = None


class NoticeFinding(BaseModel):
    title: str
    severity: str
    category: str
    fix: str | None
    evidence: list[NoticeLine] = Field(description="The first lines of evidence, redacted.")


class Notification(BaseModel):
    """What a webhook receives (the JSON body) and what a Slack message shows."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: Literal["bifrost.notification/v1"] = Field(default=NOTIFICATION_SCHEMA, alias="schema")
    verdict: str
    summary: str
    service: str | None
    env: str | None
    tags: list[str]
    analysis_id: int | None
    url: str | None = Field(description="The Report in the web UI, when `public_url` is set.")
    lead: NoticeFinding | None = Field(description="The first finding: the likeliest cause.")
    repeats: int = Field(description="The same failure, held back since the last message.")
    at: datetime
    test: bool = Field(default=False, description="A sample (`bifrost notify test`).")


def notification(
    report: Report,
    analysis_id: int | None,
    *,
    service: str | None,
    env: str | None,
    tags: tuple[str, ...],
    public_url: str | None,
    repeats: int,
    at: datetime,
    test: bool = False,
) -> Notification:
    redactor = Redactor()
    lead = None
    if report.findings:
        first = report.findings[0]
        lines = [
            NoticeLine(line=e.line, text=redactor.redact(e.text), file=e.file)
            for e in first.evidence[:EVIDENCE_LINES]
        ]
        lead = NoticeFinding(
            title=redactor.redact(first.title),
            severity=first.severity,
            category=first.category,
            fix=first.suggestion,
            evidence=lines,
        )
    url = None
    if public_url and analysis_id is not None:
        url = f"{public_url.rstrip('/')}/analyses/{analysis_id}"
    return Notification(
        verdict=report.verdict,
        summary=redactor.redact(report.summary),
        service=service,
        env=env,
        tags=list(tags),
        analysis_id=analysis_id,
        url=url,
        lead=lead,
        repeats=repeats,
        at=at,
        test=test,
    )

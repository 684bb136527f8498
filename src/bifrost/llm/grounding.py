"""Grounding: every line the model cites is checked against the evidence in the Report.

The model only saw the evidence lines, so a citation is grounded when its text appears on the
cited line (whitespace-normalised, as models reflow spaces), or "moved" when it appears on
another evidence line (a wrong line number, the right quote). Anything else is ungrounded:
the Report marks it as a claim whose evidence is not in the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bifrost.llm.answer import Answer, Citation
from bifrost.report import Report

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class GroundedAnswer:
    answer: Answer
    ungrounded: list[Citation] = field(default_factory=list)
    moved: list[Citation] = field(default_factory=list)


def ground(answer: Answer, report: Report) -> GroundedAnswer:
    lines = _evidence_lines(report)
    ungrounded: list[Citation] = []
    moved: list[Citation] = []
    for citation in answer.citations:
        quote = _normal(citation.text)
        if not quote:
            ungrounded.append(citation)
        elif quote in lines.get(citation.line, ""):
            continue
        elif any(quote in text for text in lines.values()):
            moved.append(citation)
        else:
            ungrounded.append(citation)
    return GroundedAnswer(answer, ungrounded, moved)


def _evidence_lines(report: Report) -> dict[int, str]:
    """Line number → normalised text of every evidence line in the Report (the model's input).

    With several input files two lines can share a number; both texts are kept.
    """
    lines: dict[int, str] = {}
    for finding in report.findings:
        for evidence in finding.evidence:
            for offset, text in enumerate(evidence.text.split("\n")):
                number = evidence.line + offset
                normal = _normal(text)
                lines[number] = f"{lines[number]}\n{normal}" if number in lines else normal
    return lines


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip()

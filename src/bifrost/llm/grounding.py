"""Grounding: every line the model cites is checked against the evidence in the Report.

The model only saw the evidence lines, so a citation is grounded when its text appears on the
cited line (whitespace-normalised, as models reflow spaces), or "moved" when it appears on
another evidence line (a wrong line number, the right quote): the Report then shows the line
the quote is really on, and the one the model gave. Anything else is ungrounded: the Report
marks it as a claim whose evidence is not in the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bifrost.llm.answer import Citation
from bifrost.report import Report

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Grounding:
    """Where the quote of `citation` really is: `line` is the cited line when the quote is on
    it, the nearest evidence line holding it when the number is wrong, None when no evidence
    line holds it."""

    citation: Citation
    line: int | None

    @property
    def moved(self) -> bool:
        return self.line is not None and self.line != self.citation.line


def ground(citations: list[Citation], report: Report) -> list[Grounding]:
    lines = _evidence_lines(report)
    return [Grounding(c, _where(_normal(c.text), c.line, lines)) for c in citations]


def _where(quote: str, cited: int, lines: dict[int, str]) -> int | None:
    """The line holding `quote` nearest to the cited one (the earlier of two as near): a model
    that miscounts is usually a few lines off, and a quote can be on several lines."""
    if not quote:
        return None
    holding = [number for number, text in lines.items() if quote in text]
    return min(holding, key=lambda number: (abs(number - cited), number), default=None)


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

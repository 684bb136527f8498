"""Grounding: cited lines are checked against the evidence the model was shown."""

from __future__ import annotations

from bifrost.llm.answer import Answer, Citation
from bifrost.llm.grounding import ground
from tests.llm.test_digest import INJECTION, make_finding, make_report

REPORT = make_report(
    [
        make_finding(1, ["ERROR   pool exhausted (size=10)", "  at Pool.get(Pool.java:12)"]),
        make_finding(2, ["WARN retrying", INJECTION]),
    ]
)


def answer_citing(*citations: Citation) -> Answer:
    return Answer(summary="s", root_cause=None, confidence="low", citations=list(citations))


def test_a_quote_on_its_line_is_grounded_whitespace_normalised() -> None:
    grounded = ground(answer_citing(Citation(line=1000, text="ERROR pool  exhausted")), REPORT)
    assert grounded.ungrounded == []
    assert grounded.moved == []


def test_a_quote_on_another_evidence_line_is_moved() -> None:
    citation = Citation(line=1000, text="at Pool.get(Pool.java:12)")
    grounded = ground(answer_citing(citation), REPORT)
    assert grounded.moved == [citation]
    assert grounded.ungrounded == []


def test_an_invented_line_is_ungrounded() -> None:
    invented = Citation(line=1000, text="OutOfMemoryError: Java heap space")
    missing = Citation(line=5, text="ERROR pool exhausted")
    empty = Citation(line=1000, text="  ")
    grounded = ground(answer_citing(invented, missing, empty), REPORT)
    assert grounded.ungrounded == [invented, empty]
    assert grounded.moved == [missing]
    assert grounded.answer.citations == [invented, missing, empty]


def test_quoting_the_injection_line_is_grounded_as_log_content() -> None:
    grounded = ground(answer_citing(Citation(line=2001, text=INJECTION)), REPORT)
    assert grounded.ungrounded == []

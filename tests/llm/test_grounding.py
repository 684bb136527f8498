"""Grounding: cited lines are checked against the evidence the model was shown."""

from __future__ import annotations

from bifrost.llm.answer import Citation
from bifrost.llm.grounding import Grounding, ground
from tests.llm.test_digest import INJECTION, make_finding, make_report

REPORT = make_report(
    [
        make_finding(1, ["ERROR   pool exhausted (size=10)", "  at Pool.get(Pool.java:12)"]),
        make_finding(2, ["WARN retrying", INJECTION]),
        make_finding(3, ["retry 1 failed", "retry 2 failed", "giving up", "retry 3 failed"]),
    ]
)


def test_a_quote_on_its_line_is_grounded_whitespace_normalised() -> None:
    citation = Citation(line=1000, text="ERROR pool  exhausted")
    (grounding,) = ground([citation], REPORT)
    assert grounding == Grounding(citation, 1000)
    assert not grounding.moved


def test_a_quote_on_another_evidence_line_is_moved_there() -> None:
    citation = Citation(line=1000, text="at Pool.get(Pool.java:12)")
    (grounding,) = ground([citation], REPORT)
    assert grounding.line == 1001
    assert grounding.moved


def test_a_quote_on_several_lines_moves_to_the_nearest() -> None:
    # "failed" is on lines 3000, 3001 and 3003: the nearest to the cited line wins, the earlier
    # of two as near.
    cited = [Citation(line=line, text="failed") for line in (3002, 3007, 2990)]
    assert [g.line for g in ground(cited, REPORT)] == [3001, 3003, 3000]


def test_an_invented_line_is_ungrounded() -> None:
    invented = Citation(line=1000, text="OutOfMemoryError: Java heap space")
    missing = Citation(line=5, text="ERROR pool exhausted")
    empty = Citation(line=1000, text="  ")
    groundings = ground([invented, missing, empty], REPORT)
    assert [g.citation for g in groundings] == [invented, missing, empty]
    assert [g.line for g in groundings] == [None, 1000, None]
    assert [g.moved for g in groundings] == [False, True, False]


def test_quoting_the_injection_line_is_grounded_as_log_content() -> None:
    (grounding,) = ground([Citation(line=2001, text=INJECTION)], REPORT)
    assert grounding.line == 2001

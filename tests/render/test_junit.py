"""JUnit XML, parsed back from its bytes as a CI system's test reporter reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from bifrost.render.junit import render_junit
from bifrost.report import Evidence, Finding, Report

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]


def suite_of(report: Report) -> ET.Element:
    """The one `bifrost` test suite, parsed from the document as UTF-8 bytes."""
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.tag == "testsuite"
    assert suite.get("name") == "bifrost"
    for counter in ("tests", "failures"):
        assert root.get(counter) == suite.get(counter)
    return suite


def test_a_failing_case_per_error_finding(sample_report: Report) -> None:
    suite = suite_of(sample_report)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "2", "0")
    assert suite.get("time") == "0.040"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("ml.cuda_oom", "CUDA out of memory"),
        ("ml.nccl_timeout", "NCCL watchdog timeout"),
    ]
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "CUDA out of memory"
    assert failure.get("type") == "critical"
    text = (failure.text or "").splitlines()
    assert text[0] == "CRITICAL · 1 occurrence · line 455 (2024-05-14T09:41:02.118Z)"
    assert "450 | Traceback (most recent call last):" in text
    assert '451 |   File "/workspace/train.py", line 412, in <module>' in text
    assert text[-3:] == [
        "A process asked the GPU for more memory than was free.",
        "",
        "Fix: Lower the per-device batch size or enable activation checkpointing.",
    ]


def test_evidence_gaps_are_marked(sample_report: Report) -> None:
    failure = suite_of(sample_report).findall("testcase")[1].find("failure")
    assert failure is not None
    assert (failure.text or "").splitlines()[2:] == [
        "470 | [E ProcessGroupNCCL.cpp:828] [Rank 1] Watchdog caught collective operation "
        "timeout: WorkNCCL(SeqNum=29481, OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600381 "
        "milliseconds before timing out.",
        "…",
        "512 | [E ProcessGroupNCCL.cpp:828] [Rank 7] …",
    ]


@pytest.mark.parametrize("severity", ["warning", "info"])
def test_warnings_and_notes_pass_with_their_details(
    make_report: MakeReport, make_finding: MakeFinding, severity: str
) -> None:
    suite = suite_of(make_report([make_finding("Slow step", severity=severity)], verdict="warning"))
    assert suite.get("failures") == "0"
    (case,) = suite.findall("testcase")
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None
    assert f"{severity.upper()} · 1 occurrence" in (out.text or "")


def test_no_findings_is_one_passing_case(make_report: MakeReport) -> None:
    suite = suite_of(make_report())
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")
    (case,) = suite.findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("bifrost", "no problems found")
    assert case.find("failure") is None


def test_a_failure_verdict_without_findings_still_fails(make_report: MakeReport) -> None:
    suite = suite_of(make_report(verdict="failure", summary="Input ended mid-stack trace."))
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "Input ended mid-stack trace."
    assert suite.get("failures") == "1"


def test_tricky_text_is_escaped_and_parses_back(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    title = 'disk 50% full: /var, <err> & "q" \']]>'
    line = "</failure><![CDATA[ x ]]> & <b>50%</b>"
    rep = make_report(
        [
            make_finding(
                title,
                items=[make_evidence(9, line)],
                category="a<b>&c",
                suggestion="Run `rm -rf /tmp/*` && retry, then\nreport: it's <fine>",
            )
        ]
    )
    case = suite_of(rep).find("testcase")
    assert case is not None
    assert case.get("name") == title
    assert case.get("classname") == "a<b>&c"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == title
    text = (failure.text or "").splitlines()
    assert f"9 | {line}" in text
    assert text[-2:] == ["Fix: Run `rm -rf /tmp/*` && retry, then", "report: it's <fine>"]


def test_characters_xml_cannot_carry_are_replaced(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    raw = "nul\x00 esc\x1b[31m bell\x07 nonchar\uffff surrogate\ud800 newline-in-title\nend"
    rep = make_report([make_finding(raw, items=[make_evidence(1, "a\x00b\uffff")])])
    case = suite_of(rep).find("testcase")  # would not parse with any of them left in
    assert case is not None
    assert case.get("name") == (
        "nul␀ esc␛[31m bell␇ nonchar\ufffd surrogate\ufffd newline-in-title␊end"
    )
    failure = case.find("failure")
    assert failure is not None
    assert "1 | a␀b\ufffd" in (failure.text or "").splitlines()


def test_several_inputs_name_each_file(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [
        make_evidence(3, "rank 3 failed", "pod-3.log"),
        make_evidence(9, "timeout", "pod-1.log"),
    ]
    rep = make_report([make_finding(items=items)], files=["pod-1.log", "pod-3.log"])
    failure = suite_of(rep).find("testcase/failure")
    assert failure is not None
    assert (failure.text or "").splitlines()[2:6] == [
        "==> pod-3.log <==",
        "3 | rank 3 failed",
        "==> pod-1.log <==",
        "9 | timeout",
    ]

"""The report as JUnit XML: the test-report format every CI system can show and gate on.

Layout::

    <testsuites name="bifrost" tests="2" failures="1">
      <testsuite name="bifrost" tests="2" failures="1" errors="0" skipped="0" time="0.04">
        <testcase classname="ml.cuda_oom" name="CUDA out of memory">
          <failure message="CUDA out of memory" type="critical">450 | Traceback …</failure>
        </testcase>
        <testcase classname="log.warning" name="Disk almost full">
          <system-out>…</system-out>
        </testcase>
      </testsuite>
    </testsuites>

One test case per finding, in rank order: errors and criticals fail, with the evidence and what
to do about it; warnings and notes pass, their details kept in the case's output. A report with no
findings is one test case that passes (or fails, when the verdict is a failure all the same).

ElementTree escapes markup; characters XML 1.0 cannot carry at all (control characters, lone
surrogates, U+FFFE, U+FFFF) are made visible or replaced first, so that whatever the log held,
parsers accept the document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.render import (
    evidence_lines,
    headline,
    is_multi_file,
    position_phrase,
    printable,
    seen_before,
)
from bifrost.report import Finding, Report

__all__ = ["render_junit"]

_FAILING = frozenset({"error", "critical"})
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _line(text: str) -> str:
    """`text` as one line of characters XML allows: names and messages are shown inline."""
    return _NOT_XML.sub("\ufffd", printable(text))


def _block(text: str) -> str:
    """`text` with only characters XML allows, line breaks kept."""
    return "\n".join(_line(line) for line in text.split("\n"))


def render_junit(report: Report, *, lang: str = DEFAULT_LANGUAGE) -> str:
    """The report as a JUnit XML document (UTF-8, with an XML declaration)."""
    multi_file = is_multi_file(report)
    seen = seen_before(report, lang)
    cases = [
        _case(finding, multi_file, seen if rank == 0 else [], lang)
        for rank, finding in enumerate(report.findings)
    ]
    if not cases:
        case = ET.Element("testcase", classname="bifrost", name=_line(headline(report, lang)))
        if report.verdict == "failure":
            message = _line(report.summary or headline(report, lang))
            ET.SubElement(case, "failure", message=message, type="failure")
        cases.append(case)

    failures = sum(1 for case in cases if case.find("failure") is not None)
    counts = {"name": "bifrost", "tests": str(len(cases)), "failures": str(failures)}
    root = ET.Element("testsuites", counts)
    suite = ET.SubElement(
        root,
        "testsuite",
        {**counts, "errors": "0", "skipped": "0", "time": f"{report.stats.elapsed_s:.3f}"},
    )
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _case(finding: Finding, multi_file: bool, seen: list[str], lang: str) -> ET.Element:
    case = ET.Element("testcase", classname=_line(finding.category), name=_line(finding.title))
    details = _block(_details(finding, multi_file, seen, lang))
    if finding.severity in _FAILING:
        failure = ET.SubElement(
            case, "failure", message=_line(finding.title), type=finding.severity
        )
        failure.text = details
    else:
        ET.SubElement(case, "system-out").text = details
    return case


def _details(finding: Finding, multi_file: bool, seen: list[str], lang: str) -> str:
    """Evidence with line numbers, then what it means and the fix: what a reader needs."""
    occurrences = counted(finding.count, "occurrence", lang)
    where = position_phrase(finding, multi_file, lang)
    lines = [f"{finding.severity.upper()} · {occurrences} · {where}", ""]
    for line in evidence_lines(finding.evidence):
        if line.new_file and multi_file and line.file:
            lines.append(f"==> {line.file} <==")
        elif line.gap:
            lines.append("…")
        lines.append(f"{line.number} | {line.text}")
    if finding.known_issue:
        lines += ["", finding.known_issue.line(lang)]
    if finding.explanation:
        lines += ["", finding.explanation.strip()]
    if finding.suggestion:
        lines += ["", f"{message('markdown.fix', lang)} {finding.suggestion.strip()}"]
    if seen:
        lines += ["", *seen]
    return "\n".join(lines)

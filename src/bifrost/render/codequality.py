"""The report as a GitLab code quality report (the Code Climate JSON subset GitLab reads), so a
merge request shows the findings in its Code Quality widget and on the lines of its diff.

Layout, one issue per finding in rank order::

    [{"description": "Tests failed — 10 tests completed, 1 failed …",
      "check_name": "bifrost/test.jvm", "fingerprint": "3f2a…", "severity": "major",
      "location": {"path": "src/test/java/LogDifferTest.java", "lines": {"begin": 61}}}]

An issue points at the source line the finding names when that is a file of the project
(the checkout), else at the log's own line. Its fingerprint leaves the line out, so the
same failure after an edit above it is recognised as the same issue.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.render import printable
from bifrost.render.locations import SourceLine, Workspace, source_line
from bifrost.render.sarif import source_file
from bifrost.report import Finding, Report

__all__ = ["SEVERITY", "render_gitlab_codequality"]

SEVERITY = {"critical": "critical", "error": "major", "warning": "minor", "info": "info"}
"""GitLab's scale is info < minor < major < critical < blocker; `blocker` is left to people."""


def render_gitlab_codequality(
    report: Report, *, lang: str = DEFAULT_LANGUAGE, workspace: Workspace | None = None
) -> str:
    """The report as a code quality JSON array (indented, ending with a newline); `workspace`
    is the project's checkout, where the source files the findings name are looked up."""
    issues = [_issue(report, finding, workspace, lang) for finding in report.findings]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _issue(
    report: Report, finding: Finding, workspace: Workspace | None, lang: str
) -> dict[str, Any]:
    place = source_line(finding, workspace) if workspace is not None else None
    end = None
    if place is None:  # the log's own lines: as many as the first evidence covers
        place = _log_line(report, finding, workspace)
        end = finding.evidence[0].end_line if finding.evidence else None
    lines = {"begin": place.line}
    if end is not None and end > place.line:
        lines["end"] = end
    check = f"bifrost/{finding.signature or finding.category}"
    identity = "\0".join([check, finding.template_id, place.path])
    return {
        "description": _description(finding, lang),
        "check_name": check,
        "fingerprint": hashlib.sha256(identity.encode()).hexdigest()[:32],
        "severity": SEVERITY[finding.severity],
        "location": {"path": place.path, "lines": lines},
    }


def _log_file(report: Report, finding: Finding) -> str:
    """The log the finding is in; a stream (`<stdin>`) keeps its name: GitLab needs a path."""
    first = finding.evidence[0].file if finding.evidence else finding.first_seen.file
    return source_file(report, first) or report.input.name


def _log_line(report: Report, finding: Finding, workspace: Workspace | None) -> SourceLine:
    """The finding's line in the log, which is named from the project's folder when it is in
    it (GitLab reads paths from there)."""
    line = finding.evidence[0].line if finding.evidence else finding.first_seen.line
    path = _log_file(report, finding)
    inside = workspace.file(path) if workspace is not None else None
    return SourceLine(inside or path, max(line, 1))


def _description(finding: Finding, lang: str) -> str:
    """One line: the title, then the fix (the widget shows a single line per issue)."""
    text = finding.title
    if finding.suggestion:
        text += f" — {message('markdown.fix', lang)} {finding.suggestion.strip()}"
    return printable(" ".join(text.split()))

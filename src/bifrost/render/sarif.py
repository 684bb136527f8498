"""The report as SARIF 2.1.0: the format code-scanning dashboards ingest (GitHub, Azure DevOps …).

Layout: one run whose tool is bifrost; one rule per known signature (or per generic category,
such as `log.error`, for findings no signature matched); one result per finding, in rank order,
with a location per evidence item and the template id as a partial fingerprint, so a dashboard
recognises the same problem from one run to the next however its timestamps and ids change.

Text is written as the log has it: JSON escapes whatever a log line contains.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from bifrost import __version__
from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.report import Evidence, Finding, Report

__all__ = ["FINGERPRINT", "SCHEMA_URI", "render_sarif", "sarif_level", "source_file"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

# The key under which a result's template id is given: SARIF asks for a versioned name, so that
# a later change in how ids are computed does not match old results against new ones.
FINGERPRINT = "bifrostTemplateId/v1"

_LEVEL = {"critical": "error", "error": "error", "warning": "warning", "info": "note"}

JSON = dict[str, Any]


def sarif_level(finding: Finding) -> str:
    """The SARIF level of a finding: SARIF has no "critical", so it is an error too."""
    return _LEVEL[finding.severity]


def source_file(report: Report, file: str | None) -> str | None:
    """The file a line of the report is in, or None when there is none to point at.

    Evidence names its file only when the input was several files; otherwise the file is the
    input itself — unless that was a stream such as `<stdin>`, or a summary like `3 files`.
    """
    name = file or (report.input.name if len(report.input.files) <= 1 else None)
    if not name or (name.startswith("<") and name.endswith(">")):
        return None
    return name


def render_sarif(report: Report, *, lang: str = DEFAULT_LANGUAGE) -> str:
    """The report as a SARIF 2.1.0 log (JSON, indented, ending with a newline)."""
    rules: list[JSON] = []
    rule_index: dict[str, int] = {}
    results: list[JSON] = []
    for finding in report.findings:
        rule_id = finding.signature or finding.category
        if rule_id not in rule_index:
            rule_index[rule_id] = len(rules)
            rules.append(_rule(rule_id, finding, lang))
        results.append(_result(report, finding, rule_id, rule_index[rule_id], lang))

    run: JSON = {
        "tool": {"driver": {"name": "bifrost", "version": __version__, "rules": rules}},
        "results": results,
        "properties": {"verdict": report.verdict, "summary": report.summary},
    }
    if report.similar:
        run["properties"]["similar"] = [i.model_dump(mode="json") for i in report.similar]
    if report.warnings:
        notifications = [{"level": "warning", "message": {"text": w}} for w in report.warnings]
        run["invocations"] = [
            {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        ]
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule_id: str, finding: Finding, lang: str) -> JSON:
    """A rule for a signature says what it means and how to fix it; a generic one, its category."""
    if finding.signature is None:
        text = message("sarif.generic_rule", lang, rule=rule_id)
        return {"id": rule_id, "shortDescription": {"text": text}}
    rule: JSON = {"id": rule_id, "shortDescription": {"text": finding.title}}
    if finding.explanation:
        rule["fullDescription"] = {"text": finding.explanation.strip()}
    known = finding.known_issue.line(lang) if finding.known_issue else None
    fix = finding.suggestion and f"{message('markdown.fix', lang)} {finding.suggestion}"
    help_parts = [known, finding.explanation, fix]
    help_text = "\n\n".join(part.strip() for part in help_parts if part)
    if help_text:
        rule["help"] = {"text": help_text}
    return rule


def _result(report: Report, finding: Finding, rule_id: str, index: int, lang: str) -> JSON:
    occurrences = counted(finding.count, "occurrence", lang)
    result: JSON = {
        "ruleId": rule_id,
        "ruleIndex": index,
        "level": sarif_level(finding),
        "message": {"text": f"{finding.title} ({occurrences})"},
        "rank": round(min(max(finding.score, 0.0), 1.0) * 100, 1),
        "occurrenceCount": max(finding.count, 1),
        "partialFingerprints": {FINGERPRINT: finding.template_id},
        "properties": {"severity": finding.severity},
    }
    locations = [loc for item in finding.evidence if (loc := _location(report, item))]
    if locations:
        result["locations"] = locations
    return result


def _location(report: Report, item: Evidence) -> JSON | None:
    file = source_file(report, item.file)
    if file is None:
        return None
    region = {
        "startLine": max(item.line, 1),
        "endLine": max(item.end_line, item.line, 1),
        "snippet": {"text": item.text},
    }
    # Percent-encoded, so that spaces, `%`, `#` or `:` in a file name keep their meaning; an
    # absolute path becomes a file URI, a relative one stays relative to the working directory.
    uri = quote(file, safe="/")
    if file.startswith("/"):
        uri = "file://" + uri
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}

"""GitLab's code quality report, validated against a schema written from GitLab's documentation
(docs.gitlab.com, ci/testing/code_quality: "Code Quality report format")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bifrost.render.codequality import SEVERITY, render_gitlab_codequality
from bifrost.render.formats import render
from bifrost.render.locations import Workspace
from bifrost.report import Evidence, Finding, Report

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

# The fields GitLab requires of each issue, and the values it accepts.
CODE_QUALITY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^/"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {
                            "begin": {"type": "integer", "minimum": 1},
                            "end": {"type": "integer", "minimum": 1},
                        },
                    },
                },
            },
        },
    },
}


def issues(report: Report, root: Path | None = None) -> list[dict[str, Any]]:
    text = render_gitlab_codequality(report, workspace=Workspace(root) if root else None)
    loaded: list[dict[str, Any]] = json.loads(text)
    Draft202012Validator.check_schema(CODE_QUALITY_SCHEMA)
    errors = [e.message for e in Draft202012Validator(CODE_QUALITY_SCHEMA).iter_errors(loaded)]
    assert not errors, errors
    return loaded


def test_one_issue_per_finding_at_the_log_lines(sample_report: Report) -> None:
    oom, nccl = issues(sample_report)
    assert oom["location"] == {"path": "trainer.log", "lines": {"begin": 450, "end": 455}}
    assert nccl["location"] == {"path": "trainer.log", "lines": {"begin": 470}}
    assert (oom["severity"], nccl["severity"]) == (SEVERITY["critical"], SEVERITY["error"])
    assert oom["check_name"] == "bifrost/ml.cuda_oom"
    assert oom["description"].startswith("CUDA out of memory — Fix: Lower the per-device")
    assert oom["fingerprint"] != nccl["fingerprint"]
    assert render(sample_report, "gitlab-codequality") == render_gitlab_codequality(sample_report)


def test_no_findings_is_an_empty_report(make_report: MakeReport) -> None:
    assert issues(make_report()) == []


def test_the_fingerprint_ignores_the_line(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    """The same failure after an edit above it is the same issue in the merge request."""
    before = issues(make_report([make_finding(items=[make_evidence(10, "boom")])]))
    after = issues(make_report([make_finding(items=[make_evidence(99, "boom")])]))
    assert before[0]["fingerprint"] == after[0]["fingerprint"]
    assert before[0]["location"]["lines"] != after[0]["location"]["lines"]


def test_a_source_file_of_the_project_is_the_location(
    tmp_path: Path, make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.c").write_text("int main() {}\n", encoding="utf-8")
    text = "cc -c src/app.c\n/etc/hosts:1: error: outside\nsrc/app.c:2:11: error: expected ';'"
    report = make_report([make_finding(items=[make_evidence(40, text)])])
    (issue,) = issues(report, root=tmp_path)
    assert issue["location"] == {"path": "src/app.c", "lines": {"begin": 2}}
    (without_checkout,) = issues(report)
    assert without_checkout["location"]["path"] == "trainer.log"


def test_a_log_in_the_project_is_named_from_its_folder(
    tmp_path: Path, make_report: MakeReport, make_finding: MakeFinding
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "build.log"
    log.write_text("boom\n", encoding="utf-8")
    report = make_report([make_finding()])
    report = report.model_copy(update={"input": report.input.model_copy(update={"name": str(log)})})
    (issue,) = issues(report, root=tmp_path)
    assert issue["location"]["path"] == "logs/build.log"


def test_text_is_one_printable_line(make_report: MakeReport, make_finding: MakeFinding) -> None:
    (issue,) = issues(make_report([make_finding("red \x1b[31m\nalert", suggestion="a\nb")]))
    assert issue["description"] == "red ␛[31m alert — Fix: a b"

"""The SARIF log, validated against the SARIF 2.1.0 JSON schema and read back as a dashboard would.

The schema is `tests/data/sarif/sarif-2.1.0-rtm.5.json`, the 2.1.0 schema as published on
SchemaStore, copied from the npm package `@microsoft/jest-sarif` 1.0.0-beta.0 (MIT,
`lib/schemas/sarif-2.1.0-rtm.5.json`, sha256 2d99159a…de4f8): no PyPI package ships it, and tests
never reach the internet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bifrost import __version__
from bifrost.render.sarif import FINGERPRINT, SCHEMA_URI, render_sarif
from bifrost.report import Evidence, Finding, Report

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

SCHEMA_PATH = Path(__file__).parents[1] / "data" / "sarif" / "sarif-2.1.0-rtm.5.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)

TRICKY = 'disk 50% full: /var, /tmp\n<err> & "quoted" \x1b[31mred\x1b[0m \\ done'


def sarif(report: Report) -> dict[str, Any]:
    """The log as parsed JSON, after checking it against the schema."""
    log: dict[str, Any] = json.loads(render_sarif(report))
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return log


def run_of(report: Report) -> dict[str, Any]:
    run: dict[str, Any] = sarif(report)["runs"][0]
    return run


def test_the_schema_is_strict_about_2_1_0() -> None:
    """Guards the guard: the schema file really rejects what a SARIF consumer would."""
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]

    def log(tool: dict[str, Any], *results: dict[str, Any]) -> dict[str, Any]:
        return {"version": "2.1.0", "runs": [{"tool": tool, "results": list(results)}]}

    tool = {"driver": {"name": "bifrost"}}
    assert VALIDATOR.is_valid(log(tool))
    assert not VALIDATOR.is_valid(log({}))
    assert not VALIDATOR.is_valid(log(tool, {"message": {"text": "x"}, "level": "critical"}))
    region = {"startLine": 0}
    location = {"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": region}}
    assert not VALIDATOR.is_valid(log(tool, {"message": {"text": "x"}, "locations": [location]}))


def test_one_run_by_bifrost(sample_report: Report) -> None:
    log = sarif(sample_report)
    assert log["$schema"] == SCHEMA_URI
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "bifrost"
    assert run["tool"]["driver"]["version"] == __version__
    assert run["properties"]["verdict"] == "failure"
    assert "invocations" not in run


def test_a_result_per_finding_in_rank_order(sample_report: Report) -> None:
    results = run_of(sample_report)["results"]
    assert [r["message"]["text"] for r in results] == [
        "CUDA out of memory (1 occurrence)",
        "NCCL watchdog timeout (7 occurrences)",
    ]
    assert [r["ruleId"] for r in results] == ["ml.cuda_oom", "ml.nccl_timeout"]
    assert [r["occurrenceCount"] for r in results] == [1, 7]
    assert results[0]["rank"] == 90.0


@pytest.mark.parametrize(
    ("severity", "level"),
    [("critical", "error"), ("error", "error"), ("warning", "warning"), ("info", "note")],
)
def test_level_from_severity(
    make_report: MakeReport, make_finding: MakeFinding, severity: str, level: str
) -> None:
    (result,) = run_of(make_report([make_finding(severity=severity)]))["results"]
    assert result["level"] == level
    assert result["properties"]["severity"] == severity


def test_one_rule_per_signature_with_title_and_help(
    make_report: MakeReport, make_finding: MakeFinding
) -> None:
    oom = {
        "signature": "ml.cuda_oom",
        "explanation": "A process asked the GPU for more memory than was free.",
        "suggestion": "Lower the batch size.",
    }
    rep = make_report(
        [
            make_finding(id="F1", template_id="t1", **oom),
            make_finding("Disk full", id="F2", category="log.error", template_id="t2"),
            make_finding(id="F3", template_id="t3", **oom),
            make_finding("Socket closed", id="F4", category="log.error", template_id="t4"),
        ]
    )
    run = run_of(rep)
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["ml.cuda_oom", "log.error"]
    assert rules[0]["shortDescription"]["text"] == "CUDA out of memory"
    assert rules[0]["fullDescription"]["text"] == oom["explanation"]
    assert rules[0]["help"]["text"] == f"{oom['explanation']}\n\nFix: Lower the batch size."
    assert "log.error" in rules[1]["shortDescription"]["text"]
    assert "help" not in rules[1]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 1, 0, 1]


def test_template_id_is_the_fingerprint(make_report: MakeReport, make_finding: MakeFinding) -> None:
    (result,) = run_of(make_report([make_finding(template_id="9f2c41d0")]))["results"]
    assert result["partialFingerprints"] == {FINGERPRINT: "9f2c41d0"}


def test_locations_cover_each_evidence_in_the_input(sample_report: Report) -> None:
    oom, nccl = run_of(sample_report)["results"]
    regions = [
        (loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"])
        for loc in nccl["locations"]
    ]
    assert [(uri, r["startLine"], r["endLine"]) for uri, r in regions] == [
        ("trainer.log", 470, 470),
        ("trainer.log", 512, 512),
    ]
    region = oom["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["endLine"]) == (450, 455)
    assert region["snippet"]["text"].splitlines()[-1].startswith("torch.OutOfMemoryError")


def test_several_inputs_point_at_each_evidence_file(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [
        make_evidence(3, "rank 3 failed", "pod-3.log"),
        make_evidence(9, "timeout", "pod-1.log"),
    ]
    rep = make_report([make_finding(items=items)], files=["pod-1.log", "pod-3.log"])
    (result,) = run_of(rep)["results"]
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in result["locations"]]
    assert uris == ["pod-3.log", "pod-1.log"]


def test_stdin_has_no_file_to_point_at(sample_report: Report) -> None:
    rep = sample_report.model_copy(
        update={"input": sample_report.input.model_copy(update={"name": "<stdin>"})}
    )
    assert all("locations" not in result for result in run_of(rep)["results"])


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("logs/build 50%.log", "logs/build%2050%25.log"),
        ("a#b:c.log", "a%23b%3Ac.log"),
        ("/var/log/app.log", "file:///var/log/app.log"),
    ],
)
def test_file_names_are_encoded_as_uris(
    make_report: MakeReport,
    make_finding: MakeFinding,
    make_evidence: MakeEvidence,
    name: str,
    uri: str,
) -> None:
    rep = make_report([make_finding(items=[make_evidence(7, "boom", name)])])
    (result,) = run_of(rep)["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri


def test_tricky_text_comes_back_as_it_was(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    rep = make_report(
        [make_finding(TRICKY, items=[make_evidence(1, TRICKY)], signature="x", explanation=TRICKY)]
    )
    run = run_of(rep)
    (result,) = run["results"]
    assert result["message"]["text"] == f"{TRICKY} (1 occurrence)"
    assert result["locations"][0]["physicalLocation"]["region"]["snippet"]["text"] == TRICKY
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == TRICKY


def test_no_findings_is_a_valid_empty_run(make_report: MakeReport) -> None:
    run = run_of(make_report())
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []
    assert run["properties"]["verdict"] == "ok"


def test_read_warnings_become_tool_notifications(sample_report: Report) -> None:
    rep = sample_report.model_copy(update={"warnings": ["input cut at 2 GiB"]})
    (invocation,) = run_of(rep)["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == [
        {"level": "warning", "message": {"text": "input cut at 2 GiB"}}
    ]

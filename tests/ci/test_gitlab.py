"""The GitLab component's step as its job runs it, on a real failing CI log (CiDiff)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from typing import Any

from jsonschema import Draft202012Validator

from bifrost.ci.gitlab import REPORTS
from tests.ci.conftest import Runner
from tests.ci.test_github import failing_log
from tests.ci.test_metadata import interpolated
from tests.render.test_codequality import CODE_QUALITY_SCHEMA
from tests.test_schemas import assert_valid


def component_defaults() -> dict[str, str]:
    """The variables the component's job sets, with its inputs' defaults."""
    (job,) = interpolated({"log": "build.log"}).values()
    return {name: str(value) for name, value in job["variables"].items()}


def test_the_job_writes_the_reports_gitlab_shows(runner: Runner) -> None:
    shutil.copy(failing_log("cidiff_11"), runner.workspace / "build.log")
    runner.env["CI_PROJECT_DIR"] = str(runner.workspace)
    step = runner.run("bifrost.ci.gitlab", component_defaults())
    assert step.returncode == 0, step.stderr

    folder = runner.workspace / "bifrost"
    assert sorted(p.name for p in folder.iterdir()) == sorted(REPORTS)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert_valid("report.v1.schema.json", report)

    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert step.stdout == markdown
    assert markdown.startswith(f"## ✗ Failure — {report['findings'][0]['title']}")

    suite = ET.fromstring((folder / "junit.xml").read_text(encoding="utf-8"))
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [finding["title"] for finding in report["findings"]]

    issues: list[dict[str, Any]] = json.loads((folder / "codequality.json").read_text("utf-8"))
    assert not list(Draft202012Validator(CODE_QUALITY_SCHEMA).iter_errors(issues))
    first = report["findings"][0]["evidence"][0]
    assert issues[0]["location"]["path"] == "build.log"
    assert issues[0]["location"]["lines"]["begin"] == first["line"]


def test_fail_on_gates_the_job(runner: Runner) -> None:
    shutil.copy(failing_log("cidiff_11"), runner.workspace / "build.log")
    step = runner.run("bifrost.ci.gitlab", component_defaults(), fail_on="error")
    assert step.returncode == 1


def test_no_log_is_a_warning(runner: Runner) -> None:
    step = runner.run("bifrost.ci.gitlab", component_defaults(), log="missing.log")
    assert step.returncode == 0
    assert "no file matches missing.log" in step.stderr
    assert not (runner.workspace / "bifrost").exists()

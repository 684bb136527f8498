"""`bifrost diff` as a user runs it: two files, every output format, exit codes."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bifrost.cli.diff import diff_command
from tests.conftest import Run

GOOD = """\
2024-05-01T10:00:00.120Z INFO build 8812 started on runner-7f3a9c
2024-05-01T10:00:01.533Z INFO compiled 120 files in 1.4s
2024-05-01T10:00:02.004Z WARN deprecated option --fast ignored
2024-05-01T10:00:09.871Z INFO tests passed: 311 in 7.9s
2024-05-01T10:00:09.990Z INFO build 8812 finished
"""

BAD = """\
2024-05-02T09:14:00.040Z INFO build 8813 started on runner-02bd11
2024-05-02T09:14:01.101Z INFO compiled 121 files in 1.1s
2024-05-02T09:14:02.250Z WARN deprecated option --fast ignored
2024-05-02T09:14:03.300Z ERROR test_upload failed: AssertionError: expected 200, got 503
2024-05-02T09:14:09.700Z INFO build 8813 finished
"""


@pytest.fixture
def logs(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "good.log").write_text(GOOD)
    (tmp_path / "bad.log").write_text(BAD)
    return str(tmp_path / "good.log"), str(tmp_path / "bad.log")


def invoke(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    app.command("diff")(diff_command)
    app.command("other")(lambda: None)  # two commands: `diff` is a subcommand, as in bifrost
    result = CliRunner().invoke(app, ["diff", *args])
    return result.exit_code, result.output


def test_json_report_has_the_diff_section(logs: tuple[str, str]) -> None:
    code, out = invoke(*logs, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["schema"] == "bifrost.report/v1"
    assert report["input"]["name"].endswith("bad.log")
    first = report["findings"][0]
    assert "AssertionError" in first["template"]
    assert first["first_seen"]["line"] == 4
    diff = report["diff"]
    assert diff["baseline"]["name"].endswith("good.log")
    assert (diff["new"], diff["gone"], diff["changed"]) == (1, 1, 0)
    assert diff["new_templates"][0]["failing_count"] == 1
    assert "tests passed" in diff["gone_templates"][0]["template"]
    assert "1 new, 1 gone, 0 changed templates" in report["summary"]


def test_terminal_and_markdown(logs: tuple[str, str]) -> None:
    code, out = invoke(*logs, "--no-color")
    assert code == 1
    assert "AssertionError" in out
    assert "1 new, 1 gone" in " ".join(out.split())  # the summary may wrap
    code, out = invoke(*logs, "--format", "markdown", "--fail-on", "never", "-n")
    assert code == 0
    assert "AssertionError" in out


def test_identical_runs_show_nothing_new(logs: tuple[str, str]) -> None:
    good, _ = logs
    code, out = invoke(good, good, "--format", "json")
    assert code == 0
    assert json.loads(out)["diff"]["new"] == 0


def test_usage_and_input_errors(logs: tuple[str, str], tmp_path: Path) -> None:
    good, bad = logs
    code, _ = invoke("-", bad)
    assert code == 2
    code, _ = invoke(good, str(tmp_path / "missing.log"))
    assert code == 2


def test_baseline_from_the_history(bifrost: Run, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    healthy = "".join(f"2024-05-01 10:00:{i:02d},000 INFO api: request {i} ok\n" for i in range(60))
    good.write_text(healthy)
    bad.write_text(healthy + "2024-05-01 10:01:00,000 ERROR api: disk full on /data\n")
    bifrost("analyze", str(good), "-q", "--service", "api", "--store-input")
    by_service = bifrost("diff", "--baseline", "api", str(bad), "-f", "json")
    assert by_service.returncode == 1, by_service.stderr
    report = json.loads(by_service.stdout)
    assert report["diff"]["new"] >= 1
    assert "disk full" in report["findings"][0]["template"]
    by_id = bifrost("diff", "--baseline", "1", str(bad), "-f", "json")
    assert json.loads(by_id.stdout)["diff"] == report["diff"]
    missing = bifrost("diff", "--baseline", "payments", str(bad))
    assert missing.returncode == 2
    assert "no stored analysis of service 'payments'" in missing.stderr
    assert "--store-input" in missing.stderr
    assert bifrost("diff", str(bad)).returncode == 2


def test_a_good_run_with_a_warning_is_a_baseline_and_failures_are_explained(
    bifrost: Run, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    healthy = "".join(f"2024-05-01 10:00:{i:02d},000 INFO api: request {i} ok\n" for i in range(60))
    good.write_text(healthy + "2024-05-01 10:01:00,000 WARNING api: slow request (2.3 s)\n")
    bad.write_text(healthy + "2024-05-01 10:01:00,000 ERROR api: disk full on /data\n")
    bifrost("analyze", str(bad), "-q", "--service", "web", "--store-input")
    refused = bifrost("diff", "--baseline", "web", str(bad))
    assert refused.returncode == 2
    assert "1 stored run of 'web'" in refused.stderr
    assert "it failed" in refused.stderr
    bifrost("analyze", str(good), "-q", "--service", "web")  # passed, input not kept
    refused = bifrost("diff", "--baseline", "web", str(bad))
    assert "1 passed but was stored without the input, 1 failed" in refused.stderr
    bifrost("analyze", str(good), "-q", "--service", "web", "--store-input")  # the repeat keeps it
    used = bifrost("diff", "--baseline", "web", str(bad), "-f", "json")
    assert used.returncode == 1, used.stderr
    assert json.loads(used.stdout)["diff"]["baseline"]["name"].startswith("stored analysis 2")

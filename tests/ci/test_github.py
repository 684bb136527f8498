"""The GitHub Action's step under a simulated runner, on real failing CI logs (CiDiff)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bifrost.ci.github import SHOWN_PER_LEVEL, shown_annotations
from bifrost.render.github import Annotation
from tests import benchmarks
from tests.ci.conftest import PULL_REQUEST, REPOSITORY, SHA, TOKEN, FakeGitHub, Runner, git
from tests.render.test_github import parse

CIDIFF = benchmarks.root() / "cidiff"


def failing_log(case: str) -> Path:
    return benchmarks.require(CIDIFF / case / "fail.log")


def error_ranges(case: str) -> list[range]:
    """The lines a person marked as the error in the CiDiff ground truth (`E a-b`, `E n`)."""
    ranges = []
    for line in (CIDIFF / case / "groundtruth").read_text(encoding="utf-8").splitlines()[1:]:
        kind, _, span = line.partition(" ")
        if kind == "E":
            first, _, last = span.partition("-")
            ranges.append(range(int(first), int(last or first) + 1))
    return ranges


@pytest.mark.parametrize("case", ["cidiff_11", "astor_1278"])  # astor: folded evidence
def test_a_failing_build_gets_a_summary_annotations_and_outputs(runner: Runner, case: str) -> None:
    shutil.copy(failing_log(case), runner.workspace / "build.log")
    step = runner.run(log="build.log", fail_on="never")
    assert step.returncode == 0, step.stderr

    report = json.loads(Path(step.outputs["report"]).read_text(encoding="utf-8"))
    total = sum(report["finding_counts"].values())
    assert step.outputs["verdict"] == report["verdict"] == "failure"
    assert step.outputs["findings"] == str(total)

    # The summary: the verdict, then each reported finding with its evidence.
    assert step.summary.startswith(f"## ✗ Failure — {report['findings'][0]['title']}")
    assert step.summary.count("\n### ") == len(report["findings"])
    assert step.summary.count("```text\n") == len(report["findings"])
    assert "blob/" not in step.summary  # the log is the job's own, not the repository's

    # Annotations: every stdout line a workflow command, at the log's lines (in the workspace).
    annotations = parse(step.stdout)
    assert [a.props["title"] for a in annotations] == [f["title"] for f in report["findings"]]
    first, evidence = annotations[0], report["findings"][0]["evidence"]
    assert (first.level, first.props["file"]) == ("error", "build.log")
    assert first.props["line"] == str(evidence[0]["line"])
    # … and the evidence it shows is where a person marked the error.
    shown = {e["line"] + i for e in evidence for i in range(e["end_line"] - e["line"] + 1)}
    assert any(line in marked for line in shown for marked in error_ranges(case))


def test_files_of_the_repository_get_links_and_annotations(runner: Runner) -> None:
    test = Path("src/test/java/cidiff/LogDifferTest.java")  # the test that failed in the log
    for path in (test, Path("logs/ci.log")):
        (runner.workspace / path).parent.mkdir(parents=True)
    (runner.workspace / test).write_text("class LogDifferTest {}\n", encoding="utf-8")
    shutil.copy(failing_log("cidiff_11"), runner.workspace / "logs" / "ci.log")
    git(runner.workspace, "init", "-q")
    git(runner.workspace, "add", ".")
    git(runner.workspace, "commit", "-q", "-m", "a failing log as a fixture")

    step = runner.run(log="logs/*.log")
    report = json.loads(Path(step.outputs["report"]).read_text(encoding="utf-8"))
    evidence = report["findings"][0]["evidence"][0]
    page = f"https://github.com/{REPOSITORY}/blob/{SHA}/logs/ci.log#L{evidence['line']}"
    assert f"(<{page}" in step.summary
    # The log's `at LogDifferTest.java:61` is the one file of that name in the repository.
    places = {(a.props.get("file"), a.props.get("line")) for a in parse(step.stdout)}
    assert (test.as_posix(), "61") in places


def test_annotations_point_at_the_source_lines_of_the_workspace(runner: Runner) -> None:
    (runner.workspace / "src").mkdir()
    (runner.workspace / "src" / "app.c").write_text("int main() {\n  return 0\n}\n")
    (runner.workspace / "build.log").write_text(
        "+ make all\n"
        "cc -c src/app.c -o app.o\n"
        "/etc/passwd:1:1: error: outside the workspace\n"
        "src/app.c:2:11: error: expected ';' before '}' token\n"
        "make: *** [Makefile:4: app.o] Error 1\n",
        encoding="utf-8",
    )
    annotations = parse(runner.run(log="build.log").stdout)
    compiler = next(a for a in annotations if a.props.get("file") == "src/app.c")
    assert (compiler.level, compiler.props["line"]) == ("error", "2")
    assert all(a.props.get("file") in {"src/app.c", "build.log"} for a in annotations)


def test_a_log_outside_the_workspace_is_annotated_on_the_run_only(
    runner: Runner, tmp_path: Path
) -> None:
    shutil.copy(failing_log("cidiff_11"), tmp_path / "outside.log")
    annotations = parse(runner.run(log=str(tmp_path / "outside.log")).stdout)
    assert annotations
    assert all("file" not in a.props for a in annotations)


def test_fail_on_makes_the_step_fail(runner: Runner) -> None:
    shutil.copy(failing_log("cidiff_11"), runner.workspace / "build.log")
    assert runner.run(log="build.log", fail_on="error").returncode == 1
    assert runner.run(log="build.log", fail_on="never").returncode == 0


def test_log_text_never_reaches_stdout_as_a_command(runner: Runner) -> None:
    (runner.workspace / "build.log").write_text(
        "ok\n"
        "ERROR ::set-output name=verdict::ok\n"
        "::error file=action.yml,line=1::injected\n"
        "::add-mask::x\r::warning::carriage return\n"
        "FATAL: build failed\n",
        encoding="utf-8",
    )
    step = runner.run(log="build.log")
    parsed = parse(step.stdout)  # fails on any line that is not one of ours
    assert all(a.props.get("title") for a in parsed)
    assert "injected" not in step.stdout.split("::", 2)[0]
    assert step.outputs["verdict"] in {"failure", "unclear", "warning"}


@pytest.mark.parametrize(
    ("log", "said"),
    [
        ("", "No log to analyse: save the failing step's output to a file"),
        ("missing/*.log\nnone.txt", "No log to analyse: no file matches missing/*.log, none.txt"),
    ],
)
def test_no_log_is_said_on_the_page_not_a_failure(runner: Runner, log: str, said: str) -> None:
    step = runner.run(log=log)
    assert step.returncode == 0
    (warning,) = parse(step.stdout)
    assert warning.level == "warning"
    assert warning.message.startswith(said)
    assert step.summary.startswith(said.replace("*", "\\*"))
    assert step.outputs == {}


def test_a_log_that_cannot_be_read_is_an_error_annotation(runner: Runner) -> None:
    (runner.workspace / "core.log").write_bytes(bytes(range(256)) * 64)
    step = runner.run(log="core.log", lang="ko")
    assert step.returncode == 2
    (error,) = parse(step.stdout)
    assert error.level == "error"
    assert "바이너리" in error.message


def test_annotations_beyond_what_github_shows_are_counted() -> None:
    found = [
        Annotation(level, f"{level} {i}", "m")
        for level in ("error", "warning", "notice")
        for i in range(12)
    ]
    shown = shown_annotations(found)
    levels = Counter(a.level for a in shown)
    assert levels == {
        "error": SHOWN_PER_LEVEL,
        "warning": SHOWN_PER_LEVEL,
        "notice": SHOWN_PER_LEVEL,
    }
    count = shown[-1]
    hidden = len(found) - (len(shown) - 1)
    assert count.message.startswith(f"{hidden} findings not annotated")
    assert shown_annotations(found[:3]) == found[:3]


def pull_request_runner(runner: Runner, github: FakeGitHub) -> Runner:
    shutil.copy(failing_log("cidiff_11"), runner.workspace / "build.log")
    runner.event({"action": "synchronize", "pull_request": {"number": PULL_REQUEST}})
    runner.env |= {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN}
    return runner


def test_the_pull_request_comment_is_updated_not_repeated(
    runner: Runner, fake_github: FakeGitHub
) -> None:
    others = [{"id": i, "body": f"review {i}", "html_url": "x"} for i in range(101)]
    fake_github.comments.extend(others)  # ours goes on the second page
    pull_request_runner(runner, fake_github)

    first = runner.run(log="build.log", comment="true")
    assert first.returncode == 0, first.stderr
    ours = [c for c in fake_github.comments if c["body"].startswith("<!-- bifrost:test -->")]
    assert len(ours) == 1
    assert ours[0]["body"] == "<!-- bifrost:test -->\n" + first.summary

    fake_github.requests.clear()
    second = runner.run(log="build.log", comment="true", lang="ko")
    assert [c for c in fake_github.comments if c["body"].startswith("<!-- bifrost")] == ours
    assert ours[0]["body"] == "<!-- bifrost:test -->\n" + second.summary
    assert "## ✗ 실패" in ours[0]["body"]
    methods = [method for method, _ in fake_github.requests]
    assert methods == ["GET", "GET", "PATCH"]
    assert len(fake_github.comments) == len(others) + 1


def test_a_comment_that_fails_is_a_warning_not_a_failure(
    runner: Runner, fake_github: FakeGitHub
) -> None:
    pull_request_runner(runner, fake_github)
    runner.env["GITHUB_TOKEN"] = "wrong"
    step = runner.run(log="build.log", comment="true")
    assert step.returncode == 0
    warning = parse(step.stdout)[-1]
    assert warning.level == "warning"
    assert warning.message.startswith("Could not update the pull-request comment: ")
    assert "401" in warning.message
    assert fake_github.comments == []


def test_no_comment_outside_a_pull_request(runner: Runner, fake_github: FakeGitHub) -> None:
    pull_request_runner(runner, fake_github)
    runner.event({"ref": "refs/heads/main"})  # a push
    step = runner.run(log="build.log", comment="true")
    assert parse(step.stdout)[-1].message.startswith("No pull request to comment on")
    assert fake_github.requests == []
    assert runner.run(log="build.log").stdout.count("pull request") == 0

"""`bifrost analyze` as a user runs it: real files, stdin, exit codes, every output format."""

import gzip
import json
from pathlib import Path

from tests.conftest import DATA, Run

LOGS = DATA / "logs"


def test_sample_runs_with_no_setup(bifrost: Run) -> None:
    result = bifrost("analyze", "--sample", "--no-color")
    assert result.returncode == 1, result.stderr
    assert "CUDA out of memory" in result.stdout
    assert "→ fix:" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


def test_json_report_is_the_public_contract(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "service-crash.log"), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["schema"] == "bifrost.report/v1"
    assert report["verdict"] == "failure"
    assert report["input"]["name"].endswith("service-crash.log")
    assert report["input"]["lines"] == report["stats"]["lines"] == 309
    assert len(report["input"]["sha256"]) == 64
    first = report["findings"][0]
    assert first["id"] == "F1"
    assert first["category"] == first["signature"] == "net.connection_refused"
    assert "refused" in first["title"].lower()
    assert first["explanation"]
    assert first["suggestion"]
    lines = (LOGS / "service-crash.log").read_text().splitlines()
    for item in first["evidence"]:
        shown = item["text"].split("\n")
        assert shown == lines[item["line"] - 1 : item["end_line"]]


def test_stdin_is_read_when_no_path_is_given(bifrost: Run) -> None:
    log = (LOGS / "service-crash.log").read_text()
    result = bifrost("analyze", "--format", "json", stdin=log)
    assert json.loads(result.stdout)["input"]["name"] == "<stdin>"
    assert bifrost("analyze", "-", "-f", "json", stdin=log).returncode == 1


def test_a_healthy_log_exits_zero(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "healthy.log"), "--format", "json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["verdict"] == "ok"
    assert report["findings"] == []


def test_fail_on_and_top(bifrost: Run) -> None:
    path = str(LOGS / "maven-compile.log")
    assert bifrost("analyze", path, "--fail-on", "never", "-q").returncode == 0
    assert bifrost("analyze", path, "--fail-on", "critical", "-q").returncode == 0
    assert bifrost("analyze", path, "--fail-on", "error", "-q").returncode == 1
    report = json.loads(bifrost("analyze", path, "--top", "2", "-f", "json").stdout)
    assert len(report["findings"]) == 2


def test_markdown_output(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "maven-compile.log"), "--format", "markdown")
    assert result.stdout.startswith("## ")
    assert "cannot find symbol" in result.stdout


def test_quiet_prints_nothing(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "maven-compile.log"), "-q")
    assert result.stdout == ""
    assert result.returncode == 1


def test_several_files_and_gzip(bifrost: Run, tmp_path: Path) -> None:
    packed = tmp_path / "crash.log.gz"
    packed.write_bytes(gzip.compress((LOGS / "service-crash.log").read_bytes()))
    result = bifrost("analyze", str(LOGS / "healthy.log"), str(packed), "-f", "json")
    report = json.loads(result.stdout)
    assert report["input"]["files"] == [str(LOGS / "healthy.log"), str(packed)]
    assert report["input"]["lines"] == 400 + 309
    first = report["findings"][0]
    assert first["first_seen"]["file"] == str(packed)
    assert first["evidence"][0]["file"] == str(packed)


def test_bad_input_gets_one_clear_line_and_exit_2(bifrost: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    binary = tmp_path / "core.bin"
    binary.write_bytes(bytes(range(256)) * 100)
    cases = {
        str(tmp_path / "missing.log"): "no such file",
        str(tmp_path): "is a directory",
        str(empty): "empty",
        str(binary): "binary",
    }
    for path, words in cases.items():
        result = bifrost("analyze", path)
        assert result.returncode == 2, path
        assert result.stderr.count("\n") == 1, result.stderr
        assert words in result.stderr
        assert "Traceback" not in result.stderr


def test_empty_pipe_is_an_input_error(bifrost: Run) -> None:
    result = bifrost("analyze", stdin=b"")
    assert result.returncode == 2
    assert "empty" in result.stderr


def test_invalid_utf8_and_truncated_gzip_lose_nothing(bifrost: Run, tmp_path: Path) -> None:
    raw = (LOGS / "service-crash.log").read_bytes().replace(b"handled", b"handl\xff\xfeed")
    mangled = tmp_path / "mangled.log"
    mangled.write_bytes(raw)
    report = json.loads(bifrost("analyze", str(mangled), "-f", "json").stdout)
    assert report["input"]["lines"] == 309
    big = b"".join(b"line %d ok\n" % i for i in range(200_000)) + b"ERROR disk full\n"
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(big)[:-4000])
    result = bifrost("analyze", str(cut), "-f", "json")
    assert "truncated" in result.stderr
    assert json.loads(result.stdout)["input"]["lines"] > 100_000


def test_invalid_option_value_is_a_usage_error(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "healthy.log"), "--fail-on", "sometimes")
    assert result.returncode == 2
    assert result.stderr == (
        "bifrost: error: --fail-on: must be one of warning, error, critical, never "
        "(got 'sometimes')\n"
    )


def test_settings_come_from_the_environment(bifrost: Run) -> None:
    path = str(LOGS / "maven-compile.log")
    report = json.loads(bifrost("analyze", path, "-f", "json", env={"BIFROST_TOP": "1"}).stdout)
    assert len(report["findings"]) == 1
    flagged = bifrost("analyze", path, "-f", "json", "--top", "3", env={"BIFROST_TOP": "1"})
    assert len(json.loads(flagged.stdout)["findings"]) == 3


def test_verbose_shows_the_traceback(bifrost: Run, tmp_path: Path) -> None:
    result = bifrost("analyze", str(tmp_path / "missing.log"), "-v")
    assert "Traceback" in result.stderr
    assert result.returncode == 2


def test_ci_formats(bifrost: Run) -> None:
    path = str(LOGS / "maven-compile.log")
    sarif = json.loads(bifrost("analyze", path, "-n", "-f", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"]
    github = bifrost("analyze", path, "-n", "-f", "github").stdout
    assert github.startswith("::error ")
    junit = bifrost("analyze", path, "-n", "-f", "junit")
    assert "<failure" in junit.stdout
    assert junit.returncode == 1  # --fail-on gates the pipeline as with every format


def test_merged_pod_streams_name_their_sources(bifrost: Run) -> None:
    result = bifrost("analyze", str(LOGS / "merged-pods.log"), "-n", "-f", "json")
    report = json.loads(result.stdout)
    assert report["stats"]["format"] == "merged"
    first, second = report["findings"][:2]
    assert first["signature"] == "gpu.cuda_oom"
    assert first["sources"] == ["trainer-3/main"]
    assert second["signature"] == "gpu.nccl_timeout"
    assert second["sources"] == ["trainer-0/main", "trainer-1/main", "trainer-2/main"]
    shown = bifrost("analyze", str(LOGS / "merged-pods.log"), "-n", "--no-color").stdout
    assert "from trainer-0/main, trainer-1/main, trainer-2/main" in shown


def test_a_training_run_shows_its_curves_and_its_series_on_request(bifrost: Run) -> None:
    log = str(DATA / "training" / "torch_lr_zero.log")
    shown = bifrost("analyze", "-n", "--no-color", log)
    assert shown.returncode == 0, shown.stderr  # a warning, below the default --fail-on
    assert "lr reached zero early, at step 101" in shown.stdout
    assert "Training metrics:" in shown.stdout
    summary = json.loads(bifrost("analyze", "-n", "-f", "json", log).stdout)
    assert {m["key"]: m["points"] for m in summary["metrics"]}["lr"] is None
    full = json.loads(bifrost("analyze", "-n", "-f", "json", "--series", log).stdout)
    lr = {m["key"]: m for m in full["metrics"]}["lr"]
    assert lr["count"] == 300
    assert lr["points"][-1]["value"] == 0.0
    assert [p["step"] for p in lr["points"][:3]] == [1, 3, 5]  # 300 values thinned to 151

"""`bifrost batch` as a user runs it: every output format, the exit codes, stdin lists.

The command is registered on a local Typer app, as the root app registers it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from bifrost.cli.batch import batch_command
from tests.test_batch import FIRST, RANKS, job, rank_log

__all__ = ["job"]  # the fixture, shared with the use-case tests

app = typer.Typer()
app.command("batch")(batch_command)


@app.callback()
def _root() -> None:
    """A group, so that `batch` is named on the command line as under `bifrost`."""


def batch(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["batch", *args], input=stdin, env={"COLUMNS": "250"})


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    folder = tmp_path / "healthy"
    folder.mkdir()
    for n in range(3):
        (folder / f"pod{n}.log").write_text(f"2024-05-01 10:00:0{n} INFO api - ready\n")
    return folder


def test_json_has_every_file_and_the_cross_file_view(job: Path) -> None:
    result = batch(str(job), "--glob", "*.log", "-j", "2", "--format", "json")
    assert result.exit_code == 2  # three files could not be read
    out = json.loads(result.stdout)
    assert out["schema"] == "bifrost.batch/v1"
    assert out["totals"] == {"files": RANKS + 4, "analysed": RANKS + 1, "failed": 3}
    statuses = {Path(f["path"]).name: f["status"] for f in out["files"]}
    assert statuses["core.log"] == statuses["empty.log"] == statuses["gone.log"] == "failed"
    assert statuses["cut.log"] == "warning"
    rank = next(f for f in out["files"] if f["path"].endswith(f"rank{FIRST}.log"))
    assert rank["report"]["schema"] == "bifrost.report/v1"
    assert rank["verdict"] == "failure"
    assert rank["top_severity"] == "critical"
    cross = out["cross_file"]
    assert len(cross["shared_templates"][0]["files"]) == RANKS + 1  # cut.log has it too
    assert cross["first_failure"]["path"].endswith(f"rank{FIRST}.log")


def test_jsonl_and_csv_have_one_record_per_file(job: Path) -> None:
    lines = batch(str(job / "node1"), "-j", "2", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [Path(r["path"]).name for r in records] == [f"rank{r:02d}.log" for r in range(1, 30, 2)]
    assert {r["verdict"] for r in records} == {"failure"}
    assert "report" not in records[0]
    result = batch(str(job / "node1"), str(job / "core.log"), "-j", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == RANKS // 2 + 1
    assert rows[-1]["status"] == "failed"
    assert "binary" in rows[-1]["error"]
    assert rows[0]["lines"] == "41"
    assert rows[0]["top_finding"]


def test_table_shows_verdicts_errors_and_the_first_failure(job: Path) -> None:
    result = batch(str(job), "--glob", "*.log", "-j", "2", "--no-color")
    assert result.exit_code == 2
    out = result.stdout
    assert "top finding" in out
    assert "unread" in out
    assert "binary data" in out
    assert f"{RANKS + 1}/{RANKS + 1} analysed" in out  # the NCCL timeout, in every rank
    assert f"rank{FIRST}.log failed first" in out
    assert "\x1b[" not in out
    assert "analysing" not in result.stderr


def test_exit_codes_follow_fail_on(healthy: Path, tmp_path: Path) -> None:
    assert batch(str(healthy), "-q").exit_code == 0
    failing = tmp_path / "failing.log"
    failing.write_text(rank_log(FIRST))
    assert batch(str(healthy), str(failing), "-q").exit_code == 1
    assert batch(str(failing), "--fail-on", "critical", "-q").exit_code == 1
    assert batch(str(failing), "--fail-on", "never", "-q").exit_code == 0
    warned = tmp_path / "warned.log"
    warned.write_text("2024-05-01 10:00:00 WARNING api - slow disk\n")
    assert batch(str(warned), "-q").exit_code == 0
    assert batch(str(warned), "--fail-on", "warning", "-q").exit_code == 1
    missing = batch(str(healthy), str(tmp_path / "nope.log"), "--fail-on", "never")
    assert missing.exit_code == 2
    assert "no such file" in missing.stdout


def test_paths_listed_on_stdin(healthy: Path) -> None:
    listing = "\n".join(str(p) for p in sorted(healthy.iterdir())) + "\n"
    result = batch("-", "--format", "jsonl", stdin=listing)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3


def test_a_glob_that_matches_nothing_is_an_unread_input(tmp_path: Path) -> None:
    result = batch(str(tmp_path / "*.log"), "--format", "jsonl")
    assert result.exit_code == 2
    assert "no file matches" in json.loads(result.stdout)["error"]

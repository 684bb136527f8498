"""The batch use case on real files: 30 pod logs and 3 bad ones, read across."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bifrost.analysis.batch import (
    FileResult,
    Input,
    expand,
    first_failure,
    run_batch,
    shared_templates,
)
from bifrost.config import load_settings
from bifrost.report import Report

RANKS = 30
FIRST = 17  # the rank that runs out of memory; the others time out waiting for it


def rank_log(rank: int, *, timed: bool = True) -> str:
    """A training rank's log: steps, then (rank FIRST) an OOM, then everyone's NCCL timeout."""

    def at(minute: int, second: int) -> str:
        return f"2024-05-01 10:{minute:02d}:{second:02d},000 " if timed else ""

    lines = [f"{at(0, s)}INFO trainer - rank {rank} step {s} loss=0.{s}" for s in range(40)]
    if rank == FIRST:
        lines.append(f"{at(0, 41)}ERROR trainer - CUDA out of memory. Tried to allocate 2.00 GiB")
    lines.append(
        f"{at(1, 10 + rank)}ERROR nccl - Watchdog caught collective operation timeout: "
        "WorkNCCL(SeqNum=812) ran for 600000 milliseconds before timing out"
    )
    return "\n".join(lines) + "\n"


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """logs/: 30 rank logs in two sub-directories, a binary file, an empty one, a dangling
    symlink (a file that vanished), and a truncated gzip (read with a warning, not failed)."""
    logs = tmp_path / "logs"
    for rank in range(RANKS):
        folder = logs / f"node{rank % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"rank{rank:02d}.log").write_text(rank_log(rank))
    (logs / "core.log").write_bytes(bytes(range(256)) * 64)
    (logs / "empty.log").write_bytes(b"")
    (logs / "gone.log").symlink_to(tmp_path / "nowhere.log")
    # The engine reads gzip in 1 MiB pieces and keeps those whole before the cut: ~4 MiB.
    packed = gzip.compress(rank_log(0).encode() * 1200)
    (logs / "cut.log").write_bytes(packed[: len(packed) * 3 // 4])
    (logs / "notes.txt").write_text("not matched by *.log\n")
    return logs


def test_expand_is_stable_recursive_and_deduplicated(job: Path) -> None:
    inputs = expand([str(job), str(job / "node0" / "rank00.log")], "*.log")
    paths = [Path(i.path).relative_to(job).as_posix() for i in inputs]
    assert paths[:4] == ["core.log", "cut.log", "empty.log", "gone.log"]  # sorted, symlink kept
    assert paths[4:6] == ["node0/rank00.log", "node0/rank02.log"]
    assert len(paths) == RANKS + 4  # rank00 is named twice, analysed once; notes.txt skipped
    assert all(i.error is None for i in inputs)


def test_expand_globs_and_arguments_naming_nothing(job: Path, tmp_path: Path) -> None:
    (tmp_path / "quiet").mkdir()
    inputs = expand([str(job / "node1" / "rank0*.log"), str(tmp_path / "quiet"), "x/*.log"])
    assert [Path(i.path).name for i in inputs[:5]] == [f"rank{r:02d}.log" for r in (1, 3, 5, 7, 9)]
    assert inputs[5].error is not None
    assert "no file in it matches '*'" in inputs[5].error
    assert inputs[6] == Input("x/*.log", "x/*.log: no file matches")


def test_bad_files_are_reported_and_the_rest_analysed(job: Path) -> None:
    done: list[FileResult] = []
    batch = run_batch(expand([str(job)], "*.log"), load_settings(), jobs=2, on_done=done.append)
    assert len(done) == len(batch.files) == RANKS + 4
    by_name = {Path(r.path).name: r for r in batch.files}
    assert "binary" in str(by_name["core.log"].error)
    assert "empty" in str(by_name["empty.log"].error)
    assert "no such file" in str(by_name["gone.log"].error)
    cut = by_name["cut.log"].report
    assert cut is not None
    assert "truncated" in cut.warnings[0]
    ranks = [r for r in batch.files if r.path.endswith(".log") and "rank" in r.path]
    assert len(ranks) == RANKS
    assert all(r.report is not None and r.report.verdict == "failure" for r in ranks)


def test_cross_file_view_names_the_shared_error_and_the_first_failure(job: Path) -> None:
    inputs = list(expand([str(job)], "rank*.log"))
    batch = run_batch(inputs, load_settings(), jobs=2)
    common = batch.shared[0]
    assert len(common.files) == RANKS
    assert "NCCL" in common.title
    assert common.severity == "error"
    assert common.count == RANKS
    first = batch.first_failure
    assert first.path is not None
    assert first.path.endswith(f"rank{FIRST}.log")
    assert first.ts == "2024-05-01 10:00:41,000"
    assert first.title is not None
    assert "out of memory" in first.title
    assert f"rank{FIRST}.log failed first" in first.note
    assert f"{RANKS - 1} files failed later, the next 29 s after" in first.note


def _result(tmp_path: Path, name: str, text: str) -> FileResult:
    from bifrost.analysis import analyze  # noqa: PLC0415

    path = tmp_path / name
    path.write_text(text)
    return FileResult(str(path), report=analyze([str(path)], load_settings()))


def test_first_failure_explains_when_it_cannot_tell(tmp_path: Path) -> None:
    untimed = [_result(tmp_path, f"r{r}.log", rank_log(r, timed=False)) for r in (0, 1)]
    assert first_failure(untimed).path is None
    assert "carry no timestamp" in first_failure(untimed).note
    timed = _result(tmp_path, "t.log", rank_log(5))
    mixed = first_failure([*untimed, timed])
    assert mixed.path == timed.path
    assert "only file with a timed error" in mixed.note
    assert "2 files with errors could not be compared" in mixed.note
    healthy = _result(tmp_path, "ok.log", "2024-05-01 10:00:00 INFO all good\n")
    assert first_failure([healthy]).note == "No file has an error-or-worse finding."
    assert shared_templates([healthy, timed]) == []


def test_a_time_of_day_does_not_outrank_a_dated_timestamp(tmp_path: Path) -> None:
    dated = _result(tmp_path, "dated.log", rank_log(3))
    clock = _result(
        tmp_path, "clock.log", "09:00:00.000 INFO a start\n09:00:01.000 ERROR a - disk is full\n"
    )
    assert isinstance(clock.report, Report)
    assert clock.report.findings[0].first_seen.ts
    verdict = first_failure([clock, dated])
    assert verdict.path == dated.path
    assert "1 file with errors could not be compared" in verdict.note

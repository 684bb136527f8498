"""`bifrost diff`'s engine: one miner over both runs; new, gone and changed templates; ranking."""

from pathlib import Path

from bifrost.engine.diff import Comparison, compare, rerank, section
from bifrost.engine.read import open_sources
from bifrost.engine.score import findings


def run_log(day: int, *, extra: str = "", rows: int = 40) -> str:
    """A service log whose timestamps, request ids, hashes and durations differ by `day`."""
    lines = []
    for i in range(rows):
        second = (i * 7 + day) % 60
        lines.append(
            f"2024-05-{day:02d}T10:{i % 60:02d}:{second:02d}.{i * 13 + day:03d}Z INFO "
            f"request {day}{i:04d}-{i * day:x}ab0f3c9 "
            f"id=3fa85f64-5717-4562-b3fc-2c963f66af{day:02d} served in {i * 3 + day}ms"
        )
        if i == 5:  # a known nuisance, in every run
            lines.append(
                f"2024-05-{day:02d}T10:05:00.000Z ERROR cache node 10.0.0.{day} connection refused"
            )
    return "\n".join(lines) + "\n" + extra


def compare_texts(tmp_path: Path, baseline: str, failing: str) -> Comparison:
    (tmp_path / "pass.log").write_text(baseline)
    (tmp_path / "fail.log").write_text(failing)
    return compare(
        open_sources([str(tmp_path / "pass.log")]),
        open_sources([str(tmp_path / "fail.log")]),
        block_bytes=1 << 20,
    )


def test_timestamps_ids_and_durations_do_not_make_a_line_new(tmp_path: Path) -> None:
    comparison = compare_texts(tmp_path, run_log(1), run_log(2))
    changes = section(comparison)
    assert (changes.new, changes.gone, changes.changed) == (0, 0, 0)
    assert changes.baseline.name.endswith("pass.log")
    assert changes.baseline.lines == 41


def test_a_new_error_leads_and_the_baseline_nuisance_sinks(tmp_path: Path) -> None:
    crash = "2024-05-02T10:59:59.000Z ERROR worker 3 exited: ValueError: bad shape (3, 4)\n"
    comparison = compare_texts(tmp_path, run_log(1), run_log(2, extra=crash))
    analyzed = findings(comparison.failing)
    before = next(f for f in analyzed if "connection refused" in f.template)
    ranked = rerank(comparison, analyzed)
    assert "ValueError" in ranked[0].template
    assert ranked[0].first_seen.line == 42  # a line of the failing input
    assert [f.id for f in ranked] == [f"F{i}" for i in range(1, len(ranked) + 1)]
    assert ranked[0].score == 1.0
    after = next(f for f in ranked if "connection refused" in f.template)
    assert after.score < before.score  # the nuisance the baseline had sinks
    assert after.score < 0.5
    changes = section(comparison)
    assert changes.new == 1
    (new,) = changes.new_templates
    assert "ValueError" in new.template
    assert (new.baseline_count, new.failing_count) == (0, 1)


def test_gone_and_changed_in_rate(tmp_path: Path) -> None:
    quota = "2024-05-0{d}T11:00:00.000Z ERROR upload failed: quota exceeded, attempt {n}\n"
    baseline = run_log(1, extra=quota.format(d=1, n=1) + "2024-05-01T11:00:01Z INFO uploaded\n")
    storm = "".join(quota.format(d=2, n=n) for n in range(1, 9))
    comparison = compare_texts(tmp_path, baseline, run_log(2, extra=storm))
    changes = section(comparison)
    assert changes.gone == 1
    assert "uploaded" in changes.gone_templates[0].template
    assert changes.changed == 1
    (changed,) = changes.changed_templates
    assert "upload failed" in changed.template
    assert (changed.baseline_count, changed.failing_count) == (1, 8)
    ranked = rerank(comparison, findings(comparison.failing))
    assert "upload failed" in ranked[0].template  # risen: above the nuisance the baseline had


def test_a_count_that_was_zero_in_the_baseline_is_new_trouble(tmp_path: Path) -> None:
    """`Failures: 0` and `Failures: 2` are one template; only the failing run's is trouble."""
    summary = "Tests run: 12, Failures: {n}, Errors: 0, Skipped: 0\n"
    comparison = compare_texts(
        tmp_path, run_log(1, extra=summary.format(n=0)), run_log(2, extra=summary.format(n=2))
    )
    assert section(comparison).new == 0
    analyzed = findings(comparison.failing)
    ranked = rerank(comparison, analyzed)
    before = next(f for f in analyzed if "connection refused" in f.template)
    assert "Failures" in ranked[0].template
    assert "connection refused" in ranked[1].template
    assert ranked[1].score < before.score  # sunk against the summary, not with it

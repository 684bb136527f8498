"""Problems of a training run found in its curves, on logs that real trainers printed.

The logs of `tests/data/training/` were written by running tiny training loops with the real
libraries (Hugging Face Trainer, Lightning, Keras, a plain PyTorch loop with `logging`); how
each went wrong, for real, is in `tests/data/training/make_logs.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bifrost.analysis import analyze_sources
from bifrost.analysis.inputs import Source
from bifrost.analysis.run import analyze
from bifrost.config import Settings
from bifrost.engine.curves import merged, problems
from bifrost.engine.metrics import MetricLog
from bifrost.i18n.reports import localized
from bifrost.report import Evidence, Finding, Position

TRAINING = Path(__file__).parent.parent / "data" / "training"


def analysed(name: str) -> tuple[list[str], list[Finding]]:
    report = analyze([str(TRAINING / f"{name}.log")], Settings())
    return [m.key for m in report.metrics], report.findings


def curve_findings(findings: list[Finding]) -> list[str]:
    return [f.category for f in findings if f.category.startswith("training.")]


@pytest.mark.parametrize(
    ("name", "metrics"),
    [
        ("hf_trainer_healthy", ["loss", "grad_norm", "learning_rate", "eval_loss"]),
        ("lightning_healthy", ["train_loss", "val_loss"]),
        ("keras_healthy", ["accuracy", "loss", "val_accuracy", "val_loss"]),
        ("torch_healthy", ["loss", "lr", "samples/s", "mem_mb"]),
    ],
)
def test_a_healthy_run_has_its_curves_and_no_finding_about_them(
    name: str, metrics: list[str]
) -> None:
    keys, findings = analysed(name)
    assert set(metrics) <= set(keys)
    assert curve_findings(findings) == []
    assert all(f.severity == "info" for f in findings)  # transformers' note on its loss


@pytest.mark.parametrize(
    ("name", "kind", "at"),
    [
        ("torch_nan", "training.non-finite", "step 7"),
        ("hf_trainer_diverged", "training.diverged", "after epoch 0.6875: 0.08073 → 1.665"),
        ("torch_throughput", "training.throughput-collapse", "step 181"),
        ("torch_lr_zero", "training.lr-zero-early", "step 101"),
        ("torch_leak", "training.memory-leak", "from 305 to 1066"),
        ("torch_stall", "training.stall", "after step 119"),
    ],
)
def test_a_run_that_went_wrong_is_named_first_with_where(name: str, kind: str, at: str) -> None:
    _, findings = analysed(name)
    first = findings[0]
    assert first.category == kind
    assert at in first.title
    lines = (TRAINING / f"{name}.log").read_text().splitlines()
    assert first.evidence
    assert all(lines[e.line - 1].startswith(e.text) for e in first.evidence)  # its own lines


def test_the_first_value_that_is_not_a_number_and_the_one_before_are_the_evidence() -> None:
    _, findings = analysed("torch_nan")
    nan = findings[0]
    assert [e.line for e in nan.evidence] == [6, 7]
    assert "loss=inf" in nan.evidence[1].text
    assert nan.first_seen.line == 7
    assert nan.count == 144  # values that are not numbers


def test_a_signature_finding_of_the_same_values_gives_way_to_the_curve() -> None:
    """`loss=nan` matches the knowledge base's NaN signature too: one finding remains, the
    curve's (it knows where it began), with the signature kept."""
    _, findings = analysed("torch_nan")
    assert len(findings) == 1
    assert findings[0].signature is not None


def test_a_stall_is_measured_against_the_usual_pace() -> None:
    _, findings = analysed("torch_stall")
    stall = findings[0]
    assert stall.title == "no training progress for 6 min after step 119"  # 330 s asleep
    assert [e.line for e in stall.evidence] == [119, 120]


def metric_log(lines: list[str]) -> MetricLog:
    log = MetricLog()
    for number, line in enumerate(lines, start=1):
        log.feed(0, number, line)
    return log


def test_a_spike_the_loss_recovers_from_is_not_a_divergence() -> None:
    losses = [2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 4.0, 4.2, 3.9, 0.8, 0.7, 0.7, 0.6, 0.6, 0.5, 0.5]
    log = metric_log([f"step={i} loss={v} lr=0.1" for i, v in enumerate(losses)])
    assert problems(log) == []


def test_a_loss_that_climbs_away_and_stays_is_a_divergence() -> None:
    losses = [2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 1.5, 2.4, 3.1, 3.6, 3.9, 4.4, 4.1, 4.6, 5.0, 5.2]
    log = metric_log([f"step={i} loss={v} lr=0.1" for i, v in enumerate(losses)])
    (diverged,) = problems(log)
    assert diverged.kind == "diverged"
    assert diverged.text("title") == "loss diverged after step 5: 0.8 → 5.2"


def test_a_learning_rate_that_decays_to_zero_at_the_end_is_healthy() -> None:
    lrs = [0.1 * (1 - i / 99) for i in range(100)]
    log = metric_log([f"step={i} loss=1.0 lr={v:.6f}" for i, v in enumerate(lrs)])
    assert problems(log) == []


def test_memory_that_grows_then_settles_is_no_leak() -> None:
    memory = [1000 + min(i, 10) * 50 for i in range(60)]
    log = metric_log([f"step={i} loss=1.0 mem_mb={m}" for i, m in enumerate(memory)])
    assert problems(log) == []


def finding(category: str, severity: str, line: int, text: str) -> Finding:
    return Finding(
        id="F0",
        title=text,
        severity=severity,  # type: ignore[arg-type]
        category=category,
        score=0.5,
        template_id="t",
        template=text,
        count=1,
        first_seen=Position(line=line),
        last_seen=Position(line=line),
        evidence=[Evidence(line=line, end_line=line, text=text)],
    )


def test_a_curve_problem_ranks_after_the_errors_of_the_log_and_before_its_warnings() -> None:
    losses = [2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 1.5, 2.4, 3.1, 3.6, 3.9, 4.4, 4.1, 4.6, 5.0, 5.2]
    log = metric_log([f"step={i} loss={v} lr=0.1" for i, v in enumerate(losses)])
    ranked = [
        finding("gpu.cuda_oom", "critical", 40, "CUDA out of memory"),
        finding("log.warning", "warning", 3, "slow data loader"),
    ]
    order = merged(ranked, problems(log), lambda _: None)
    assert [(f.id, f.category) for f in order] == [
        ("F1", "gpu.cuda_oom"),
        ("F2", "training.diverged"),
        ("F3", "log.warning"),
    ]


def test_a_stall_in_a_long_run_is_found_where_lines_are_read_thinned(tmp_path: Path) -> None:
    """200,000 steps half a second apart, 30 minutes lost after step 150,000, and one last
    line of another shape (`lr=0.000e+00`): the lines around the stall are read one in 1,024,
    and the last one is its shape's first."""
    start = datetime(2024, 5, 1, tzinfo=UTC)
    log = tmp_path / "long.log"
    with log.open("w") as out:
        for step in range(1, 200_001):
            moment = start + timedelta(seconds=step / 2 + (1800 if step > 150_000 else 0))
            lr = 3e-4 * (1 - step / 200_000)
            out.write(f"{moment:%Y-%m-%d %H:%M:%S} INFO step={step} loss=0.5 lr={lr:.3e}\n")
    report = analyze([str(log)], Settings())
    (stall,) = report.findings
    assert stall.category == "training.stall"
    assert stall.title.startswith("no training progress for 30 min after step ")
    before, after = (e.line for e in stall.evidence)
    assert before <= 150_000 < after


def test_a_curve_finding_reads_in_korean_with_the_same_numbers_and_moments() -> None:
    losses = [2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 1.5, 2.4, 3.1, 3.6, 3.9, 4.4, 4.1, 4.6, 5.0, 5.2]
    log = "".join(f"step={i} loss={v} lr=0.1\n" for i, v in enumerate(losses))
    report = analyze_sources([Source(name="train.log", path=None, data=log.encode())], Settings())
    index = next(i for i, f in enumerate(report.findings) if f.category == "training.diverged")
    finding, korean = report.findings[index], localized(report, "ko").findings[index]
    assert korean.title == "loss 값이 step 5 이후 발산했습니다: 0.8 → 5.2"
    assert "step 5" in (korean.suggestion or "")
    assert "체크포인트" in (korean.suggestion or "")
    assert korean.explanation != finding.explanation
    same = ("id", "category", "severity", "template_id", "evidence", "messages")
    assert {k: getattr(korean, k) for k in same} == {k: getattr(finding, k) for k in same}
    assert localized(report, "en") == report

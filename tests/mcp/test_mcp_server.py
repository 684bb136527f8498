"""`bifrost mcp` driven by the MCP SDK's own client over stdio, as an AI assistant runs it:
the tools are listed with their schemas, each is called, a stored Report is read as a
resource, and a path outside the allowed folder is refused."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp.client.stdio import StdioServerParameters
from mcp_types import TextResourceContents

from mcp import Client
from tests.conftest import free_port, listening

ROOT = Path(__file__).parents[2]
TRAINER = ROOT / "src/bifrost/samples/trainer.log"
HEALTHY = ROOT / "tests/data/logs/healthy.log"
TOOLS = {"analyze_log", "diff_logs", "search_history", "get_analysis", "explain_finding"}


def server(tmp_path: Path, allowed: Path) -> StdioServerParameters:
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env |= {
        "BIFROST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
        "BIFROST_CONFIG": str(tmp_path / "none.toml"),
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "bifrost", "mcp", "--root", str(allowed)], env=env
    )


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    content: dict[str, Any] = result.structured_content
    return content


def error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(part.text for part in result.content)


def test_an_agent_analyses_compares_and_looks_up_logs(tmp_path: Path) -> None:
    allowed = tmp_path / "logs"
    allowed.mkdir()
    shutil.copy(TRAINER, allowed / "trainer.log")
    shutil.copy(HEALTHY, allowed / "healthy.log")
    lines = (allowed / "trainer.log").read_text(encoding="utf-8").splitlines()

    async def scenario() -> None:
        async with Client(server(tmp_path, allowed)) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(listed) == TOOLS
            for tool in listed.values():
                assert tool.description
                assert tool.output_schema is not None

            analysed = structured(await client.call_tool("analyze_log", {"path": "trainer.log"}))
            assert analysed["verdict"] == "failure"
            first = analysed["findings"][0]
            assert (first["rank"], first["category"]) == (1, "gpu.cuda_oom")
            assert first["fix"]
            for evidence in first["evidence"]:  # an agent opens the file at these numbers
                assert lines[evidence["line"] - 1] in evidence["text"]
            assert analysed["report"] is None  # compact unless asked
            analysis_id = analysed["analysis_id"]
            assert isinstance(analysis_id, int)

            text = structured(
                await client.call_tool("analyze_log", {"text": "ERROR disk full\n", "top": 1})
            )
            assert text["verdict"] == "failure"
            assert len(text["findings"]) == 1

            diffed = structured(
                await client.call_tool(
                    "diff_logs", {"failing": "trainer.log", "passing": "healthy.log"}
                )
            )
            assert diffed["diff"]["new"] > 0
            assert diffed["findings"][0]["category"] == "gpu.cuda_oom"

            found = structured(await client.call_tool("search_history", {"query": "CUDA"}))
            assert analysis_id in [item["analysis_id"] for item in found["result"]]

            stored = structured(
                await client.call_tool(
                    "get_analysis", {"analysis_id": analysis_id, "full_report": True}
                )
            )
            assert stored["findings"] == analysed["findings"]
            assert stored["report"]["schema"] == "bifrost.report/v1"

            detail = structured(
                await client.call_tool("explain_finding", {"analysis_id": analysis_id})
            )
            assert detail["category"] == "gpu.cuda_oom"
            assert detail["template"]
            assert detail["signature"]

            resource = await client.read_resource(f"bifrost://analyses/{analysis_id}")
            (contents,) = resource.contents
            assert isinstance(contents, TextResourceContents)
            assert contents.mime_type == "application/json"
            assert json.loads(contents.text)["findings"][0]["category"] == "gpu.cuda_oom"

    asyncio.run(scenario())


def test_paths_outside_the_roots_and_bad_calls_are_refused_in_a_line(tmp_path: Path) -> None:
    allowed = tmp_path / "logs"
    allowed.mkdir()
    secret = tmp_path / "secret.log"
    secret.write_text("password=hunter2\n", encoding="utf-8")
    (allowed / "link.log").symlink_to(secret)  # inside by name, outside in fact

    async def scenario() -> None:
        async with Client(server(tmp_path, allowed)) as client:
            for path in (str(secret), "../secret.log", "link.log", "/etc/passwd"):
                refused = await client.call_tool("analyze_log", {"path": path})
                assert "outside the folders Bifrost may read" in error_text(refused), path
            missing = await client.call_tool("analyze_log", {"path": "nope.log"})
            assert "no such file" in error_text(missing)
            neither = await client.call_tool("analyze_log", {})
            assert "either `path` or `text`" in error_text(neither)
            unknown = await client.call_tool("get_analysis", {"analysis_id": 999})
            assert "no stored analysis has id 999" in error_text(unknown)
            bad_time = await client.call_tool("search_history", {"since": "yesterday-ish"})
            assert "cannot read the time" in error_text(bad_time)

    asyncio.run(scenario())


def test_the_server_also_speaks_streamable_http(tmp_path: Path) -> None:
    """`bifrost mcp --http`: the same tools for a client that connects over HTTP."""
    allowed = tmp_path / "logs"
    allowed.mkdir()
    shutil.copy(TRAINER, allowed / "trainer.log")
    params = server(tmp_path, allowed)
    port = free_port()
    command = [*params.args, "--http", "--port", str(port)]
    process = subprocess.Popen(
        [params.command, *command], env=params.env, stderr=subprocess.DEVNULL
    )

    async def scenario() -> None:
        assert listening(port, process), "never listened"
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            analysed = await client.call_tool("analyze_log", {"path": "trainer.log"})
            assert structured(analysed)["findings"][0]["category"] == "gpu.cuda_oom"

    try:
        asyncio.run(scenario())
    finally:
        process.terminate()
        process.wait(timeout=30)

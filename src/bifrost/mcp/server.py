"""The MCP server: tools that analyse a log (a file inside the roots, or text), compare a
failing run with a good one, search the history and open a stored analysis or one finding of
it; and each stored Report as a resource (`bifrost://analyses/{id}`).

No LLM is called unless asked (`explain`): the agent calling these tools is one already.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from bifrost import __version__
from bifrost.analysis import Memory, analyze_and_remember
from bifrost.analysis.diff import compare_runs
from bifrost.analysis.history import BadTime, history_filter
from bifrost.analysis.inputs import Source, open_sources
from bifrost.choices import Verdict
from bifrost.config import Settings
from bifrost.errors import BifrostError
from bifrost.mcp.briefs import (
    AnalysisBrief,
    FindingDetail,
    HistoryItem,
    analysis_brief,
    finding_detail,
    history_item,
)
from bifrost.mcp.roots import Roots
from bifrost.report import Report
from bifrost.store import get_analysis as find_analysis
from bifrost.store import open_store, search_analyses

INSTRUCTIONS = """Bifrost finds the few lines that explain why a log failed.
Call analyze_log with a log file's path (inside the allowed folders) or its text: the findings
come ranked, the first being the likeliest cause, each with evidence lines and their numbers.
diff_logs compares a failing run with a passing one. Analyses are stored: search_history finds
earlier ones, get_analysis and explain_finding open one."""

Top = Annotated[int, Field(ge=1, le=50, description="How many findings to return.")]
Full = Annotated[bool, Field(description="Also return the whole Report (large).")]


def build_server(settings: Settings, roots: Roots) -> MCPServer:
    server = MCPServer("bifrost", version=__version__, instructions=INSTRUCTIONS)

    @server.tool()
    async def analyze_log(
        path: Annotated[str | None, Field(description="A log file (plain or .gz).")] = None,
        text: Annotated[str | None, Field(description="The log itself, instead of a path.")] = None,
        top: Top = 5,
        store: Annotated[bool, Field(description="Keep it in the history.")] = True,
        explain: Annotated[bool, Field(description="Ask the configured LLM too.")] = False,
        full_report: Full = False,
    ) -> AnalysisBrief:
        """Find why a log failed: ranked findings with their evidence lines."""
        with _one_line():
            if (path is None) == (text is None):
                raise ToolError("give either `path` or `text`")
            if path is not None:
                sources = open_sources([str(roots.resolve(path))])
            else:
                assert text is not None
                sources = [Source(name="text", path=None, data=text.encode("utf-8"))]
            update: dict[str, object] = {"top": top}
            if not explain:
                update["llm"] = None
            memory = Memory(store=store, use_cache=store)
            outcome = await analyze_and_remember(
                sources, settings.model_copy(update=update), memory
            )
            return analysis_brief(
                outcome.report, outcome.analysis_id, full=full_report, warnings=outcome.problems
            )

    @server.tool()
    async def diff_logs(
        failing: Annotated[str, Field(description="The failing run's log file.")],
        passing: Annotated[str, Field(description="A passing run's log file (the baseline).")],
        top: Top = 5,
        full_report: Full = False,
    ) -> AnalysisBrief:
        """Compare a failing run with a passing one: what is new in the failure comes first."""
        with _one_line():
            failing_path, passing_path = roots.resolve(failing), roots.resolve(passing)
            chosen = settings.model_copy(update={"top": top})
            comparison = await asyncio.to_thread(
                compare_runs, str(passing_path), str(failing_path), chosen
            )
            return analysis_brief(
                comparison.report, None, full=full_report, warnings=comparison.baseline_warnings
            )

    @server.tool()
    async def search_history(
        query: Annotated[str | None, Field(description="Words to find (full text).")] = None,
        service: str | None = None,
        verdict: Verdict | None = None,
        since: Annotated[str | None, Field(description="`30m`, `12h`, `7d`, or a date.")] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> list[HistoryItem]:
        """Earlier analyses, newest first."""
        with _one_line():
            try:
                filters = history_filter(query=query, service=service, verdict=verdict, since=since)
            except BadTime as exc:
                raise ToolError(exc.message) from None
            async with await open_store(settings) as opened:
                found = await search_analyses(opened, filters, limit=limit)
            return [history_item(summary) for summary in found]

    @server.tool()
    async def get_analysis(analysis_id: int, full_report: Full = False) -> AnalysisBrief:
        """A stored analysis: its verdict and findings with their evidence lines."""
        with _one_line():
            return analysis_brief(await _stored(analysis_id), analysis_id, full=full_report)

    @server.tool()
    async def explain_finding(
        analysis_id: int,
        rank: Annotated[int, Field(ge=1, description="The finding's rank, 1 first.")] = 1,
    ) -> FindingDetail:
        """One finding of a stored analysis in full: what it means, the fix, its template and
        the known failure it matched, and what an LLM said of it if one ran."""
        with _one_line():
            report = await _stored(analysis_id)
            if rank > len(report.findings):
                count = len(report.findings)
                raise ToolError(f"analysis {analysis_id} has {count} findings, not {rank}")
            return finding_detail(report, rank)

    @server.resource(
        "bifrost://analyses/{analysis_id}",
        name="analysis",
        description="A stored analysis's Report (bifrost.report/v1), metrics as summaries.",
        mime_type="application/json",
    )
    async def analysis_resource(analysis_id: int) -> str:
        with _one_line():
            return (await _stored(analysis_id)).without_series().to_json()

    async def _stored(analysis_id: int) -> Report:
        async with await open_store(settings) as opened:
            found = await find_analysis(opened, analysis_id)
        if found is None:
            raise ToolError(f"no stored analysis has id {analysis_id}")
        return found.report

    return server


@contextmanager
def _one_line() -> Iterator[None]:
    """Bifrost's own errors reach the agent as their one-line message."""
    try:
        yield
    except BifrostError as exc:
        raise ToolError(exc.message) from None

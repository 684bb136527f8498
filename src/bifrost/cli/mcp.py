"""`bifrost mcp`: Bifrost's tools for coding agents, over the Model Context Protocol (the
`mcp` extra). The SDK and the store load when the server starts."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import run
from bifrost.errors import UsageError


def mcp_command(
    root: Annotated[
        list[str] | None,
        typer.Option(
            "--root",
            metavar="DIR",
            help="A folder the agent may have Bifrost read logs from (repeat; default: the "
            "current folder). Paths outside every root are refused.",
        ),
    ] = None,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="With --http: the address.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", metavar="PORT", min=1, max=65535, help="With --http.")
    ] = 8765,
    verbose: Verbose = False,
) -> None:
    """Serve Bifrost's tools to an AI assistant (MCP, over stdio).

    Tools: analyze_log, diff_logs, search_history, get_analysis, explain_finding; each stored
    Report is the resource bifrost://analyses/ID.
    """

    def action() -> None:
        if importlib.util.find_spec("mcp") is None:
            raise UsageError.said("extra.mcp")
        from bifrost.config import load_settings
        from bifrost.mcp.roots import Roots
        from bifrost.mcp.server import build_server

        server = build_server(load_settings(), Roots.of(root or ["."]))
        if http:
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")

    run(action, verbose=verbose)

"""`bifrost mcp`: Bifrost as tools for coding agents, over the Model Context Protocol.

A front like the CLI and the API: it calls the application layer (`analysis/`) and reads the
store's records, never the engine. Built on the official `mcp` SDK (the `mcp` extra).

- `roots.py`: the folders an agent may have Bifrost read, and nothing outside them.
- `briefs.py`: compact answers (findings with their evidence lines), not whole Reports.
- `server.py`: the tools and resources.
"""

"""The application layer: the use cases every front calls.

The fronts — the CLI (`cli/`), the HTTP API (`api/`), and the web UI, queue workers and MCP
server to come — call only this package, the Report model (`report.py`) and the store's
records; they never import the engine (`engine/`) or the LLM providers (`llm/`) themselves.
A test (`tests/test_layers.py`) holds them to it.

- `run`: analyse inputs (`analyze`), with the cache in front and the history behind
  (`analyze_and_store`, `analyze_and_remember`).
- `inputs`: the inputs a front hands over.
- `explain`: the one path to an LLM provider.
- `diff`: a failing run against a good one.
- `templates`: a log's templates.
- `watch`: a live log, line by line.
- `batch`: many logs at once, and what they have in common.
- `history`: searching, forgetting, feedback and export of stored analyses.
- `keys`: API keys.
- `maintenance`: migrations and cache statistics.
"""

from bifrost.analysis.run import (
    Engine,
    Labels,
    Memory,
    OnText,
    Outcome,
    Progress,
    analyze,
    analyze_and_remember,
    analyze_and_store,
    analyze_sources,
    build_report,
    fails,
    finding_counts,
    in_thread,
    open_cache,
    verdict,
    warm_up,
)
from bifrost.cache import Cache

__all__ = [
    "Cache",
    "Engine",
    "Labels",
    "Memory",
    "OnText",
    "Outcome",
    "Progress",
    "analyze",
    "analyze_and_remember",
    "analyze_and_store",
    "analyze_sources",
    "build_report",
    "fails",
    "finding_counts",
    "in_thread",
    "open_cache",
    "verdict",
    "warm_up",
]

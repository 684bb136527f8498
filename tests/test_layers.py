"""The layers hold: fronts call the application layer, never the engine or the LLM providers;
lower layers never import higher ones; no module imports itself back through others.

The picture (README, Development): fronts (`cli`, `api`, `web`, `worker`) → application
(`analysis`) → `engine`, `llm`, `cache` → `store` → shared models (`report`, `config`, …).
Imports inside functions count: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "bifrost"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The bifrost modules `path` imports, each resolved to the module (not the name in it)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bifrost.store import migrate` imports the module `migrate`; a name that is
            # no module comes from `base` itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            module = target
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != name:
                found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


GRAPH = _graph()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _arrows(source_layers: set[str], target_layers: set[str]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if _layer(module) in source_layers
        for target in targets
        if _layer(target) in target_layers
    )


def test_the_graph_is_read() -> None:
    assert "bifrost.analysis" in GRAPH["bifrost.cli.analyze"]
    assert "bifrost.engine.scan" in GRAPH["bifrost.analysis.run"]
    assert "bifrost.store.migrate" in GRAPH["bifrost.store.database"]  # a lazy import counts
    assert "bifrost.store" not in GRAPH["bifrost.store.database"]


FRONTS = {"cli", "api", "web", "worker", "mcp", "ci"}


def test_fronts_never_import_the_engine_or_the_llm_providers() -> None:
    assert _arrows(FRONTS, {"engine", "llm"}) == []


# What of the store a front may use: the connection it hands to the application layer, the
# records it reads, and the searches. Its writes and the cache go through `analysis`.
STORE_WRITES = frozenset(
    {"save_analysis", "keep_input", "add_feedback", "delete_analysis", "upgrade"}
    | {"create_key", "revoke_key", "touch_key"}
    | {"create_tenant", "set_limits"}
)
WRITE_MODULES: tuple[str, ...] = ("bifrost.cache", "bifrost.store.keys", "bifrost.store.export")
WRITE_MODULES += ("bifrost.store.repository", "bifrost.store.tally", "bifrost.store.jobs")
WRITE_MODULES += ("bifrost.store.tenants",)


def _front_imports() -> list[tuple[str, str, str]]:
    """(front module, module imported from, name) for every `from … import` of a front."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if _layer(module) not in FRONTS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found += [(module, node.module, alias.name) for alias in node.names]
    return found


def test_fronts_reach_the_store_writes_and_the_cache_only_through_the_application() -> None:
    wrong = [
        f"{front} imports {name} from {source}"
        for front, source, name in _front_imports()
        if source.startswith(WRITE_MODULES)
        or (source.startswith("bifrost.store") and name in STORE_WRITES)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("engine", {"analysis", "store", "cache", "llm", *FRONTS}),
        ("store", {"analysis", "cache", "llm", "engine", *FRONTS}),
        ("llm", {"analysis", "store", "cache", *FRONTS}),
        ("cache", {"analysis", *FRONTS}),
        ("brokers", {"analysis", "cache", "llm", "engine", *FRONTS}),
        ("notify", {"analysis", "store", "cache", "engine", *FRONTS}),
        ("tracking", {"analysis", "store", "cache", "llm", "engine", *FRONTS}),
        ("embedding", {"analysis", "store", "cache", "llm", "engine", "render", *FRONTS}),
        ("analysis", FRONTS),
        ("render", {"analysis", "store", "cache", "llm", "engine", *FRONTS}),
    ],
)
def test_no_layer_imports_one_above_it(layer: str, above: set[str]) -> None:
    assert _arrows({layer}, above) == []


def test_there_is_no_import_circle() -> None:
    """Tarjan's strongly connected components: any of more than one module is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []

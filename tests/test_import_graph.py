"""The import graph of the project's packages: no circle, and in the core no import that runs
up a layer. Every import counts, including those inside functions, since a circle hidden in
a function is still a circle."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "tasks", "models", "leaderboard")

# The core's layers, lowest first: a module may import its own layer and those below.
LAYERS = (
    ("benchmark.errors", "benchmark.registry", "benchmark.storage", "benchmark.progress", "benchmark.device"),
    ("benchmark.scoring",),
    ("benchmark.task", "benchmark.family", "benchmark.upstream", "benchmark.record", "benchmark.settings",
     "benchmark.benchmarks"),
    ("benchmark.sources", "benchmark.features"),
    ("benchmark.upstreams", "benchmark.heads"),
    ("benchmark.protocols",),
    ("benchmark.run",),
    ("benchmark.analyses",),
    ("benchmark.cli",),
)


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The project modules `name` imports (a `from pkg import mod` counts as pkg.mod)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a non-module attribute
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


def layer_of(name: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in layer):
            return index
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read_from_the_sources():
    edges = graph()
    assert "benchmark.heads.grid" in edges["benchmark.protocols.probing"]
    assert "benchmark.errors" in edges["benchmark.run.plan"]


def test_cycle_finder_finds_a_hidden_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert cycles(graph()) == []


def test_every_core_module_has_a_layer():
    unplaced = [name for name in graph() if name.startswith("benchmark.") and layer_of(name) is None]
    assert unplaced == []


def test_no_core_import_runs_up_a_layer():
    upward = [f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
              for name, targets in graph().items() if name.startswith("benchmark.")
              for target in targets if layer_of(target) is not None and layer_of(target) > layer_of(name)]
    assert upward == []


def test_the_core_imports_no_other_package():
    """tasks/, models/ and leaderboard/ plug into the core; the core reaches them only by name
    through its registries."""
    outward = [f"{name} imports {target}" for name, targets in graph().items() if name.split(".")[0] == "benchmark"
               for target in targets if target.split(".")[0] != "benchmark"]
    assert outward == []

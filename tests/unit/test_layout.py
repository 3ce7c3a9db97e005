"""The code's layout, read from the source: no import circle, no import that runs
back up the layers (docs/development.md draws them), no module over 600 lines,
and the daemon and the CLI apart (each may use shared/, neither the other)."""
from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("dockerd_py", "docker_cli", "shared")
MAX_LINES = 600

# The daemon's parts, lowest first: a part imports only parts in lower layers.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("shared", "dockerd_py.apitypes", "dockerd_py.errors", "dockerd_py.workers", "dockerd_py.crashpoints",
     "dockerd_py.userns"),
    ("dockerd_py.streams", "dockerd_py.network"),
    ("dockerd_py.storage",),
    ("dockerd_py.runtime", "dockerd_py.distribution", "dockerd_py.builder",
     "dockerd_py.volumes"),
    ("dockerd_py.logdrivers", "dockerd_py.config"),
    ("dockerd_py.daemon",),
    ("dockerd_py.server",),
    ("dockerd_py.main",),
    ("dockerd_py.__main__",),
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    bench = REPO / "bench"
    for path in sorted(bench.glob("*.py")):  # scripts: they import each other by bare name
        found[f"bench.{path.stem}"] = path
    return found


MODULES = _modules()


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if module.startswith("bench.") and node.level == 0 and f"bench.{node.module}" in MODULES:
        return [f"bench.{node.module}"]
    if node.level:
        base = module.split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base) + (f".{node.module}" if node.module else "")
    else:
        target = node.module or ""
    return [f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target
            for alias in node.names]


@functools.cache
def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(module, path, node):
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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
                found.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return found


def _part(module: str) -> str:
    for layer in LAYERS:
        for part in layer:
            if module == part or module.startswith(part + "."):
                return part
    return module


def _rank(module: str) -> int | None:
    part = _part(module)
    return next((i for i, layer in enumerate(LAYERS) if part in layer), None)


def test_no_import_circle() -> None:
    assert _cycles(_graph()) == []


def test_every_daemon_part_has_a_layer() -> None:
    parts = {_part(m) for m in MODULES if m.startswith("dockerd_py.")}
    assert {p for p in parts if _rank(p) is None} == set()


def test_no_import_runs_back_up_the_layers() -> None:
    upward = sorted(f"{a} -> {b}" for a, targets in _graph().items() for b in targets
                    if _part(a) != _part(b) and (ra := _rank(a)) is not None
                    and (rb := _rank(b)) is not None and rb >= ra)
    assert upward == []


@pytest.mark.parametrize("side, other", [("dockerd_py", "docker_cli"), ("docker_cli", "dockerd_py"),
                                         ("shared", "dockerd_py"), ("shared", "docker_cli")])
def test_the_daemon_and_the_cli_stand_apart(side: str, other: str) -> None:
    crossing = sorted(f"{a} -> {b}" for a, targets in _graph().items() if a.startswith(side + ".")
                      or a == side for b in targets if b == other or b.startswith(other + "."))
    assert crossing == []


def test_no_module_over_600_lines() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_graph_sees_imports() -> None:
    """The reader finds what it must: relative, absolute and bench's bare imports."""
    edges = _graph()
    assert "dockerd_py.errors" in edges["dockerd_py.daemon.store"]
    assert "dockerd_py.daemon.schema" in edges["dockerd_py.daemon.store"]
    assert "shared.api" in edges["dockerd_py.main"]
    assert "bench.harness" in edges["bench.bench"]

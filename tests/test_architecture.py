"""The shape of the code: no import loops among hftui's modules, and no module too big to read.

The import graph is built from the source, so an import placed inside a function counts as
much as one at the top: a loop hidden that way is still a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

# Import name -> folder (the setuptools package-dir of pyproject.toml).
PACKAGES = {"hftui.core": REPO / "core", "hftui.tui": REPO / "tui", "hftui": REPO / "hftui"}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    """Every module of the project by import name (the metric scripts shipped as data excluded)."""
    found = {}
    for prefix, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            if not (path.parent / "__init__.py").exists():
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([prefix, *parts])] = path
    return found


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    out = set()

    def known(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from pkg import mod` imports the submodule; `from mod import name` the module.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
        else:
            continue
        out |= {t for t in (known(x) for x in targets if x.startswith("hftui")) if t and t != name}
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                loops.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def test_the_graph_sees_imports_inside_functions(tmp_path):
    """The loop finder itself: a loop made only of imports inside functions is found."""
    graph = {"hftui.core.a": {"hftui.core.b"}, "hftui.core.b": {"hftui.core.a"}, "hftui.core.c": {"hftui.core.a"}}
    assert import_loops(graph) == [["hftui.core.a", "hftui.core.b"]]
    source = "def f():\n    from hftui.core import b\n"
    path = tmp_path / "a.py"
    path.write_text(source)
    assert _imported("hftui.core.a", path, {"hftui.core.a": path, "hftui.core.b": path}) == {"hftui.core.b"}


def test_no_import_loops():
    graph = import_graph()
    assert "hftui.core.checks" in graph and "hftui.tui.app" in graph
    loops = import_loops(graph)
    described = ["; ".join(f"{m} -> {sorted(graph[m] & set(loop))}" for m in loop) for loop in loops]
    assert not loops, "import loops:\n" + "\n".join(described)


@pytest.mark.parametrize("folder", ["core", "tui"])
def test_no_module_over_the_limit(folder):
    over = {
        str(path.relative_to(REPO)): n
        for path in sorted((REPO / folder).rglob("*.py"))
        if (path.parent / "__init__.py").exists() and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not over, f"modules over {MAX_LINES} lines (split them by job): {over}"

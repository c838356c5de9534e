"""No import cycles anywhere in the project, counting imports hidden inside functions.

The rubric scores a log and the drill engine passes it in; the engine reads round faults
from ``sandbox.exam.faults`` without importing the exam service, which uses the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ("sandbox.drill", "sandbox.exam", "sandbox.scoring", "sandbox.dialogue", "sandbox.bank", "sandbox.users",
          "knowledge_base", "workorders")


def _modules() -> dict[str, Path]:
    out = {}
    for top in ("sandbox", "knowledge_base", "workorders"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # every import, nested too
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            for target in targets:
                resolved = resolve(target)
                if resolved and resolved != name:
                    graph[name].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_domain_packages_have_no_import_cycle():
    graph = _graph(_modules())
    domain = {m: {t for t in targets if t.startswith(DOMAIN)} for m, targets in graph.items() if m.startswith(DOMAIN)}
    assert _cycles(domain) == []


def test_the_whole_project_has_no_import_cycle():
    """The app, the web layer and the commands too: the entry point (``sandbox.__main__``) builds
    the app, the app registers the commands, and tools that need a throwaway app take the
    factory as an argument instead of importing it."""
    assert _cycles(_graph(_modules())) == []


def test_the_cycle_finder_finds_a_hidden_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]

"""No import cycle between app/'s packages.

A package imports another when any of its modules imports from it, at the top or inside a
function. Packages that import each other, directly or around a loop, cannot be read, tested or
changed one at a time. Where a lower package's edge needs a higher package's function, it is
handed over (a parameter, or app.state from create_app) instead of imported.
"""

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# Packages still caught in a cycle: none left, and none may join.
STILL_IN_A_CYCLE: set[str] = set()


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "app" and (APP / parts[1]).is_dir() else None


def imports() -> dict[str, dict[str, list[str]]]:
    """package → the packages it imports → where (file:line)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(APP.rglob("*.py")):
        mine = package_of(".".join(path.relative_to(APP.parent).with_suffix("").parts))
        if mine is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for other in {package_of(m) for m in modules} - {None, mine}:
                found[mine][other].append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    return found


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[set[str]]:
    """The groups of packages that reach each other (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, {}):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in list(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycle_between_packages():
    graph = imports()
    caught = set().union(*cycles(graph))
    where = "\n".join(f"  {a} -> {b}: {', '.join(graph[a][b][:3])}"
                      for a in sorted(caught) for b in sorted(graph[a]) if b in caught)
    assert caught == STILL_IN_A_CYCLE, (
        f"{sorted(caught)} import each other, directly or around a loop; the imports between "
        f"them:\n{where}\nMake the dependency point one way: move the function to the package "
        "that owns its data, hand the lower package a callable, or move a shared constant down.")


def test_the_cycle_finder_finds_a_loop():
    graph = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}
    assert cycles(graph) == [{"a", "b", "c"}]

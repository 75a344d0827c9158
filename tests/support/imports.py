"""Reads connector/'s import graph with ast (nothing is imported) and checks it against the layers.

Imports under `if TYPE_CHECKING:` are left out: they are annotations for the type checker, never run,
and so can neither run uphill nor close a cycle at run time.
"""
from __future__ import annotations

import ast
from pathlib import Path

# Lower may be imported by higher; packages of one rank may not import each other.
LAYERS: dict[str, int] = {
    "core": 0,        # config, runtime, clock, errors, tokens, signing, backoff
    "flows": 1,       # the pure engine
    "store": 2,       # models, sessions, migrations, the timeline and the CRM outbox rows
    "notify": 3,      # e-mail
    "crm": 3,         # vendor adapters
    "analytics": 4,   # read-only measures
    "pursuit": 5,     # use cases, downhill: pursuit < routing < capture < sync
    "routing": 6,
    "capture": 7,
    "sync": 8,
    "jobs": 9,        # on top: wiring, queues, tasks, tick
    "web": 10,
    "demo": 11,
    "commands": 12,
    "cli": 13,
    "__main__": 14,
}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(root: Path, module: str, name: str | None) -> str:
    """The module an import statement loads: a submodule when `name` is one, else `module` itself."""
    if name:
        candidate = root.parent.joinpath(*module.split("."), name)
        if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
            return f"{module}.{name}"
    return module


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module):
    """(node, at module level?) for every import that runs, skipping TYPE_CHECKING blocks."""
    def walk(node: ast.AST, top: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    yield from walk_one(orelse, top)
                continue
            yield from walk_one(child, top)

    def walk_one(node: ast.AST, top: bool):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, top
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from walk(node, inner)

    yield from walk(tree, True)


def _targets(root: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == root.name]
    if node.level or not node.module or node.module.split(".")[0] != root.name:
        return []
    return [_resolve(root, node.module, a.name) for a in node.names]


def import_graph(root: Path) -> dict[str, set[str]]:
    """Every module of the package at `root` and the project modules it imports at run time."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[_module_name(root, path)] = {t for node, _ in _imports(tree) for t in _targets(root, node)}
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def back_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a package into one that is not below it, one line each."""
    found = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = _package(source), _package(target)
            if a == b or b == target.split(".")[0]:
                continue
            if a not in LAYERS or b not in LAYERS:
                found.append(f"{source} -> {target} ({a if a not in LAYERS else b} has no layer)")
            elif LAYERS[b] >= LAYERS[a]:
                found.append(f"{source} -> {target} ({a} may not import {b})")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round about (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def unexplained_local_imports(root: Path) -> list[str]:
    """Imports of project modules inside functions whose line carries no comment saying why."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for node, top in _imports(ast.parse(text)):
            if not top and _targets(root, node) and "#" not in lines[node.lineno - 1]:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found

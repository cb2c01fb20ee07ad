"""drtui's import graph, read statically: no cycle between modules and none between packages.

Every import counts, at any level (inside functions too: a lazy import is still a dependency and
a lazy cycle is still a cycle, only hidden until some code path runs it). The graph is built with
ast over drtui/**/*.py, relative imports resolved, so the test needs no import of drtui itself.
A package is drtui.<subpackage>; a top-level module (drtui.cli, drtui.app) is its own package.
Imports of drtui itself (drtui/__init__.py: the version) are left out of the package graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "drtui"

# Package-level edges allowed to close a cycle, each a deliberate and harmless deferral.
# Keep this list as short as possible; every entry says why.
ALLOWED_PACKAGE_EDGES: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_files() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(base: str, level: int, current: str, is_package: bool) -> str:
    """The absolute module a `from ...base import x` in `current` refers to."""
    if level == 0:
        return base
    package = current.split(".") if is_package else current.split(".")[:-1]
    anchor = package[: len(package) - (level - 1)]
    return ".".join(anchor + ([base] if base else []))


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        # the longest drtui module the dotted name starts with
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "drtui":
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, name, is_package)
            if base.split(".")[0] != "drtui":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                add(candidate if candidate in modules else base)
    return found


def module_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {name: imports_of(name, path, names) for name, path in files.items()}


def package_of(module: str) -> str:
    """drtui.<subpackage>; a `python -m` entry point (drtui.tune.__main__) is a node of its own:
    nothing imports it, so it sits above every package and cannot close a cycle."""
    if module.endswith(".__main__"):
        return module
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """package -> imported package -> the module edges behind that package edge."""
    packages: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for source, targets in graph.items():
        src = package_of(source)
        packages.setdefault(src, {})
        for target in targets:
            dst = package_of(target)
            if dst != src and src != "drtui" and dst != "drtui":
                packages[src].setdefault(dst, []).append((source, target))
    return packages


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; only components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle through the component's first node (shortest, by breadth-first search)."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]  # no self-edges in the graph
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component


def describe(graph: dict[str, set[str]], components: list[list[str]]) -> str:
    return "\n".join(" -> ".join(a_cycle(graph, c)) for c in components)


def test_the_graph_sees_lazy_imports():
    graph = module_graph()
    assert len(graph) > 100
    assert "drtui.session.model" in graph["drtui.session.validate"]  # at the top
    assert "drtui.app" in graph["drtui.cli"]  # inside cmd_studio's function body


def test_the_reader_resolves_relative_and_from_imports(tmp_path):
    (tmp_path / "drtui" / "pkg").mkdir(parents=True)
    source = tmp_path / "drtui" / "pkg" / "mod.py"
    source.write_text("from . import sibling\nfrom ..other import thing\n"
                      "def f():\n    import drtui.pkg.lazy\n", encoding="utf-8")
    modules = {"drtui", "drtui.pkg", "drtui.pkg.mod", "drtui.pkg.sibling", "drtui.pkg.lazy",
               "drtui.other"}
    assert imports_of("drtui.pkg.mod", source, modules) == {
        "drtui.pkg.sibling", "drtui.other", "drtui.pkg.lazy"}


def test_resolve_relative_imports():
    assert _resolve("model", 1, "drtui.session.validate", False) == "drtui.session.model"
    assert _resolve("", 1, "drtui.session", True) == "drtui.session"
    assert _resolve("problem", 2, "drtui.session.validate", False) == "drtui.problem"


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    components = strongly_connected(graph)
    assert components == [["a", "b", "c"]]
    assert describe(graph, components) == "a -> b -> c -> a"


def test_no_module_import_cycle():
    graph = module_graph()
    components = strongly_connected(graph)
    assert not components, "module import cycles:\n" + describe(graph, components)


def test_no_package_import_cycle():
    packages = package_graph(module_graph())
    graph = {
        src: {dst for dst in targets if (src, dst) not in ALLOWED_PACKAGE_EDGES}
        for src, targets in packages.items()
    }
    components = strongly_connected(graph)
    lines = []
    for component in components:
        cycle = a_cycle(graph, component)
        lines.append(" -> ".join(cycle))
        for src, dst in zip(cycle, cycle[1:]):
            for a, b in sorted(packages[src][dst])[:4]:
                lines.append(f"    {src} -> {dst}: {a} imports {b}")
    assert not components, "package import cycles:\n" + "\n".join(lines)


def test_allowed_edges_are_still_needed():
    packages = package_graph(module_graph())
    stale = [edge for edge in ALLOWED_PACKAGE_EDGES if edge[1] not in packages.get(edge[0], {})]
    assert not stale, f"allowed package edges no longer imported (remove them): {stale}"

"""No import circles in ``engine/`` and ``webapp/``, read statically from the source (every
``import`` and ``from … import`` of every module, function-local ones included, so a circle
hidden in a function body counts); the engine imports no tooling; no web module takes a
helper from the package root.

An import is an edge to the module it names: ``from . import formrender`` to ``webapp.formrender``,
``from . import get_db`` to the package ``webapp`` itself. The parent packages Python loads on
the way are not edges (every submodule would otherwise form a circle with an ``__init__`` that
imports it), nor are imports under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "webapp")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(packages=PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:  # alembic loads these by path
                continue
            found[_module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: set[str]) -> dict[str, set[str]]:
    """The modules of ``known`` that module ``name`` imports, each with the names it takes."""
    is_package = path.name == "__init__.py"
    out: dict[str, set[str]] = {}
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in known:  # `import engine.stats.queries as q`
                    target = target.rpartition(".")[0]
                if target:
                    out.setdefault(target, set())
            continue
        if node.level:
            package = name if is_package else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        for alias in node.names:
            if f"{base}.{alias.name}" in known:  # a submodule: `from . import formrender`
                out.setdefault(f"{base}.{alias.name}", set())
            elif base in known:  # a name defined in the module (or package) itself
                out.setdefault(base, set()).add(alias.name)
    return out


def import_graph(packages=PACKAGES) -> dict[str, dict[str, set[str]]]:
    modules = _modules(packages)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def circles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components with a circle (Tarjan), each as one circle through all
    of its modules' edges, sorted: ``[a, b, c, a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, {}):
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_a_circle(graph, component) for component in components]


def _a_circle(graph, component: set[str]) -> list[str]:
    """One circle inside ``component``, starting at its first module: a shortest way back."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    return paths[v] + [start]
                if w in component and w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def _component_of(circle: list[str], graph) -> frozenset[str]:
    """All modules that lie on some circle with the circle's first module."""
    start = circle[0]

    def reach(src: str, reverse: bool) -> set[str]:
        seen, todo = {src}, [src]
        while todo:
            v = todo.pop()
            nexts = [u for u in graph if v in graph[u]] if reverse else list(graph[v])
            for w in nexts:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    return frozenset(reach(start, False) & reach(start, True))


def test_engine_and_webapp_have_no_import_circles():
    graph = import_graph()
    found = {_component_of(circle, graph): circle for circle in circles(graph)}
    new = [
        " → ".join(circle) + f"   (modules in the circle: {', '.join(sorted(component))})"
        for component, circle in found.items()
    ]
    assert not new, "import circles:\n" + "\n".join(new)


def test_the_engine_imports_neither_the_web_app_nor_the_tooling():
    graph = import_graph(("engine", "webapp", "tooling"))
    wrong = sorted(
        f"{m} imports {target}"
        for m, targets in graph.items()
        if m.split(".")[0] == "engine"
        for target in targets
        if target.split(".")[0] in ("webapp", "tooling")
    )
    assert not wrong, wrong


def test_no_web_module_takes_helpers_from_the_package_root():
    """Request helpers come from webapp/context.py; the root only composes the app. The one name
    taken from it is ``create_app``, by the command that serves the app."""
    graph = import_graph(("webapp",))
    wrong = sorted(
        f"{m} imports {', '.join(sorted(names))} from webapp"
        for m, targets in graph.items()
        for target, names in targets.items()
        if target == "webapp" and names - {"create_app"}
    )
    assert not wrong, wrong


def test_the_walk_sees_function_local_and_relative_imports(tmp_path):
    """The reader itself: a circle closed by a function-local relative import is found."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import a\n", encoding="utf-8")
    (pkg / "a.py").write_text("from .b import thing\n", encoding="utf-8")
    (pkg / "b.py").write_text(
        "def thing():\n    from . import a\n    from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.c import x\n",
        encoding="utf-8",
    )
    (pkg / "c.py").write_text("import pkg.b\n", encoding="utf-8")
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c"}
    graph = {
        name: imports_of(name, pkg / (f"{name.rpartition('.')[2]}.py" if "." in name else "__init__.py"), known)
        for name in known
    }
    assert graph["pkg.b"] == {"pkg.a": set()}  # the function-local import counts, TYPE_CHECKING does not
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]

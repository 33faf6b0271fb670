"""The seams a maintainer relies on (issue 17), checked on the source so a change that
crosses one fails here, naming the file and line:

- no module reaches into another project module's private names (``other._helper`` or
  ``from .other import _helper``): what is shared is public and named so;
- nothing outside engine/step.py and engine/runtime.py writes a workflow's state: every
  change to a case goes through the public step (``Engine.step`` / ``Step.save``);
- no module grows past ~400 lines (Alembic migrations aside).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "webapp", "tooling")
MAX_LINES = 420


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: Path, tree: ast.AST) -> dict[str, str]:
    """Local name -> project module, for names bound to a project module by an import."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    found[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                found[alias.asname or alias.name] = f"{module}.{alias.name}"
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_reaches_into_another_modules_private_names():
    reaches = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = _project_imports(path, tree)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
                reaches += [f"{where}:{node.lineno} imports {a.name}" for a in node.names if _is_private(a.name)]
            elif (
                isinstance(node, ast.Attribute)
                and _is_private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):  # a project module (or a name imported from one)
                reaches.append(f"{where}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not reaches, "private names used across modules:\n" + "\n".join(reaches)


def test_only_the_step_writes_a_workflows_state():
    writers = []
    for path in _modules():
        if path.relative_to(ROOT).as_posix() in ("engine/step.py", "engine/runtime.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in ("state", "serializer_version")
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "instance"
                ):
                    writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not writers, "a workflow's state written outside the step:\n" + "\n".join(writers)


def test_no_module_is_longer_than_a_maintainer_reads_at_once():
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, f"modules over {MAX_LINES} lines (split them by concern):\n" + "\n".join(long)

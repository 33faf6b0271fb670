"""The names a process expression or script reads and binds (engine/dataflow.py's deploy check).

``read_names``: the variables an expression needs from the task data — not bound in it (a
comprehension variable, a lambda argument), not guarded by it (``'x' in vars()``, ``….get('x')``),
not a Python builtin or a sandbox helper (``add_workdays`` …). ``assigned_names``: every name a
script binds, anywhere in it (conservative).
"""

from __future__ import annotations

import ast
import builtins
import datetime as _dt

from .sandbox.policy import BASE_HELPERS, DATA_VIEWS, SAFE_BUILTINS
from .workdays import WorkCalendar
from .workdays import helpers as workday_helpers

KNOWN_NAMES = frozenset(
    set(dir(builtins))
    | set(SAFE_BUILTINS)
    | set(BASE_HELPERS)
    | set(DATA_VIEWS)
    | {"dir"}
    | set(workday_helpers(WorkCalendar(), lambda: _dt.datetime.now(_dt.UTC)))
)


def _parse(source: str, mode: str) -> ast.AST | None:
    try:
        return ast.parse(source.strip(), mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the compile check (checks.py) reports it


def _bound(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):  # noqa: SIM114 (types)
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _guarded(tree: ast.AST) -> set[str]:
    """Names the expression tests before it reads them: ``'x' in vars()`` (any ``'x' in …`` /
    ``not in``) and ``….get('x')``. A name that is merely also a string elsewhere — a summary's
    key, ``{'approved': approved}`` — is not guarded."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            operands = [node.left, *node.comparators]
            names.update(o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def read_names(source: str) -> list[str]:
    """The variables an expression needs from the data, in order: not bound in it, not guarded
    by it (``'x' in vars()``, ``….get('x')``), not a builtin or helper."""
    tree = _parse(source, "eval")
    if tree is None:
        return []
    skip = _bound(tree) | _guarded(tree) | KNOWN_NAMES
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in skip:
            found.setdefault(node.id, None)
    return list(found)


def assigned_names(script: str) -> set[str]:
    """Every name a script binds (anywhere: conservative)."""
    tree = _parse(script, "exec")
    return _bound(tree) if tree is not None else set()

"""Static rules on the source of process code (documented in docs/CONVENTIONS.md, "Sandbox").

``bounded_calls``: an expression is *provably bounded* when its syntax tree has no loop,
comprehension, lambda, assignment expression or star-unpacking; every call is of an
allow-listed cheap builtin, helper or method; no allow-listed function is passed as a value
(except a type as the second argument of ``isinstance``, and ``date``/``datetime``/``timedelta``/
``Decimal`` before an allow-listed method: ``date.fromisoformat(s)``); and it has at most ``MAX_NODES``
nodes and ``MAX_LENGTH`` characters. Its cost is then linear in its size and in the size of
the data it reads (the checked operators in policy.py stop one step from making a huge value),
so it runs in the calling process without a time limit. Everything else runs in a script
process that is killed at the limit (engine/sandbox/pool.py).

``catch_alls``: handlers a deploy refuses because they would swallow any error (bare
``except:``, ``except Exception``/``except BaseException``, alone or in a tuple, and ``break``,
``continue`` or ``return`` in a ``finally`` block, which discard the exception in flight).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache

MAX_NODES = 300
MAX_LENGTH = 4000

# the workday helpers (engine/workdays.py bounds their arguments)
HELPER_CALLS = frozenset({"add_workdays", "workday_before", "workdays_between", "is_workday", "now", "today"})
CHEAP_CALLS = (
    frozenset(
        {
            "len",
            "str",
            "int",
            "float",
            "bool",
            "abs",
            "min",
            "max",
            "round",
            "sum",
            "sorted",
            "any",
            "all",
            "isinstance",
            "list",
            "tuple",
            "dict",
            "set",
            "frozenset",
            "range",
            "enumerate",
            "zip",
            "reversed",
            "repr",
            "chr",
            "ord",
            "divmod",
            "pow",
            "vars",
            "globals",
            "locals",
            "date",
            "datetime",
            "timedelta",
            "Decimal",
            "floor",
            "ceil",
        }
    )
    | HELPER_CALLS
)
CLASS_NAMES = frozenset({"date", "datetime", "timedelta", "Decimal"})  # `date.fromisoformat(…)` (not `str.replace`:
# an unbound method skips the size checks the sandbox puts on bound ones)
TYPE_NAMES = frozenset(
    {
        "int",
        "float",
        "str",
        "bool",
        "list",
        "dict",
        "tuple",
        "set",
        "frozenset",
        "date",
        "datetime",
        "timedelta",
        "Decimal",
    }
)
CHEAP_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "copy",
        "count",
        "index",
        "find",
        "rfind",
        "strip",
        "lstrip",
        "rstrip",
        "lower",
        "upper",
        "title",
        "startswith",
        "endswith",
        "split",
        "replace",
        "join",
        "isdigit",
        "isoformat",
        "fromisoformat",
        "date",
        "time",
        "weekday",
        "isoweekday",
        "total_seconds",
        "strftime",
    }
)
_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Compare,
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Call,
    ast.keyword,
    ast.expr_context,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)


class _NotBounded(Exception):
    pass


def _check_call(node: ast.Call, calls: set[str], callees: set[int]) -> None:
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise _NotBounded
    func = node.func
    if isinstance(func, ast.Name) and func.id in CHEAP_CALLS:
        if func.id == "sum" and (len(node.args) != 1 or node.keywords):  # sum(lists, []) is quadratic
            raise _NotBounded
        calls.add(func.id)
        callees.add(id(func))
        if func.id == "isinstance" and len(node.args) == 2:
            types = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for t in types:
                if isinstance(t, ast.Name) and t.id in TYPE_NAMES:
                    calls.add(t.id)
                    callees.add(id(t))
    elif isinstance(func, ast.Attribute) and func.attr in CHEAP_METHODS:
        if isinstance(func.value, ast.Name) and func.value.id in CLASS_NAMES:
            calls.add(func.value.id)
            callees.add(id(func.value))
    else:
        raise _NotBounded


@lru_cache(maxsize=4096)
def bounded_calls(expression: str) -> frozenset[str] | None:
    """The allow-listed names a provably bounded expression calls (the caller checks that the
    task's data does not shadow them), or None when the expression must run in a script process."""
    if len(expression) > MAX_LENGTH:
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval")
        nodes = list(ast.walk(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(nodes) > MAX_NODES:
        return None
    calls: set[str] = set()
    callees: set[int] = set()
    try:
        for node in nodes:
            if not isinstance(node, _NODES):
                raise _NotBounded
            if isinstance(node, ast.Dict) and any(k is None for k in node.keys):
                raise _NotBounded
            if isinstance(node, ast.Call):
                _check_call(node, calls, callees)
        for node in nodes:  # a cheap function passed as a value (`sorted(x, key=int)`) is not cheap
            if isinstance(node, ast.Name) and node.id in CHEAP_CALLS and id(node) not in callees:
                raise _NotBounded
    except _NotBounded:
        return None
    return frozenset(calls)


# -- handlers that swallow everything ---------------------------------------------------------
_CATCH_ALL_NAMES = frozenset({"Exception", "BaseException"})


def _handler_problem(handler: ast.ExceptHandler) -> str | None:
    if handler.type is None:
        return "a bare 'except:' catches everything"
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for name in names:
        if isinstance(name, ast.Name) and name.id in _CATCH_ALL_NAMES:
            return f"'except {name.id}' catches everything"
    return None


def _escapes_in_finally(statements: list[ast.stmt], in_loop: bool = False) -> ast.stmt | None:
    """A break/continue (not of a loop inside the finally) or return that ends the finally block."""
    for statement in statements:
        for node in _walk_statement(statement, in_loop):
            return node
    return None


def _walk_statement(node: ast.AST, in_loop: bool) -> Iterator[ast.stmt]:
    if isinstance(node, ast.Return) or isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
        yield node
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return
    for field, value in ast.iter_fields(node):
        loop_body = isinstance(node, (ast.For, ast.While, ast.AsyncFor)) and field in ("body", "orelse")
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from _walk_statement(child, in_loop or loop_body and field == "body")


def catch_alls(script: str) -> list[tuple[int, str]]:
    """(line in the script, message) for every handler that would swallow any error."""
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the compile reports it
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            problem = _handler_problem(node)
            if problem:
                found.append((node.lineno, f"{problem}; name the errors you expect (e.g. 'except KeyError:')"))
        if isinstance(node, (ast.Try, ast.TryStar)) and node.finalbody:
            escape = _escapes_in_finally(node.finalbody)
            if escape is not None:
                word = type(escape).__name__.lower()
                found.append((escape.lineno, f"'{word}' in a 'finally' block discards any error"))
    return sorted(set(found))

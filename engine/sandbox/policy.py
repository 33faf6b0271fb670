"""What sandboxed code may do: the RestrictedPython compile policy, the allow-listed builtins
and helpers, and the size checks that run *before* an operation that could make a huge object.

Used in the web/worker process for bounded expressions (engine/sandbox/bounded.py) and in the
script processes (engine/sandbox/child.py) for everything else; imports no SpiffWorkflow so a
script process starts quickly.
"""

from __future__ import annotations

import ast
import datetime as _dt
import decimal
import math
import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import CodeType
from typing import Any, SupportsIndex

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.compile import CompileResult
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer

DEFAULT_TIME_LIMIT = 2.0  # seconds for one expression or script (ZHITONGCHE_SCRIPT_TIME_LIMIT)
# how much a script process may grow while a script runs (its RLIMIT_AS above its size at start)
MEMORY_LIMIT = int(os.environ.get("ZHITONGCHE_SCRIPT_MEMORY_MB", "256")) * 1024 * 1024


class SandboxError(Exception):
    """An expression or script was refused or stopped by the sandbox."""

    script_line: int  # set by check_script: the line of the script the deploy report points at


class SandboxTimeout(SandboxError):
    """The script ran past its time limit and its process was killed."""


class SandboxMemoryLimit(SandboxError):
    """The script's process ran out of the memory it is allowed."""


# -- size limits -----------------------------------------------------------------------------
# One C call can allocate gigabytes (`'a' * 10**10`, `[0] * 10**10`, `10**10**10`) or convert
# for minutes (`int(Decimal('1e2000000'))`). The operators and functions that do so in one step
# are checked *before* they run: the policy below turns `*`, `**`, `<<`, `+`, `%`, f-string
# format specs and calls of int/round/floor/ceil into calls of the helpers here.
MAX_SIZE = 1_000_000  # items, characters or bytes of one sequence made in one step
MAX_WEIGHT = 10 * MAX_SIZE  # items + characters of a value counted through its nested containers
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_DECIMAL_DIGITS = 4300  # a Decimal converted to int (Python's own limit for int <-> str)
_MAX_POW = 10_000
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_CONTAINERS = (list, tuple, set, frozenset)


def _too_big(what: str) -> SandboxError:
    return SandboxError(f"{what} would be too large (the sandbox allows {MAX_SIZE:,} items or characters)")


def weight(value: Any, budget: int = MAX_WEIGHT) -> int:
    """Items plus characters (plus 64-bit words of big ints) of ``value`` counted through nested
    containers, as often as they are referred to (what printing, summing or storing it costs);
    stops counting past ``budget``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, _CONTAINERS):
            total += len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, int) and item.bit_length() > 64:
            total += item.bit_length() // 64  # `sum([10**30000] * 10**6)` is slow too
    return total


def check_weight(value: Any, what: str = "the value") -> None:
    if isinstance(value, (*_CONTAINERS, dict)) and weight(value) > MAX_WEIGHT:
        raise SandboxError(f"{what} is too large (the sandbox allows {MAX_WEIGHT:,} items and characters)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool is an int too


def _checked_mul(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise SandboxError("integer result too large")
    elif isinstance(a, _SEQUENCES) and _is_int(b) or isinstance(b, _SEQUENCES) and _is_int(a):
        seq, times = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        if times > 0 and len(seq) * times > MAX_SIZE:
            raise _too_big("the repeated sequence")
        if times > 0 and isinstance(seq, (list, tuple)) and weight(seq, MAX_WEIGHT // times + 1) * times > MAX_WEIGHT:
            raise _too_big("the repeated sequence (counting what it contains)")
    return a * b


def _checked_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_SIZE:
        raise _too_big("the joined sequence")
    return a + b


def _safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if _is_int(exp) and abs(exp) > _MAX_POW:
        raise SandboxError("exponent too large")
    if mod is None and _is_int(base) and _is_int(exp) and exp > 0 and base.bit_length() * exp > MAX_INT_BITS:
        raise SandboxError("integer result too large")
    return pow(base, exp, mod) if mod is not None else pow(base, exp)


def _checked_lshift(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise SandboxError("integer result too large")
    return a << b


def _check_decimal(value: Any) -> None:
    if isinstance(value, decimal.Decimal) and value.is_finite() and abs(value.adjusted()) > MAX_DECIMAL_DIGITS:
        raise SandboxError(f"a Decimal with more than {MAX_DECIMAL_DIGITS} digits cannot be used here")


def _checked_number(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """int(), round(), floor(), ceil(): a Decimal such as 1e2000000 would take minutes in C, and
    so would ``round(5, -10**9)`` (it computes 10**(10**9))."""
    for value in (*args, *kwargs.values()):
        _check_decimal(value)
    digits: Any = args[1] if len(args) > 1 else kwargs.get("ndigits")
    if function is round and _is_int(digits) and abs(digits) > MAX_DECIMAL_DIGITS:
        raise SandboxError(f"round() to more than {MAX_DECIMAL_DIGITS} digits")
    return function(*args, **kwargs)


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _check_widths(numbers: list[str], what: str) -> None:
    if "*" in numbers:
        raise SandboxError(f"'*' widths are not allowed in {what}")
    if any(len(n) > 7 or int(n) > MAX_SIZE for n in numbers if n):
        raise _too_big(f"a field width in {what}")


def _checked_mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        text = a if isinstance(a, str) else a.decode("latin-1")
        _check_widths([n for m in _PRINTF_SPEC.finditer(text) for n in m.groups()], "%-formatting")
        for value in b if isinstance(b, tuple) else b.values() if isinstance(b, dict) else (b,):
            _check_decimal(value)  # '%d' converts a Decimal to int
    return a % b


_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("r"): repr, ord("s"): str, ord("a"): ascii}


def _checked_format(value: Any, spec: Any, conversion: int = -1) -> str:
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    _check_widths(_DIGITS.findall(str(spec)), "a format spec")
    if spec:
        _check_decimal(value)  # f'{Decimal("1e999999999"):f}' writes every digit
    return format(value, spec)


_BINOPS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}
NUMBER_CONVERSIONS = frozenset({"int", "round", "floor", "ceil"})


class BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus operators that can build huge objects in one step
    (``*``, ``**``, ``<<``, ``+``, ``%``, f-string format specs) and the number conversions
    that can run for minutes on a huge Decimal call the checked helpers."""

    def _call(self, helper: str, args: list, node: ast.AST, keywords: list | None = None) -> ast.Call:
        func = ast.copy_location(ast.Name(id=helper, ctx=ast.Load()), node)
        return ast.copy_location(ast.Call(func=func, args=args, keywords=keywords or []), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = _BINOPS.get(type(node.op))
        return node if helper is None else self._call(helper, [node.left, node.right], node)

    def visit_Call(self, node: ast.Call) -> ast.AST | Iterable[ast.AST] | None:
        visited = super().visit_Call(node)
        if (
            isinstance(visited, ast.Call)
            and isinstance(visited.func, ast.Name)
            and visited.func.id in NUMBER_CONVERSIONS
        ):
            return self._call("_number_", [visited.func, *visited.args], visited, visited.keywords)
        return visited

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        if node.format_spec is not None:
            conversion = ast.copy_location(ast.Constant(node.conversion), node)
            node.value = self._call("_format_", [node.value, node.format_spec, conversion], node)
            node.format_spec, node.conversion = None, -1
        return node


def _check_method(obj: Any, name: str, method: Callable) -> Callable:
    """Methods of str/bytes/list whose result size an argument chooses, checked first."""

    def padded(width: Any, *args: Any) -> Any:
        if _is_int(width) and width > MAX_SIZE:
            raise _too_big(f"the result of {name}()")
        return method(width, *args)

    def replace(old: Any, new: Any, count: Any = -1) -> Any:
        n = obj.count(old) if len(old) else len(obj) + 1
        n = min(n, count) if _is_int(count) and count >= 0 else n
        if len(obj) + n * max(0, len(new) - len(old)) > MAX_SIZE:
            raise _too_big("the result of replace()")
        return method(old, new, count)

    def expandtabs(tabsize: Any = 8) -> Any:
        if _is_int(tabsize) and len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * tabsize > MAX_SIZE:
            raise _too_big("the result of expandtabs()")
        return method(tabsize)

    def join(iterable: Iterable[Any]) -> Any:
        items = list(iterable)
        size = len(obj) * max(0, len(items) - 1) + sum(len(i) for i in items if isinstance(i, _SEQUENCES))
        if size > MAX_SIZE:
            raise _too_big("the result of join()")
        return method(items)

    def extend(iterable: Iterable[Any]) -> Any:
        items = list(iterable)
        if len(obj) + len(items) > MAX_SIZE:
            raise _too_big("the extended list")
        return method(items)

    checked: dict[str, Callable[..., Any]] = {
        "ljust": padded,
        "rjust": padded,
        "center": padded,
        "zfill": padded,
        "replace": replace,
        "expandtabs": expandtabs,
        "join": join,
        "extend": extend,
    }
    return checked.get(name, method)


def _bounded_getattr(obj: Any, name: str, *default: Any) -> Any:
    value = safer_getattr(obj, name, *default)
    if isinstance(obj, (str, bytes, bytearray, list)) and callable(value):
        return _check_method(obj, name, value)
    return value


def _bounded_range(*args: SupportsIndex) -> range:
    result = range(*args)
    if len(result) > MAX_SIZE:
        raise _too_big("the range")
    return result


_INPLACE = {
    "+=": _checked_add,
    "-=": operator.sub,
    "*=": _checked_mul,
    "/=": operator.truediv,
    "//=": operator.floordiv,
    "%=": _checked_mod,
    "**=": _safe_pow,
    "<<=": _checked_lshift,
    ">>=": operator.rshift,
    "|=": operator.or_,
    "&=": operator.and_,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise SandboxError(f"operator {op} is not allowed") from None


def _builtins() -> dict[str, Any]:
    b = dict(safe_builtins)
    b.update(
        list=list,
        tuple=tuple,
        dict=dict,
        set=set,
        frozenset=frozenset,
        sum=sum,
        min=min,
        max=max,
        sorted=sorted,
        enumerate=enumerate,
        zip=zip,
        any=any,
        all=all,
        map=map,
        filter=filter,
        reversed=reversed,
        range=_bounded_range,
        pow=_safe_pow,
        len=len,
        abs=abs,
        round=round,
        isinstance=isinstance,
    )
    for name in ("setattr", "delattr", "compile", "__import__"):
        b.pop(name, None)
    return b


SAFE_BUILTINS = _builtins()

# Plain modules and helpers a process may use; values, not modules with attribute walks.
BASE_HELPERS: dict[str, Any] = {
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "Decimal": decimal.Decimal,
    "floor": math.floor,
    "ceil": math.ceil,
}

GUARDS: dict[str, Any] = {
    "__builtins__": SAFE_BUILTINS,
    "_getattr_": _bounded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
    "_mul_": _checked_mul,
    "_pow_": _safe_pow,
    "_lshift_": _checked_lshift,
    "_add_": _checked_add,
    "_mod_": _checked_mod,
    "_format_": _checked_format,
    "_number_": _checked_number,
}
DATA_VIEWS = ("vars", "globals", "locals")
MAX_SOURCE = 100_000  # characters of one expression or script


def _compile(source: str, compiler: Callable[..., CompileResult]) -> Any:
    if len(source) > MAX_SOURCE:
        raise SandboxError(f"the code is longer than {MAX_SOURCE:,} characters")
    try:
        result = compiler(source, "<string>", policy=BoundedPolicy)
    except (RecursionError, MemoryError):
        raise SandboxError("the code is nested too deeply to compile") from None
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    return _compile(expression, compile_restricted_eval)


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    return _compile(script, compile_restricted_exec)


def namespace(
    globals_: Mapping[str, Any], context: Mapping[str, Any], external_context: Mapping[str, Any] | None
) -> dict:
    """Helpers, then the task's data, then the guards (so data cannot replace a guard)."""
    ns = dict(globals_)
    ns.update(external_context or {})
    ns.update(context)
    # `'x' in vars()` is how process files test whether a variable is set: give them
    # the data (never the interpreter's globals)
    data_view = lambda: {k: v for k, v in ns.items() if k not in GUARDS and k not in DATA_VIEWS}  # noqa: E731
    ns["vars"] = ns["globals"] = ns["locals"] = data_view
    ns.update(GUARDS)
    return ns


def script_results(
    ns: Mapping[str, Any],
    before: Iterable[str],
    globals_: Mapping[str, Any],
    external_context: Mapping[str, Any] | None,
) -> tuple[dict, list]:
    """(variables the script leaves in the task's data, variables it deleted)."""
    updates = {}
    for key, value in ns.items():
        if key in GUARDS or key in DATA_VIEWS or key in globals_ or (external_context and key in external_context):
            continue
        if key.startswith("_") or callable(value):  # functions and classes are not data (and a class
            continue  # in the data would let a bounded expression call its unbound, unchecked methods)
        updates[key] = value
    return updates, [key for key in before if key not in ns]

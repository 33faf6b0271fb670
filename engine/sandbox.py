"""The restricted environment every expression and script of a process file runs in.

Process files are untrusted: they are edited by people who are not developers, and a
deploy accepts them from the web. SpiffWorkflow's default environment is plain
``eval``/``exec``; here every condition, timer, script, multi-instance and correlation
expression and DMN cell is compiled by RestrictedPython, runs with an allow-list of
builtins and helpers, and is stopped by a watchdog after a time limit.
"""
from __future__ import annotations

import ast
import ctypes
import datetime as _dt
import decimal
import math
import operator
import os
import re
import threading
from functools import lru_cache
from typing import Any, Callable, Mapping

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
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
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

DEFAULT_TIME_LIMIT = 2.0  # seconds for one expression or script
# how much the process may grow while a script runs (checked by the watchdog every 50 ms)
MEMORY_LIMIT = int(os.environ.get("ZHITONGCHE_SCRIPT_MEMORY_MB", "256")) * 1024 * 1024


class SandboxError(Exception):
    """An expression or script was refused or stopped by the sandbox."""


class SandboxTimeout(SandboxError):
    """Raised inside the running script by the watchdog."""


class SandboxMemoryLimit(SandboxError):
    """Raised inside the running script by the watchdog when the process grew too much."""


# -- size limits -----------------------------------------------------------------------------
# The watchdog stops Python loops, not one C call that allocates gigabytes (`'a' * 10**10`,
# `[0] * 10**10`, `10**10**10`, `list(range(10**10))`). The operators and methods that make
# big objects in one step are therefore checked *before* they run: the policy below turns
# `*`, `**`, `<<`, `+`, `%` and f-string format specs into calls of the helpers here.
MAX_SIZE = 1_000_000  # items, characters or bytes of one sequence made in one step
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
_MAX_POW = 10_000
_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _too_big(what: str) -> SandboxError:
    return SandboxError(f"{what} would be too large (the sandbox allows {MAX_SIZE:,} items or characters)")


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
    return a * b


def _checked_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_SIZE:
        raise _too_big("the joined sequence")
    return a + b


def _safe_pow(base, exp, mod=None):
    if _is_int(exp) and abs(exp) > _MAX_POW:
        raise SandboxError("exponent too large")
    if mod is None and _is_int(base) and _is_int(exp) and exp > 0 and base.bit_length() * exp > MAX_INT_BITS:
        raise SandboxError("integer result too large")
    return pow(base, exp, mod) if mod is not None else pow(base, exp)


def _checked_lshift(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise SandboxError("integer result too large")
    return a << b


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
    return a % b


_CONVERSIONS = {ord("r"): repr, ord("s"): str, ord("a"): ascii}


def _checked_format(value: Any, spec: Any, conversion: int = -1) -> str:
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    _check_widths(_DIGITS.findall(str(spec)), "a format spec")
    return format(value, spec)


_BINOPS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}


class BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus operators that can build huge objects in one step
    (``*``, ``**``, ``<<``, ``+``, ``%``, f-string format specs) call the checked helpers."""

    def _call(self, helper: str, args: list, node: ast.AST) -> ast.Call:
        func = ast.copy_location(ast.Name(id=helper, ctx=ast.Load()), node)
        return ast.copy_location(ast.Call(func=func, args=args, keywords=[]), node)

    def visit_BinOp(self, node: ast.BinOp):
        node = self.node_contents_visit(node)
        helper = _BINOPS.get(type(node.op))
        return node if helper is None else self._call(helper, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue):
        node = self.node_contents_visit(node)
        if node.format_spec is not None:
            conversion = ast.copy_location(ast.Constant(node.conversion), node)
            node.value = self._call("_format_", [node.value, node.format_spec, conversion], node)
            node.format_spec, node.conversion = None, -1
        return node


def _check_method(obj: Any, name: str, method: Callable) -> Callable:
    """Methods of str/bytes/list whose result size an argument chooses, checked first."""

    def padded(width, *args):
        if _is_int(width) and width > MAX_SIZE:
            raise _too_big(f"the result of {name}()")
        return method(width, *args)

    def replace(old, new, count=-1):
        n = obj.count(old) if len(old) else len(obj) + 1
        n = min(n, count) if _is_int(count) and count >= 0 else n
        if len(obj) + n * max(0, len(new) - len(old)) > MAX_SIZE:
            raise _too_big("the result of replace()")
        return method(old, new, count)

    def expandtabs(tabsize=8):
        if _is_int(tabsize) and len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * tabsize > MAX_SIZE:
            raise _too_big("the result of expandtabs()")
        return method(tabsize)

    def join(iterable):
        items = list(iterable)
        size = len(obj) * max(0, len(items) - 1) + sum(len(i) for i in items if isinstance(i, _SEQUENCES))
        if size > MAX_SIZE:
            raise _too_big("the result of join()")
        return method(items)

    def extend(iterable):
        items = list(iterable)
        if len(obj) + len(items) > MAX_SIZE:
            raise _too_big("the extended list")
        return method(items)

    checked = {"ljust": padded, "rjust": padded, "center": padded, "zfill": padded, "replace": replace,
               "expandtabs": expandtabs, "join": join, "extend": extend}
    return checked.get(name, method)


def _bounded_getattr(obj: Any, name: str, *default: Any) -> Any:
    value = safer_getattr(obj, name, *default)
    if isinstance(obj, (str, bytes, bytearray, list)) and callable(value):
        return _check_method(obj, name, value)
    return value


def _bounded_range(*args):
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
        list=list, tuple=tuple, dict=dict, set=set, frozenset=frozenset,
        sum=sum, min=min, max=max, sorted=sorted, enumerate=enumerate, zip=zip,
        any=any, all=all, map=map, filter=filter, reversed=reversed, range=_bounded_range,
        pow=_safe_pow, len=len, abs=abs, round=round, isinstance=isinstance,
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


def _guards() -> dict[str, Any]:
    return {
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
    }


GUARDS = _guards()
_DATA_VIEWS = ("vars", "globals", "locals")


@lru_cache(maxsize=4096)
def compile_expression(expression: str):
    result = compile_restricted_eval(expression, "<string>", policy=BoundedPolicy)
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(script: str):
    result = compile_restricted_exec(script, "<string>", policy=BoundedPolicy)
    if result.errors:
        raise SandboxError("; ".join(result.errors))
    return result.code


def _rss() -> int | None:
    """The process's resident memory in bytes (Linux), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class _Watchdog:
    """Stops a guarded block that runs past its deadline (SandboxTimeout) or during which the
    process grows by more than ``MEMORY_LIMIT`` (SandboxMemoryLimit).

    One daemon thread serves the whole process; ``PyThreadState_SetAsyncExc`` is
    re-sent every 50 ms until the guarded block ends (a bare ``except`` cannot
    swallow it for long). Memory is the whole process's: a block running beside the one
    that allocates may be stopped with it (blocks are short; a stopped one fails clearly).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, int, int | None]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-watchdog", daemon=True)
            self._thread.start()

    def arm(self, seconds: float) -> int:
        import time

        ident = threading.get_ident()
        rss = _rss()
        with self._lock:
            token = self._deadlines.get(ident, (0, 0, None))[1] + 1
            self._deadlines[ident] = (time.monotonic() + seconds, token,
                                      rss + MEMORY_LIMIT if rss is not None else None)
            self._ensure_thread()
        self._wake.set()
        return token

    def disarm(self) -> None:
        with self._lock:
            self._deadlines.pop(threading.get_ident(), None)

    def _run(self) -> None:
        import time

        while True:
            self._wake.wait(0.05)
            self._wake.clear()
            now = time.monotonic()
            rss = _rss() if self._deadlines else None  # idle: nothing to measure
            with self._lock:  # under the lock: never sent after the block has disarmed
                for ident, (deadline, _, max_rss) in self._deadlines.items():
                    if deadline <= now:
                        stop = SandboxTimeout
                    elif rss is not None and max_rss is not None and rss > max_rss:
                        stop = SandboxMemoryLimit
                    else:
                        continue
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(stop))


_watchdog = _Watchdog()


class time_limit:
    """Context manager: the block is stopped with SandboxTimeout after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._outer: tuple | None = None

    def __enter__(self):
        ident = threading.get_ident()
        with _watchdog._lock:
            self._outer = _watchdog._deadlines.get(ident)
        if self._outer is None:  # nested blocks keep the outermost deadline
            _watchdog.arm(self.seconds)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._outer is None:
            _watchdog.disarm()
        if exc_type is SandboxTimeout:
            raise SandboxTimeout(f"stopped after the time limit of {self.seconds:g} s") from None
        if exc_type is SandboxMemoryLimit:
            raise SandboxMemoryLimit(f"stopped: it used more than {MEMORY_LIMIT // 2**20} MB of memory") from None
        return False


class SandboxedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment that compiles with RestrictedPython."""

    def __init__(self, helpers: Mapping[str, Any] | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT):
        super().__init__({**BASE_HELPERS, **(helpers or {})})
        self.time_limit_s = time_limit_s

    def _namespace(self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None) -> dict:
        ns = dict(self.globals)
        ns.update(external_context or {})
        ns.update(context)
        # `'x' in vars()` is how process files test whether a variable is set: give them
        # the data (never the interpreter's globals)
        data_view = lambda: {k: v for k, v in ns.items() if k not in GUARDS and k not in _DATA_VIEWS}  # noqa: E731
        ns["vars"] = ns["globals"] = ns["locals"] = data_view
        ns.update(GUARDS)  # after the data, so data cannot replace a guard
        return ns

    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression.strip())
        with time_limit(self.time_limit_s):
            return eval(code, self._namespace(context, external_context))

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = compile_script(script)
        ns = self._namespace(context, external_context)
        before = set(ns)
        with time_limit(self.time_limit_s):
            exec(code, ns)
        for key in list(ns):
            value = ns[key]
            if key in GUARDS or key in _DATA_VIEWS or key in self.globals or (
                    external_context and key in external_context):
                continue
            if key.startswith("_") or callable(value) and not isinstance(value, type):
                continue
            context[key] = value
        for key in before - set(ns):  # `del x` in a script removes it from the data
            context.pop(key, None)
        return True


class SandboxedScriptEngine(PythonScriptEngine):
    def __init__(self, helpers: Mapping[str, Any] | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT):
        super().__init__(environment=SandboxedEnvironment(helpers, time_limit_s))

    def validate(self, expression: str) -> None:
        import ast

        ast.parse(expression.strip(), mode="eval")  # SyntaxError, as the DMN engine expects
        compile_expression(expression.strip())

    def call_service(self, task, **kwargs):  # the library's version raises NameError
        from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

        raise WorkflowTaskException("service tasks with operators are not supported", task=task)


def check_expression(expression: str) -> None:
    """Compile-only check used at deploy time. Raises SandboxError."""
    compile_expression(expression.strip())


def check_script(script: str) -> None:
    compile_script(script)


def run_expression(expression: str, data: Mapping[str, Any] | None = None,
                   helpers: Mapping[str, Any] | None = None,
                   time_limit_s: float = DEFAULT_TIME_LIMIT) -> Any:
    """Evaluate one expression outside a workflow (property expressions, tests)."""
    return SandboxedEnvironment(helpers, time_limit_s).evaluate(expression, dict(data or {}))


"""The restricted environment every expression and script of a process file runs in.

Process files are untrusted: they are edited by people who are not developers, and a deploy
accepts them from the web. Every condition, timer, script, multi-instance and correlation
expression and DMN cell is compiled by RestrictedPython with the checks of policy.py, and runs
with an allow-list of builtins and helpers:

- an expression that is *provably bounded* (bounded.py: no loop, comprehension or lambda, only
  cheap allow-listed calls, small) runs here, in the calling process, with no time limit to
  enforce (its cost is linear in its size and its data);
- scripts (script tasks, pre- and post-scripts) and every other expression run in a script
  process (pool.py, child.py) that is killed when it overruns the time limit
  (``ZHITONGCHE_SCRIPT_TIME_LIMIT``, 2 s) or grows past the memory limit; the task's data goes
  there and the script's changes come back. A handler that catches the stop cannot outlast it.

A deploy also refuses catch-all handlers (bounded.catch_alls, see ``check_script``).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .bounded import bounded_calls, catch_alls
from .policy import (
    BASE_HELPERS,
    DEFAULT_TIME_LIMIT,
    MAX_SIZE,
    MAX_WEIGHT,
    MEMORY_LIMIT,
    SandboxError,
    SandboxMemoryLimit,
    SandboxTimeout,
    check_weight,
    compile_expression,
    compile_script,
    namespace,
)
from .pool import POOL

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "MAX_SIZE",
    "MAX_WEIGHT",
    "MEMORY_LIMIT",
    "HelperSource",
    "SandboxError",
    "SandboxMemoryLimit",
    "SandboxTimeout",
    "SandboxedEnvironment",
    "SandboxedScriptEngine",
    "bounded_calls",
    "check_expression",
    "check_script",
    "run_expression",
]


def _static_helpers(helpers: dict, _now: Callable) -> dict:
    return helpers


class HelperSource:
    """Helpers made by ``factory(arg, now)`` (a module-level function and a picklable argument,
    e.g. ``workdays.helpers`` and the calendar): here with ``clock``, in a script process from
    the pickled pair and the time ``clock`` gave when the call was sent."""

    def __init__(
        self, factory: Callable[[Any, Callable], dict], arg: Any, clock: Callable[[], Any] | None = None
    ) -> None:
        self.factory, self.arg, self.clock = factory, arg, clock
        self.local = factory(arg, clock or (lambda: None))
        self._payload: tuple[str, bytes] | None = None
        self._payload_of: Any = None  # the argument's ``revision`` when the payload was made

    def payload(self) -> tuple[str, bytes]:
        revision = getattr(self.arg, "revision", None)  # e.g. the calendar an admin edited
        if self._payload is None or revision != self._payload_of:
            self._payload_of = revision
            try:
                blob = pickle.dumps((self.factory, self.arg), protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                raise SandboxError(f"the helpers cannot be sent to a script process: {exc}") from None
            self._payload = (hashlib.sha256(blob).hexdigest(), blob)
        return self._payload

    def now(self) -> Any:
        return self.clock() if self.clock else None


class SandboxedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment: RestrictedPython, bounded expressions here, the rest
    in a script process."""

    def __init__(
        self, helpers: Mapping[str, Any] | HelperSource | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT
    ) -> None:
        source = helpers if isinstance(helpers, HelperSource) else HelperSource(_static_helpers, dict(helpers or {}))
        super().__init__({**BASE_HELPERS, **source.local})
        self.helpers = source
        self.time_limit_s = time_limit_s

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        source = expression.strip()
        code = compile_expression(source)
        calls = bounded_calls(source)
        if calls is not None and not any(
            name in context or external_context and name in external_context for name in calls
        ):
            value = eval(code, namespace(self.globals, context, external_context))
            check_weight(value, "the expression's value")
            return value
        return self._isolated("eval", source, context, external_context)[1]

    def execute(self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        compile_script(script)  # refused here already, with the policy's message
        _, updates, deleted = self._isolated("exec", script, context, external_context)
        context.update(updates)
        for key in deleted:  # `del x` in a script removes it from the data
            context.pop(key, None)
        return True

    def _isolated(
        self, kind: str, source: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None
    ) -> tuple[Any, ...]:
        try:
            data = pickle.dumps((dict(context), dict(external_context or {})), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise SandboxError(f"the task's data cannot be sent to a script process: {exc}") from None
        request = {"kind": kind, "source": source, "data": data, "now": self.helpers.now(), "limit": self.time_limit_s}
        reply = POOL.run(request, self.time_limit_s, self.helpers.payload())
        if reply[0] == "error":
            error = reply[1]
            error.sandbox_line = reply[2]
            raise error
        return reply


class SandboxedScriptEngine(PythonScriptEngine):
    def __init__(
        self, helpers: Mapping[str, Any] | HelperSource | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT
    ) -> None:
        super().__init__(environment=SandboxedEnvironment(helpers, time_limit_s))

    def validate(self, expression: str) -> None:
        import ast

        ast.parse(expression.strip(), mode="eval")  # SyntaxError, as the DMN engine expects
        compile_expression(expression.strip())

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            if isinstance(exc.__context__, SandboxError):  # the incident says why: stopped at the limit …
                exc.add_note(str(exc.__context__))
            raise

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> WorkflowTaskException:
        if isinstance(err, WorkflowTaskException):
            return super().create_task_exec_exception(task, script, err)
        line = getattr(err, "sandbox_line", 0)  # the script ran in another process: its line came back
        lines = script.splitlines()
        if isinstance(err, SandboxError):  # "script: stopped after the time limit of 2 s"
            detail = f"script: {err}"
        else:
            detail = err.__class__.__name__ + (f": {err.args[0]}" if err.args else "")
        return WorkflowTaskException(
            detail,
            task=task,
            exception=err,
            line_number=line,
            error_line=lines[line - 1] if 0 < line <= len(lines) else "",
        )

    def call_service(self, task: Any, **kwargs: Any) -> Any:  # the library's version raises NameError
        raise WorkflowTaskException("service tasks with operators are not supported", task=task)


def check_expression(expression: str) -> None:
    """Compile-only check used at deploy time. Raises SandboxError."""
    compile_expression(expression.strip())


def check_script(script: str) -> None:
    """Deploy-time check: compiles, and refuses handlers that would swallow any error."""
    compile_script(script)
    found = catch_alls(script)
    if found:
        error = SandboxError("; ".join(f"line {line}: {message}" for line, message in found))
        error.script_line = found[0][0]  # the deploy report points at it in the file
        raise error


def run_expression(
    expression: str,
    data: Mapping[str, Any] | None = None,
    helpers: Mapping[str, Any] | HelperSource | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT,
) -> Any:
    """Evaluate one expression outside a workflow (property expressions, tests)."""
    return SandboxedEnvironment(helpers, time_limit_s).evaluate(expression, dict(data or {}))

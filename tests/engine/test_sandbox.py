"""Process files are untrusted code: every expression and script runs sandboxed."""

from __future__ import annotations

import time

import pytest

from engine.sandbox import SandboxedEnvironment, SandboxError, SandboxTimeout, run_expression

ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'Popen']",
    "__import__('os').system('id')",
    "eval('1+1')",
    "exec('x=1')",
    "open('/etc/passwd').read()",
    "getattr(len, '__globals__')",
    "'{0.__class__}'.format(1)",
    "f'{(1).__class__}'",
    "type(1)",
    "globals()['__builtins__']",
    "(lambda: 0).__code__",
    "compile('1', 'x', 'eval')",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escapes_are_refused(expression):
    with pytest.raises((SandboxError, NameError, NotImplementedError, KeyError, AttributeError, TypeError)):
        run_expression(expression, {"x": 1})


def test_the_subclasses_walk_is_refused_at_compile_time():
    with pytest.raises(SandboxError, match="__subclasses__"):
        run_expression("().__class__.__base__.__subclasses__()")


def test_import_in_a_script_is_refused():
    env = SandboxedEnvironment()
    with pytest.raises((SandboxError, ImportError)):
        env.execute("import os\nx = os.getcwd()", {})


def test_ordinary_python_works_in_scripts():
    env = SandboxedEnvironment()
    data = {"items": [{"unit": "zrzyj", "days": 3}, {"unit": "zjj", "days": 5}], "total": 0}
    env.execute(
        "for item in items:\n    total += item['days']\nunits = sorted(i['unit'] for i in items)\n"
        "a, b = 1, 2\nlabel = '共%d项' % len(items)",
        data,
    )
    assert data["total"] == 8
    assert data["units"] == ["zjj", "zrzyj"]
    assert data["label"] == "共2项"
    assert "a" in data and "_getattr_" not in data


def test_task_data_cannot_replace_a_guard():
    data = {"_getattr_": getattr, "x": ()}
    with pytest.raises(SandboxError):
        run_expression("x.__class__", data)


def test_an_endless_loop_is_stopped_within_the_time_limit():
    env = SandboxedEnvironment(time_limit_s=0.3)
    started = time.monotonic()
    with pytest.raises(SandboxTimeout):
        env.execute("while True:\n    try:\n        pass\n    except:\n        pass", {})
    assert time.monotonic() - started < 2


def test_huge_powers_are_refused():
    with pytest.raises(SandboxError):
        run_expression("pow(10, 10**8)")


def test_working_day_helpers_are_available(engine):
    env = engine.script_engine.environment
    assert env.evaluate("add_workdays('2026-09-30', 3)", {}) == "2026-10-10T17:30:00+08:00"
    # 10-01..10-07 are the National Day holidays, 10-10 an adjusted working Saturday (调休)
    assert env.evaluate("workday_before('2026-10-08T17:30:00+08:00', 1)", {}) == "2026-09-30T17:30:00+08:00"


@pytest.mark.parametrize(
    "expression",
    [
        "add_workdays(now(), 10**9)",
        "workday_before(now(), 10**9)",
        "workdays_between('0001-01-01', '9999-12-31')",
    ],
)
def test_working_day_helpers_refuse_absurd_spans(engine, expression):
    """They run in-process without a time limit (a bounded expression), so their loops are bounded."""
    with pytest.raises(ValueError, match="at most"):
        engine.script_engine.environment.evaluate(expression, {})

"""Process metrics the engine itself records (prometheus_client; no web here).

``STEP_SECONDS``: how long one persisted step of a case takes — the engine call that runs
the workflow, saves its state and flushes it (start, task completion, message, timers) — by
kind and outcome. In a gunicorn or worker process started with ``PROMETHEUS_MULTIPROC_DIR``
the values go to that folder, and ``/metrics`` (webapp/metrics.py) adds up every process of
the machine, the workers' timer steps included.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # a missing folder would fail every step
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import Histogram  # noqa: E402

STEP_SECONDS = Histogram(
    "zhitongche_step_duration_seconds",
    "Persisted steps of a case: run, save the state, flush",
    ["kind", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

F = TypeVar("F", bound=Callable)


def timed_step(kind: str) -> Callable[[F], F]:
    """Decorate an Engine method: its duration lands in STEP_SECONDS{kind, outcome}."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, outcome = time.perf_counter(), "error"
            try:
                result = function(*args, **kwargs)
                outcome = "ok"
                return result
            finally:
                STEP_SECONDS.labels(kind, outcome).observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["STEP_SECONDS", "timed_step"]

"""``zhitongche bench``: the benchmark harness (issue #9).

On the real case process (processes/case.bpmn, driven with valid form data from
``scenario.py``) it measures, in one run:

(a) the bare library in memory, our script engine and the library's default — ``inprocess.bare_library``;
(b) the engine with persistence in process, SQLite WAL — ``inprocess.persisted``;
(c) the full stack over HTTP: gunicorn + the REST API, 1/4/16 clients, cases submitted by the
    enterprise, tasks opened and completed by users of their roles, SQLite and PostgreSQL — ``http``;
(g) the inbox's p95 while (c) writes with 16 clients, against idle — ``http``;
(d) the cost per step as one case loops 1, 10, 100, 1,000 times — ``inprocess.loops``;
(e) inbox and dashboard latency over many generated cases in PostgreSQL — ``bigdata``;
(f) timer firing with one and two worker processes — ``timers``;

prints the ratios b/a, d100/d1, f2/f1 and writes the generated part of
docs/PERFORMANCE.md (``report``). Figures are printed, never asserted on time; the
correctness checks (every case completes, the long loop ends completed, every timer fires
once) make the run fail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .runner import FULL, PARTS, QUICK, Results, run

__all__ = ["FULL", "PARTS", "QUICK", "Results", "run", "main"]


def main(
    quick: bool = False,
    parts: tuple[str, ...] = PARTS,
    write: Path | None = None,
    profile: bool = False,
    keep_data: bool = False,
    echo: Callable[[str], None] = print,
) -> Results:
    from . import report

    mach = report.machine()
    echo(
        "zhitongche bench"
        + (" --quick" if quick else "")
        + ": "
        + ", ".join(f"{k} {v}" for k, v in mach.items() if k in ("cpu", "cores", "memory", "load average at start"))
    )
    res = run(quick=quick, parts=parts, echo=echo, profile=profile, keep_data=keep_data)
    for line in report.summary_lines(res):
        echo(line)
    if write is not None:
        report.write(write, res, mach)
        echo(f"wrote {write}")
    return res

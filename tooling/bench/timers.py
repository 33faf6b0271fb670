"""(f) timer firing by one and by two worker processes (``zhitongche worker --once``) on
PostgreSQL, where workers share the due instances with SELECT … FOR UPDATE SKIP LOCKED.

One case is driven to a waiting timer (intake asks for material; five working days later
the case is withdrawn) on a clock in the past, then its instance row is copied N times with
SQL, so N timers are due now. The rate is taken from the ``timer`` audit entries the
workers write (their own clock is the system's): fired / (last − first), which leaves
process start-up out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from . import scenario
from .inprocess import Rig

PAST = "2025-03-03T01:00:00+00:00"  # a Monday, 09:00 Beijing time; the timer was due long ago
ROOT = Path(__file__).resolve().parents[2]


def seed(rig: Rig, n: int) -> int:
    """``n`` instances whose material timer is due now; returns the template's id."""
    template = rig.submit(0)
    for name, group, data in scenario.TO_TIMER:
        rig.step(template, name, group, data)
    with rig.Session.begin() as s:
        conn = s.connection()
        conn.execute(
            text("""
            INSERT INTO instance (process_version_id, process_id, business_key, status, state, serializer_version,
                                  lock_version, next_timer_at, summary, error, started_by, created_at, updated_at)
            SELECT process_version_id, process_id, business_key || '-' || g, status, state, serializer_version,
                   1, next_timer_at, summary, error, started_by, created_at, updated_at
            FROM instance, generate_series(1, :m) AS g WHERE id = :t
        """),
            {"m": n - 1, "t": template},
        )
        due = conn.execute(
            text("SELECT count(*) FROM instance WHERE status = 'running' AND next_timer_at IS NOT NULL")
        ).scalar()
    if due != n:
        raise AssertionError(f"expected {n} instances waiting on a timer, found {due}")
    return template


def run_workers(env: dict, workers: int, workdir: Path, timeout_s: float = 600) -> list[int]:
    procs = []
    for i in range(workers):
        log = (workdir / f"worker-{workers}-{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "webapp.cli",
                    "worker",
                    "--once",
                    "--poll",
                    "0.2",
                    "--id",
                    f"bench-{workers}-{i}",
                ],
                env={**os.environ, **env},
                cwd=str(ROOT),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    codes = []
    deadline = time.monotonic() + timeout_s
    for p in procs:
        try:
            codes.append(p.wait(timeout=max(1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            p.terminate()  # a worker we started
            codes.append(p.wait())
    return codes


def measure(rig: Rig, env: dict, n: int, workdir: Path) -> dict:
    """Timers fired per second with one worker process, then (after re-seeding) with two."""
    out = {}
    for workers in (1, 2):
        with rig.Session.begin() as s:  # a fresh set of due instances
            s.execute(text("TRUNCATE instance, audit_entry, notification, worker_heartbeat CASCADE"))
        seed(rig, n)
        codes = run_workers(env, workers, workdir)
        with rig.Session() as s:
            row = s.execute(
                text("""SELECT count(*), extract(epoch FROM max(at) - min(at)) FROM audit_entry
                                    WHERE action = 'timer'""")
            ).one()
            withdrawn = s.execute(
                text("""SELECT count(*) FROM instance WHERE status = 'completed'
                                          AND summary->>'outcome' = 'withdrawn'""")
            ).scalar()
            incidents = s.execute(text("SELECT count(*) FROM instance WHERE status = 'error'")).scalar()
        fired, span = row[0], float(row[1] or 0)
        out[workers] = {
            "fired": fired,
            "seconds": span,
            "per_s": fired / span if span else 0.0,
            "withdrawn": withdrawn,
            "incidents": incidents,
            "exit_codes": codes,
            "correct": fired == n and withdrawn == n and incidents == 0,
        }
    return out

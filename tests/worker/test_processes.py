"""Real worker processes (``python -m webapp.cli worker``) against the test database, in
real time: each timer fires exactly once with several workers, when one is killed with
SIGKILL in the middle of its work, and SIGTERM stops a worker cleanly."""

from __future__ import annotations

import datetime as _dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine.models import AuditEntry, HumanTask, Instance, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


def worker_env(db_engine) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHITONGCHE_")}
    env["ZHITONGCHE_NOTIFY_CHANNELS"] = "log"
    env["ZHITONGCHE_CALENDAR_FILE"] = str(ROOT / "var" / "no-calendar.json")
    if db_engine.dialect.name == "postgresql":
        with db_engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar().split(",")[0].strip().strip('"')
        env["ZHITONGCHE_DATABASE_URL"] = db_engine.url.render_as_string(hide_password=False)
        env["ZHITONGCHE_DB_SCHEMA"] = schema
    else:
        env["ZHITONGCHE_DATABASE_URL"] = f"sqlite:///{db_engine.url.database}"
    return env


def spawn(db_engine, tmp_path, name, *args) -> subprocess.Popen:
    env = worker_env(db_engine) | {"PGAPPNAME": f"zhitongche-{name}"}  # visible in pg_stat_activity
    with open(tmp_path / f"{name}.log", "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "worker", "--id", name, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def in_transaction(db_engine, name: str) -> bool:
    """PostgreSQL: the worker's connection is inside a transaction right now."""
    with db_engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app AND xact_start IS NOT NULL"),
                {"app": f"zhitongche-{name}"},
            ).scalar()
        )


def start_due_instances(Session, engine, clock, n) -> None:
    """Instances whose timer fell due an hour ago (in real time)."""
    clock.set(_dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=2))
    with Session.begin() as session:
        for _ in range(n):
            engine.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False})


def fired_count(Session) -> int:
    with Session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "timer"))


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def assert_each_fired_exactly_once(Session, n: int) -> None:
    with Session() as session:
        instances = session.scalars(select(Instance)).all()
        assert len(instances) == n
        assert {i.status for i in instances} == {"running"}
        assert all(i.next_timer_at is None for i in instances)
        assert sorted({i.summary.get("fired") for i in instances}) == [1]  # the script ran once
        per_instance = dict(
            session.execute(
                select(AuditEntry.instance_id, func.count())
                .where(AuditEntry.action == "timer")
                .group_by(AuditEntry.instance_id)
            ).all()
        )
        assert len(per_instance) == n and set(per_instance.values()) == {1}
        tasks = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.bpmn_id == "review"))
        assert tasks == n


def heartbeats(Session) -> set[str]:
    with Session() as session:
        return set(session.scalars(select(WorkerHeartbeat.worker_id)))


def stop(procs, sig=signal.SIGTERM) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    return [p.wait(20) for p in procs]


@pytest.mark.slow
def test_workers_fire_each_timer_once_when_one_is_killed(db_engine, Session, engine, clock, processes, tmp_path):
    postgres = db_engine.dialect.name == "postgresql"
    n, n_workers = (1000, 4) if postgres else (300, 1)  # SQLite: one worker, killed, then another
    start_due_instances(Session, engine, clock, n)
    procs = [spawn(db_engine, tmp_path, f"w{i}", "--poll", "0.2") for i in range(n_workers)]
    try:
        wait_for(lambda: fired_count(Session) >= n // 5, 90, "the workers to get going")
        if postgres:
            wait_for(lambda: in_transaction(db_engine, "w0"), 30, "w0 inside a transaction")
        procs[0].send_signal(signal.SIGKILL)  # in the middle of its work: nothing committed half
        assert procs[0].wait(10) == -signal.SIGKILL
        if not postgres:
            procs.append(spawn(db_engine, tmp_path, "w-after", "--poll", "0.2"))
        wait_for(lambda: fired_count(Session) >= n, 150, "all timers to fire")
        # every live worker has started (its SIGTERM handler is installed) before it is stopped
        live = ["w-after"] if not postgres else [f"w{i}" for i in range(1, n_workers)]
        wait_for(lambda: heartbeats(Session) >= set(live), 60, "the workers' heartbeats")
        time.sleep(0.5)  # a double fire would show now
    finally:
        codes = stop(procs)
    assert codes[1:] == [0] * (len(procs) - 1), [(tmp_path / f).read_text()[-2000:] for f in os.listdir(tmp_path)]
    assert_each_fired_exactly_once(Session, n)
    with Session() as session:
        # the killed worker's heartbeat stays behind (stale); the others signed off
        assert [h.worker_id for h in session.scalars(select(WorkerHeartbeat))] == ["w0"]


@pytest.mark.slow
def test_sigterm_stops_the_worker_cleanly(db_engine, Session, engine, clock, processes, tmp_path):
    proc = spawn(db_engine, tmp_path, "solo", "--poll", "0.2")
    try:

        def seen():
            with Session() as session:
                return session.get(WorkerHeartbeat, "solo") is not None

        wait_for(seen, 30, "the heartbeat")
        start_due_instances(Session, engine, clock, 5)
        wait_for(lambda: fired_count(Session) == 5, 20, "the timers")
    finally:
        code = stop([proc])[0]
    assert code == 0
    log = (tmp_path / "solo.log").read_text()
    assert "worker solo stopped: 5 timers fired" in log
    with Session() as session:
        assert session.get(WorkerHeartbeat, "solo") is None


def test_once_exits_when_nothing_is_due(db_engine, Session, engine, clock, processes, tmp_path):
    start_due_instances(Session, engine, clock, 3)
    proc = spawn(db_engine, tmp_path, "once", "--once")
    assert proc.wait(60) == 0
    assert "fired 3," in (tmp_path / "once.log").read_text()
    assert_each_fired_exactly_once(Session, 3)

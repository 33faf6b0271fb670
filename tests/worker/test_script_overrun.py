"""A real ``zhitongche worker`` process meets instances whose script would run forever (issue
16): each becomes an incident naming the element and the limit, the other instances' timers
still fire, and SIGTERM stops the worker even while such a script is running."""

from __future__ import annotations

import datetime as _dt
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from engine.models import AuditEntry, Instance
from tests.engine.test_script_processes import deploy_as_stored_before_the_rule

from .test_processes import ROOT, wait_for, worker_env

LIMIT = 1


def _spawn(db_engine, tmp_path, name):
    env = worker_env(db_engine) | {"PGAPPNAME": f"zhitongche-{name}", "ZHITONGCHE_SCRIPT_TIME_LIMIT": str(LIMIT)}
    with open(tmp_path / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "worker", "--id", name, "--poll", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _fired(Session, ids) -> list:
    with Session() as session:
        return sorted(
            (i.summary or {}).get("fired") or 0 for i in session.scalars(select(Instance).where(Instance.id.in_(ids)))
        )


def _statuses(Session, ids) -> dict[int, str]:
    with Session() as session:
        return dict(session.execute(select(Instance.id, Instance.status).where(Instance.id.in_(ids))).all())


def test_a_worker_stops_scripts_that_would_run_forever_and_goes_on(
    db_engine, Session, engine, clock, processes, deploy, monkeypatch, tmp_path
):
    deploy_as_stored_before_the_rule(deploy, monkeypatch, "overrun_timer.bpmn")
    clock.set(_dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=2))  # every timer is due
    with Session.begin() as session:
        poison = [
            engine.start(session, "overrun_timer", {"delay": "PT1H", "attack": attack}).id
            for attack in ("catch_all_loop", "decimal_unguarded")
        ]
        good = [
            engine.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False}).id for _ in range(3)
        ]
    proc = _spawn(db_engine, tmp_path, "overrun")
    try:
        wait_for(
            lambda: _fired(Session, good) == [1, 1, 1] and set(_statuses(Session, poison).values()) == {"error"},
            120,
            "the good timers to fire and the poison ones to become incidents",
        )
        # one more poison instance, and SIGTERM while (most likely) its script spins
        with Session.begin() as session:
            last = engine.start(session, "overrun_timer", {"delay": "PT1H", "attack": "catch_all_loop"}).id
        time.sleep(0.6)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)  # raises TimeoutExpired if the worker ignored SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "overrun.log").read_text()
    assert code == 0, log[-3000:]
    assert "worker overrun stopped" in log
    with Session() as session:
        for instance_id in poison:
            instance = session.get(Instance, instance_id)
            assert instance.error["element_id"] == "spin"
            assert f"time limit of {LIMIT} s" in instance.error["message"]
            assert instance.next_timer_at is None
            assert (
                session.scalar(
                    select(AuditEntry.id).where(AuditEntry.instance_id == instance_id, AuditEntry.action == "incident")
                )
                is not None
            )
    assert set(_statuses(Session, good).values()) == {"running"} and _fired(Session, good) == [1, 1, 1]
    with Session() as session:
        # stopped mid-script or before it: an incident, or still due and untouched — never half
        last_instance = session.get(Instance, last)
        assert (last_instance.status, last_instance.next_timer_at is None) in {("error", True), ("running", False)}

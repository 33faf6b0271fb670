"""The worker loop in-process: timers fire once, incidents do not stop it, suspended
instances wait, the heartbeat reports it. Time moves by the injected clock."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine import incidents
from engine.errors import Conflict, MessageNotAccepted
from engine.heartbeat import worker_status
from engine.models import HumanTask, Instance, WorkerHeartbeat
from engine.runtime import Engine

from .util import audit_count


def start_timers(Session, engine, n, **data):
    ids = []
    with Session.begin() as session:
        for _ in range(n):
            ids.append(engine.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False, **data}).id)
    return ids


def test_worker_fires_due_timers_once_and_advances(Session, engine, clock, processes, make_worker):
    ids = start_timers(Session, engine, 5)
    worker = make_worker()
    assert worker.step().fired == 0  # not due yet
    clock.advance(minutes=61)
    stats = worker.step()
    assert stats.fired == 5 and stats.incidents == 0
    assert worker.step().fired == 0  # nothing left
    with Session() as session:
        for iid in ids:
            instance = session.get(Instance, iid)
            assert instance.status == "running" and instance.next_timer_at is None
            assert instance.summary["fired"] == 1  # the script after the timer ran once
            assert audit_count(session, "timer", iid) == 1
            [task] = engine.ready_tasks(session, iid)
            assert task.bpmn_id == "review"


def test_timer_not_due_is_left_alone(Session, engine, clock, processes, make_worker):
    [early] = start_timers(Session, engine, 1)
    clock.advance(minutes=30)
    [late] = start_timers(Session, engine, 1)
    clock.advance(minutes=31)  # only the first one is due
    assert make_worker().step().fired == 1
    with Session() as session:
        assert session.get(Instance, early).summary == {"fired": 1}
        assert session.get(Instance, late).next_timer_at is not None


def test_incident_leaves_error_state_and_worker_goes_on(Session, engine, clock, processes, make_worker):
    good = start_timers(Session, engine, 3)
    [bad] = start_timers(Session, engine, 1, fail=True)
    clock.advance(hours=2)
    worker = make_worker()
    stats = worker.step()
    assert (stats.fired, stats.incidents) == (3, 1)
    with Session() as session:
        instance = session.get(Instance, bad)
        assert instance.status == "error" and instance.next_timer_at is None
        assert instance.error["element_id"] == "mark"
        assert "ZeroDivisionError" in instance.error["message"]
        assert instance.error["at"] == clock.now().isoformat()
        assert all(session.get(Instance, i).summary == {"fired": 1} for i in good)
    # not retried in a loop: further passes leave it alone
    clock.advance(hours=1)
    assert worker.step().incidents == 0
    with Session() as session:
        assert audit_count(session, "incident", bad) == 1
    # the admin fixes the data and retries: the timer's script runs once more, now without error
    with Session.begin() as session:
        incidents.update_data(session, engine, bad, {"fail": False}, "admin")
    with Session.begin() as session:
        instance = incidents.retry(session, engine, bad, "admin")
        assert instance.status == "running" and instance.summary == {"fired": 1}


def test_unexpected_exception_becomes_incident_not_a_crash(Session, engine, clock, processes, make_worker, monkeypatch):
    ids = start_timers(Session, engine, 3)
    clock.advance(hours=2)
    real = Engine.fire_timers

    def flaky(self, session, instance, actor="timer"):
        if instance.id == ids[1]:
            raise RuntimeError("library bug")
        return real(self, session, instance, actor)

    monkeypatch.setattr(Engine, "fire_timers", flaky)
    worker = make_worker()
    stats = worker.step()
    assert (stats.fired, stats.incidents) == (2, 1)
    assert worker.step().incidents == 0  # recorded once, then left alone
    with Session() as session:
        broken = session.get(Instance, ids[1])
        assert broken.status == "error" and "RuntimeError: library bug" in broken.error["message"]
        assert audit_count(session, "incident", ids[1]) == 1


def test_suspended_instance_is_not_fired_and_blocks_completion(Session, engine, clock, processes, make_worker):
    [iid] = start_timers(Session, engine, 1)
    with Session.begin() as session:
        incidents.suspend(session, engine, iid, "admin", reason="checking")
    clock.advance(hours=2)
    worker = make_worker()
    assert worker.step().fired == 0
    with Session.begin() as session:
        incidents.resume(session, engine, iid, "admin")
    assert worker.step().fired == 1
    with Session.begin() as session:
        incidents.suspend(session, engine, iid, "admin")
    with Session() as session:
        [task] = engine.ready_tasks(session, iid)
        with pytest.raises(Conflict):
            engine.complete_task(session, task.id, {}, "someone")
        with pytest.raises(MessageNotAccepted):
            engine.send_message(session, iid, "material_supplied", {})
    with Session() as session:
        actions = [e.action for e in engine.history(session, iid)]
        assert actions == ["start", "suspend", "resume", "timer", "suspend"]


def test_heartbeat_and_worker_status(Session, engine, clock, processes, make_worker):
    with Session() as session:
        assert worker_status(session, clock) == {"workers": 0, "last_seen": None}
    worker = make_worker(poll_seconds=2)
    worker.step()
    with Session() as session:
        status = worker_status(session, clock)
        assert status == {"workers": 1, "last_seen": clock.now().isoformat()}
        row = session.get(WorkerHeartbeat, "test-worker")
        assert row.pid > 0 and row.host
    seen = clock.now()
    clock.advance(minutes=5)  # a worker that stopped answering
    with Session() as session:
        assert worker_status(session, clock) == {"workers": 0, "last_seen": seen.isoformat()}


def test_run_once_drains_and_signs_off(Session, engine, clock, processes, make_worker):
    start_timers(Session, engine, 3)
    clock.advance(hours=2)
    totals = make_worker(batch=2).run(once=True)  # two passes are needed for three instances
    assert totals.fired == 3
    with Session() as session:
        assert session.scalars(select(WorkerHeartbeat)).all() == []


def test_stop_ends_the_loop_after_the_current_step(Session, engine, clock, processes, make_worker):
    worker = make_worker(poll_seconds=30)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(100):
            with Session() as session:
                if worker_status(session, clock)["workers"]:
                    break
            threading.Event().wait(0.05)
        worker.stop()  # what SIGTERM does
        thread.join(5)
        assert not thread.is_alive()
    finally:
        worker.stop()
        thread.join(5)


def test_terminate_cancels_workflow_tasks_and_notifications(Session, engine, clock, processes, make_worker, add_user):
    add_user("zhang", ["unit:zrzyj"])
    with Session.begin() as session:
        iid = engine.start(session, "worker_reminder", {"unit": "zrzyj"}).id
    with Session.begin() as session:
        incidents.terminate(session, engine, iid, "admin", reason="duplicate case")
    clock.advance(hours=2)
    assert make_worker().step().fired == 0
    with Session() as session:
        instance = session.get(Instance, iid)
        assert instance.status == "terminated" and instance.next_timer_at is None and instance.ended_at
        assert [t.state for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == iid))] == [
            "cancelled"
        ]
        assert [e.action for e in engine.history(session, iid)] == ["start", "terminate"]
        from engine.models import Notification

        assert {n.status for n in session.scalars(select(Notification))} == {"cancelled"}
        workflow, _ = engine.load(instance)
        assert workflow.is_completed()

"""Incidents: a failing script, expression or decision table leaves the instance in error
with element, message and time; admins list, correct, retry, suspend, resume, terminate."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import incidents
from engine.errors import InvalidRequest
from engine.models import HumanTask, Instance

from .util import audit_count

CASES = [
    # path, bad data, element, words of the message, fix
    ("script", {"divisor": 0}, "divide", "ZeroDivisionError", {"divisor": 2}),
    ("expression", {}, "judge", "amount > 100", {"amount": 500}),
    ("decision", {}, "grade", "score", {"score": 75}),
    ("parallel", {"divisor": 0}, "divide2", "ZeroDivisionError", {"divisor": 5}),
]


@pytest.mark.parametrize("path,data,element,words,fix", CASES, ids=[c[0] for c in CASES])
def test_error_becomes_incident_then_fix_and_retry(Session, engine, clock, processes, path, data, element, words, fix):
    with Session.begin() as session:
        iid = engine.start(session, "worker_incidents", {"path": path, **data}).id
    with Session() as session:
        [incident] = incidents.list_incidents(session)
        assert incident.instance_id == iid and incident.element_id == element
        assert words in incident.message and incident.at == clock.now().isoformat()
        assert incidents.count_incidents(session) == 1
        assert incidents.failed_task_data(session, engine, iid)["path"] == path
        assert audit_count(session, "incident", iid) == 1
        # retrying without a fix fails the same way (and is recorded again)
    with Session.begin() as session:
        assert incidents.retry(session, engine, iid, "admin").status == "error"
    with Session.begin() as session:
        incidents.update_data(session, engine, iid, fix, "admin")
    with Session.begin() as session:
        instance = incidents.retry(session, engine, iid, "admin")
        assert instance.status == "running" and instance.error is None
    with Session() as session:
        assert incidents.list_incidents(session) == []
        names = [t.bpmn_id for t in engine.ready_tasks(session, iid)]
        assert "after" in names or "side" in names
        actions = [e.action for e in engine.history(session, iid)]
        assert actions == ["start", "incident", "retry", "incident", "update_data", "retry"]


def test_open_task_survives_an_incident_on_another_branch(Session, engine, clock, processes, make_worker):
    with Session.begin() as session:
        iid = engine.start(session, "worker_incidents", {"path": "late", "divisor": 0}).id
    clock.advance(hours=2)
    assert make_worker().step().incidents == 1
    with Session() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)).all()
        assert [(r.bpmn_id, r.state) for r in rows] == [("side_late", "cancelled")]
    with Session.begin() as session:
        incidents.update_data(session, engine, iid, {"divisor": 5}, "admin")
    with Session.begin() as session:
        incidents.retry(session, engine, iid, "admin")
    with Session() as session:
        [row] = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)).all()
        assert (row.bpmn_id, row.state) == ("side_late", "ready")  # the same task, open again
        assert [g.group for g in row.groups] == ["wg:city"]
    with Session.begin() as session:
        assert engine.complete_task(session, row.id, {}, "clerk").status == "running"
        assert [t.bpmn_id for t in engine.ready_tasks(session, iid)] == ["after"]


def test_levers_refuse_wrong_states(Session, engine, processes):
    with Session.begin() as session:
        iid = engine.start(session, "worker_incidents", {"path": "script", "divisor": 1}).id
    with Session() as session:
        with pytest.raises(InvalidRequest):
            incidents.update_data(session, engine, iid, {"divisor": 2}, "admin")
        with pytest.raises(InvalidRequest):
            incidents.retry(session, engine, iid, "admin")
        with pytest.raises(InvalidRequest):
            incidents.resume(session, engine, iid, "admin")
    with Session.begin() as session:
        incidents.terminate(session, engine, iid, "admin")
    with Session() as session:
        for lever in (incidents.suspend, incidents.terminate, incidents.resume):
            with pytest.raises(InvalidRequest):
                lever(session, engine, iid, "admin")


def test_terminate_an_instance_in_error(Session, engine, processes):
    with Session.begin() as session:
        iid = engine.start(session, "worker_incidents", {"path": "script", "divisor": 0}).id
    with Session.begin() as session:
        incidents.terminate(session, engine, iid, "admin", reason="bad data, case closed by phone")
    with Session() as session:
        instance = session.get(Instance, iid)
        assert instance.status == "terminated"
        assert incidents.list_incidents(session) == []
        entry = engine.history(session, iid)[-1]
        assert (entry.action, entry.actor, entry.data) == (
            "terminate",
            "admin",
            {"reason": "bad data, case closed by phone"},
        )


def test_retry_after_hook_for_a_fixed_version(Session, engine, processes):
    with Session.begin() as session:
        iid = engine.start(session, "worker_incidents", {"path": "script", "divisor": 0}).id
    calls = []

    def fix(session, instance):  # stands for issue 7's migration to a fixed version
        calls.append(instance.id)
        incidents.update_data(session, engine, instance.id, {"divisor": 10}, "admin")

    with Session.begin() as session:
        assert incidents.retry_after(session, engine, iid, "admin", fix).status == "running"
    assert calls == [iid]

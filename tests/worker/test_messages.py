"""Messages reach the instance waiting for them; anything else is a clear error."""

from __future__ import annotations

import pytest

from engine import incidents
from engine.errors import MessageNotAccepted, NotFound


def start(Session, engine):
    with Session.begin() as session:
        return engine.start(session, "worker_messages", {}, business_key="ZTC-2026-0001").id


def test_waiting_instance_gets_the_message(Session, engine, processes):
    iid = start(Session, engine)
    with Session.begin() as session:
        instance = engine.send_message(session, iid, "material_supplied", {"files": ["licence.pdf"]}, actor="ent")
        assert instance.status == "running" and instance.summary == {"status": "材料已补充"}
    with Session() as session:
        [task] = engine.ready_tasks(session, iid)
        assert task.bpmn_id == "check"
        assert engine.task_data(task)["material"] == {"files": ["licence.pdf"]}
        entry = engine.history(session, iid)[-1]
        assert (entry.action, entry.actor, entry.data["message"]) == ("message", "ent", "material_supplied")


def test_withdrawal_ends_the_case(Session, engine, processes):
    iid = start(Session, engine)
    with Session.begin() as session:
        instance = engine.send_message(session, iid, "enterprise_withdraws", None)
        assert instance.status == "completed" and instance.summary["outcome"] == "withdrawn"


def test_message_not_waited_for_names_what_is_waited_for(Session, engine, processes):
    iid = start(Session, engine)
    with Session() as session, pytest.raises(MessageNotAccepted) as err:
        engine.send_message(session, iid, "payment_received", {})
    assert err.value.details["waiting"] == ["enterprise_withdraws", "material_supplied"]
    assert "payment_received" in err.value.message


def test_message_after_the_wait_is_over(Session, engine, processes):
    iid = start(Session, engine)
    with Session.begin() as session:
        engine.send_message(session, iid, "material_supplied", {})
    with Session() as session, pytest.raises(MessageNotAccepted) as err:
        engine.send_message(session, iid, "material_supplied", {})  # now waiting for a person, not a message
    assert err.value.details["waiting"] == []


def test_message_to_completed_or_unknown_instance(Session, engine, processes):
    iid = start(Session, engine)
    with Session.begin() as session:
        engine.send_message(session, iid, "enterprise_withdraws", None)
    with Session() as session:
        with pytest.raises(MessageNotAccepted, match="completed"):
            engine.send_message(session, iid, "material_supplied", {})
        with pytest.raises(NotFound):
            engine.send_message(session, 999_999, "material_supplied", {})


def test_message_to_suspended_instance_is_refused(Session, engine, processes):
    iid = start(Session, engine)
    with Session.begin() as session:
        incidents.suspend(session, engine, iid, "admin")
    with Session() as session, pytest.raises(MessageNotAccepted, match="suspended"):
        engine.send_message(session, iid, "material_supplied", {})

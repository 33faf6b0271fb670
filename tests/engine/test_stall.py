"""A case that can no longer move on becomes an incident ("流程停滞") at the step that stopped
it, naming that step and who did it; retrying a case stalled by a lost multi-instance merge
(cases saved before the spec was wired at parse time) hands the children to their parent."""

from __future__ import annotations

from engine import incidents
from engine.models import AuditEntry
from engine.runtime import Engine
from tests.fresh import lose_the_merge
from tests.scenarios.driver import project_files, submit
from tests.scenarios.test_case_paths import accept_and_dispatch

from .util import DATA


def test_a_join_that_can_never_fire_is_an_incident_naming_the_last_step(Session, engine, deploy):
    deploy({"stall.bpmn": (DATA / "stall.bpmn").read_bytes()})
    with Session.begin() as s:
        instance_id = engine.start(s, "stall_demo", {"route": "a"}).id
    with Session.begin() as s:
        task = engine.ready_tasks(s, instance_id)[0]
        assert task.name == "甲办理"
        engine.complete_task(s, task.id, {}, "wg.city1")
    with Session() as s:
        instance = engine.get_instance(s, instance_id)
        assert instance.status == "error"
        error = instance.error
        assert (error["kind"], error["element_id"], error["completed_by"]) == ("stalled", "Task_a", "wg.city1")
        assert "流程停滞" in error["message"] and "甲办理" in error["message"]
        assert engine.ready_tasks(s, instance_id) == [] and instance.next_timer_at is None
        assert [i.instance_id for i in incidents.list_incidents(s)] == [instance_id]
        assert s.query(AuditEntry).filter_by(instance_id=instance_id, action="incident").count() == 1
    with Session.begin() as s:  # a retry without a fix finds it stalled again
        assert engine.retry(s, instance_id, "admin").status == "error"


def test_retry_hands_lost_multi_instance_children_to_their_parent(Session, clock, deploy):
    """As before the fix: the parent's merge is not connected in the process that completes
    the last cooperating unit's task; the case stalls (an incident, not a silent hang), and a
    retry by an admin in a process with the wired spec lets it go on to 负责人审核."""
    engine = Engine(clock=clock)
    deploy(project_files())
    case = submit(Session, engine, clock)
    accept_and_dispatch(case, lead="fgw", coop=["gdgs", "zrzyj"], mode="快速办")
    case.complete("拟办办理结果", "unit:fgw", {"handling_result": "已协调", "solved": True})
    case.complete("配合单位意见", "unit:gdgs", {"coop_agree": True, "coop_opinion_text": "同意"})

    broken = Engine(clock=clock)  # a process whose spec lacks the merge (the old library behaviour)
    lose_the_merge(broken, Session, case)
    case.engine = broken
    task = case.task("配合单位意见", "unit:zrzyj")
    with Session.begin() as s:
        inst = broken.complete_task(s, task.id, {"coop_agree": True, "coop_opinion_text": "同意"}, "unit:zrzyj")
        assert inst.status == "error" and inst.error["kind"] == "stalled"
    with Session.begin() as s:
        assert Engine(clock=clock).retry(s, case.instance().id, "admin").status == "running"
    case.engine = Engine(clock=clock)
    assert case.open_tasks() == [("负责人审核", ["head:fgw"])]


def test_a_failing_task_property_is_an_incident_on_its_task(Session, engine, deploy):
    """candidateGroups reads a variable the start data lacks: the case is an incident naming
    the user task (not a server error), and nobody is offered a task."""
    from tests.worker.test_processes import ROOT

    deploy({"worker_reminder.bpmn": (ROOT / "tests" / "worker" / "data" / "worker_reminder.bpmn").read_bytes()})
    with Session.begin() as s:
        instance = engine.start(s, "worker_reminder", {})
        instance_id = instance.id
        assert instance.status == "error"
        assert instance.error["element_id"] == "handle" and "candidateGroups" in instance.error["message"]
    with Session() as s:
        assert engine.ready_tasks(s, instance_id) == []


def test_a_cycle_that_never_waits_is_stopped_as_an_incident(Session, engine, deploy):
    deploy({"endless.bpmn": (DATA / "endless.bpmn").read_bytes()})
    with Session.begin() as s:
        instance = engine.start(s, "endless_demo", {"n": 0})
        assert instance.status == "error"
        assert instance.error["element_id"] in ("Count", "Again", "F_back")
        assert "cycle" in instance.error["message"]

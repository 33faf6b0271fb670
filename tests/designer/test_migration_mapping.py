"""Migration maps removed activities to activities of the new version (issue #15, item 6).

Version 2 of the demo process (tests/designer/data) removes 领导督办 (``leader_review``), where an
overdue case waits; the designer maps it to 复核 (``review``, head of the lead unit) and the case
goes on there. Every step runs on a fresh engine (tests/fresh.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import migration
from engine.errors import InvalidRequest
from engine.models import HumanTask, HumanTaskGroup, Notification
from tests.fresh import FreshEngine

DATA = Path(__file__).parent / "data"
WEB = Path(__file__).parents[1] / "web" / "data"
V1 = (DATA / "demo_v1.bpmn").read_text("utf-8")
V2 = (DATA / "demo_v2.bpmn").read_text("utf-8")
LEADER_GROUPS = """<spiffworkflow:property name="candidateGroups" value="'leader:city'" />"""
REVIEW_GROUPS = """<spiffworkflow:property name="candidateGroups" value="'head:' + lead_unit" />"""


def _form(prop: str, form: str) -> str:
    return prop + f'\n          <spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />'


def files(xml: str, **forms: str) -> dict[str, bytes]:
    bundle = {"demo.bpmn": xml.encode()}
    bundle.update({name: (WEB / name).read_bytes() for name in forms.values()})
    return bundle


def _overdue_case(engine, Session, clock) -> int:
    """A case of version 1 whose deadline passed: it waits on 领导督办 (leader_review)."""
    with Session.begin() as session:
        instance = engine.start(session, "demo", {"title": "t", "lead_unit": "zjj"}, actor="alice")
        instance_id = instance.id
    with Session.begin() as session:
        [register] = engine.ready_tasks(session, instance_id)
        engine.complete_task(session, register.id, {}, "alice")
    clock.advance(days=7)
    with Session.begin() as session:
        engine.fire_timers(session, engine.get_instance(session, instance_id))
    with Session() as session:
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["leader_review"]
    return instance_id


def _ready(engine, Session, instance_id):
    with Session() as session:
        return [(t.id, t.bpmn_id, t.name) for t in engine.ready_tasks(session, instance_id)]


def test_an_open_task_of_a_removed_activity_moves_to_the_mapped_one_and_the_case_runs_to_its_end(Session, clock):
    engine = FreshEngine(clock)  # every call as if in another process
    with Session.begin() as session:
        engine.deploy(session, files(V1), "designer")
    instance_id = _overdue_case(engine, Session, clock)
    [(row_id, _, _)] = _ready(engine, Session, instance_id)
    with Session.begin() as session:
        engine.save_draft(session, row_id, {"note": "已电话督促"}, "leader.city")
        session.get(HumanTask, row_id).assignee = "leader.city"  # claimed by a city leader
    with Session.begin() as session:
        engine.deploy(session, files(V2), "designer")

    with Session.begin() as session:  # unmapped: refused as before, naming the id and how to go on
        [refused] = migration.migrate(session, engine, "demo", 2, [instance_id], actor="designer")
    assert not refused.migrated and not refused.can_migrate
    assert "task leader_review (READY) is not in version 2; map it to an activity of version 2" in refused.reason
    assert refused.needs_mapping == [{"process_id": "demo", "element_id": "leader_review", "name": "领导督办"}]

    with Session.begin() as session:
        [preview] = migration.preview_migration(session, engine, "demo", mapping={"leader_review": "review"})
    assert preview.can_migrate and "leader_review mapped → review (复核)" in preview.line()
    fates = {t.element_id: (t.fate, t.mapped_to, t.mapped_name) for t in preview.tasks}
    assert fates["leader_review"] == ("mapped", "review", "复核")
    with Session() as session:  # the preview changed nothing
        assert engine.get_instance(session, instance_id).process_version.version == 1

    with Session.begin() as session:
        [result] = migration.migrate(session, engine, "demo", 2, actor="designer", mapping={"leader_review": "review"})
    assert result.migrated
    with Session() as session:
        row = session.get(HumanTask, row_id)  # the same row: drafts and links to it stay valid
        assert (row.state, row.bpmn_id, row.name, row.candidate_groups) == ("ready", "review", "复核", ["head:zjj"])
        groups = session.scalars(select(HumanTaskGroup.group).where(HumanTaskGroup.task_id == row_id)).all()
        assert groups == ["head:zjj"]  # in the inbox of the unit's head, no longer the leaders'
        assert row.assignee is None  # other groups: the leader's claim does not follow it
        assert row.draft == {"note": "已电话督促"}  # the same (no) form: the draft stays
        told = session.scalars(select(Notification).where(Notification.task_id == row_id)).all()
        assert [n.groups for n in told if n.kind == "assignment"][-1] == ["head:zjj"]  # the head hears of it
        entry = engine.history(session, instance_id)[-1]
        assert (entry.action, entry.actor) == ("migrate", "designer")
        assert entry.data["mapping"] == {"leader_review": "review"} and entry.data["to_version"] == 2

    with Session.begin() as session:  # the mapped task is a real task of version 2: the case ends
        engine.complete_task(session, row_id, {"needs_material": False, "outcome": "solved"}, "head.zjj")
    with Session() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.status == "completed" and instance.summary["outcome"] == "solved"
        assert instance.process_version.version == 2


def test_a_mapped_task_with_another_form_loses_its_draft(Session, clock, deploy):
    engine = FreshEngine(clock)
    deploy(files(V1.replace(LEADER_GROUPS, _form(LEADER_GROUPS, "intake.schema.json")), form="intake.schema.json"))
    instance_id = _overdue_case(engine, Session, clock)
    [(row_id, _, _)] = _ready(engine, Session, instance_id)
    with Session.begin() as session:
        engine.save_draft(session, row_id, {"decision": "受理"}, "leader.city")
    deploy(files(V2.replace(REVIEW_GROUPS, _form(REVIEW_GROUPS, "handle.schema.json")), form="handle.schema.json"))
    with Session.begin() as session:
        [result] = migration.migrate(session, engine, "demo", 2, mapping={"leader_review": "review"})
    assert result.migrated
    with Session() as session:
        row = session.get(HumanTask, row_id)
        assert (row.bpmn_id, row.form, row.draft) == ("review", "handle.schema.json", None)


def test_a_task_mapped_to_an_activity_with_a_boundary_timer_gets_that_timer(Session, clock, deploy):
    """``handle`` has the 超期 timer on the case's (passed) deadline: mapped there, the case is
    overdue at once and, in this version 2, escalation closes it (a label swap would leave it
    waiting on 承办 with no timer)."""
    engine = FreshEngine(clock)
    deploy(files(V1))
    instance_id = _overdue_case(engine, Session, clock)
    closes = V2.replace(
        "<bpmn:script>escalated = True</bpmn:script>",
        "<bpmn:script>escalated = True\noutcome = 'overdue'</bpmn:script>",
    )
    assert closes != V2
    deploy(files(closes))
    with Session.begin() as session:
        [result] = migration.migrate(session, engine, "demo", 2, mapping={"leader_review": "handle"})
    assert result.migrated
    with Session() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.status == "completed" and instance.summary["outcome"] == "overdue"
        actions = [a.action for a in engine.history(session, instance_id)]
        assert actions[-1] == "migrate"


def _without_handle() -> str:
    """Version 2 with 承办 (``handle``) and its 超期 timer replaced by 新承办 (``handle_new``, no timer)."""
    xml = V2.replace('targetRef="handle"', 'targetRef="handle_new"').replace(
        'sourceRef="handle"', 'sourceRef="handle_new"'
    )
    xml = xml.replace('<bpmn:userTask id="handle" name="承办">', '<bpmn:userTask id="handle_new" name="新承办">')
    xml = re.sub(r'<bpmn:boundaryEvent id="overdue".*?</bpmn:boundaryEvent>', "", xml, flags=re.S)
    xml = re.sub(r'<bpmn:scriptTask id="escalate".*?</bpmn:scriptTask>', "", xml, flags=re.S)
    for flow in (
        '<bpmn:sequenceFlow id="f8" sourceRef="overdue" targetRef="escalate" />',
        '<bpmn:sequenceFlow id="f9" sourceRef="escalate" targetRef="close" />',
        "<bpmn:incoming>f9</bpmn:incoming>",
    ):
        assert flow in xml
        xml = xml.replace(flow, "")
    return xml


def test_a_removed_activity_with_a_boundary_timer_maps_to_a_plain_task_and_its_timer_goes(Session, clock, deploy):
    from engine.doctor import scan

    engine = FreshEngine(clock)
    deploy(files(V1))
    with Session.begin() as session:  # on 办理 (handle), its 超期 timer waiting
        instance = engine.start(session, "demo", {"title": "t", "lead_unit": "zjj"}, actor="alice")
        engine.complete_task(session, engine.ready_tasks(session, instance.id)[0].id, {}, "alice")
        instance_id = instance.id
        assert engine.get_instance(session, instance_id).next_timer_at is not None
    deploy(files(_without_handle()))
    with Session.begin() as session:
        [refused] = migration.preview_migration(session, engine, "demo")
        [result] = migration.migrate(session, engine, "demo", mapping={"handle": "handle_new"})
    assert "task handle (READY) is not in version 2; map it to an activity of version 2" in refused.reason
    assert "BoundaryEventSplit" not in refused.reason  # the library's parts are not the designer's business
    assert result.migrated and "handle mapped → handle_new (新承办)" in result.line()
    with Session() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.status == "running" and instance.next_timer_at is None  # the old timer waits no more
        assert [(t.bpmn_id, t.name) for t in engine.ready_tasks(session, instance_id)] == [("handle_new", "新承办")]
        assert scan(session, engine).ok  # doctor: task list and timer column agree with the state
        [row] = engine.ready_tasks(session, instance_id)
    with Session.begin() as session:
        engine.complete_task(session, row.id, {"needs_material": False, "outcome": "solved"}, "bob")
    with Session() as session:
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["review"]


@pytest.mark.parametrize(
    ("mapping", "code", "words"),
    [
        ({"nope": "review"}, "unknown_old", "no element 'nope' in the version(s) the instances run on"),
        ({"leader_review": "nope"}, "unknown_new", "no element 'nope' in version 2"),
        ({"handle": "review"}, "not_removed", "'handle' is still in version 2; only removed activities are mapped"),
        ({"leader_review": "material"}, "not_activity", "'material' (ExclusiveGateway) is not a task"),
        ({"leader_review": "wait_material"}, "not_activity", "is not a task; map to a task"),
        ({"leader_review": "inner"}, "other_process", "'inner' is in process sub, not in 'demo' where 'leader_review'"),
        ({"sub/leader_review": "review"}, "unknown_old", "no element 'leader_review'"),
    ],
)
def test_a_wrong_mapping_is_refused_with_the_reason_and_nothing_moves(Session, clock, deploy, mapping, code, words):
    engine = FreshEngine(clock)
    deploy(files(V1))
    instance_id = _overdue_case(engine, Session, clock)
    # version 2 with an embedded sub-process after 复核, holding its own task ``inner``
    with_sub = V2.replace(
        '<bpmn:sequenceFlow id="f4b" sourceRef="review" targetRef="material" />',
        """<bpmn:sequenceFlow id="f4b" sourceRef="review" targetRef="sub" />
    <bpmn:subProcess id="sub" name="会商">
      <bpmn:incoming>f4b</bpmn:incoming><bpmn:outgoing>f4c</bpmn:outgoing>
      <bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />
      <bpmn:userTask id="inner" name="会商意见"><bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>
      <bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end" />
      <bpmn:endEvent id="sub_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f4c" sourceRef="sub" targetRef="material" />""",
    ).replace(
        "<bpmn:incoming>f4b</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>",
        "<bpmn:incoming>f4c</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>",
    )
    assert "f4c" in with_sub
    deploy(files(with_sub))
    with Session.begin() as session, pytest.raises(InvalidRequest, match="mapping") as error:
        migration.migrate(session, engine, "demo", 2, actor="designer", mapping=mapping)
    assert error.value.details["code"] == code and words in error.value.message
    with Session() as session:
        assert engine.get_instance(session, instance_id).process_version.version == 1
        assert "migrate" not in [a.action for a in engine.history(session, instance_id)]
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["leader_review"]


def _with_sub(steps: list[tuple[str, str, str]]) -> bytes:
    """A process whose embedded sub-process 会商 runs the given user tasks (id, name, group) in turn."""
    ids = ["sub_start"] + [s[0] for s in steps] + ["sub_end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="sf{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(zip(ids, ids[1:]))
    )
    tasks = "".join(
        f'<bpmn:userTask id="{i}" name="{n}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="candidateGroups" value="\'{g}\'" /></spiffworkflow:properties>'
        f"</bpmn:extensionElements></bpmn:userTask>"
        for i, n, g in steps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="subdemo" name="会商示范" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub" />
    <bpmn:subProcess id="sub" name="会商">
      <bpmn:startEvent id="sub_start" />{tasks}<bpmn:endEvent id="sub_end" />{flows}
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after" />
    <bpmn:userTask id="after" name="归档"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="candidateGroups" value="'wg:city'" /></spiffworkflow:properties>
    </bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_removed_task_of_an_embedded_sub_process_maps_within_that_sub_process(Session, clock, deploy):
    engine = FreshEngine(clock)
    deploy({"subdemo.bpmn": _with_sub([("ask", "征求意见", "unit:zjj"), ("sign", "会签", "leader:city")])})
    with Session.begin() as session:
        instance = engine.start(session, "subdemo", {}, actor="alice")
        instance_id = instance.id
    with Session.begin() as session:
        [ask] = engine.ready_tasks(session, instance_id)
        engine.complete_task(session, ask.id, {}, "bob")
    [(sign_id, _, _)] = _ready(engine, Session, instance_id)  # 会签, inside the sub-process
    # version 2: 会签 is gone; 确认 comes first (in 会签's place the library would align them itself)
    deploy({"subdemo.bpmn": _with_sub([("confirm", "确认", "head:zjj"), ("ask", "征求意见", "unit:zjj")])})
    with Session.begin() as session:
        with pytest.raises(InvalidRequest, match="'after' is in process subdemo, not in 'sub'"):
            migration.migrate(session, engine, "subdemo", mapping={"sign": "after"})
        [refused] = migration.preview_migration(session, engine, "subdemo")
        [result] = migration.migrate(session, engine, "subdemo", mapping={"sub/sign": "confirm"}, actor="designer")
    assert refused.needs_mapping == [{"process_id": "sub", "element_id": "sign", "name": "会签"}]
    assert result.migrated
    with Session() as session:
        assert _ready(engine, Session, instance_id) == [(sign_id, "confirm", "确认")]
        assert session.get(HumanTask, sign_id).candidate_groups == ["head:zjj"]
        assert engine.history(session, instance_id)[-1].data["mapping"] == {"sub/sign": "confirm"}
    with Session.begin() as session:  # 确认, then 征求意见 again, then out of the sub-process
        engine.complete_task(session, sign_id, {}, "head.zjj")
    [(ask_id, ask_again, _)] = _ready(engine, Session, instance_id)
    assert ask_again == "ask"
    with Session.begin() as session:
        engine.complete_task(session, ask_id, {}, "bob")
    [(after_id, after, _)] = _ready(engine, Session, instance_id)
    assert after == "after"
    with Session.begin() as session:
        engine.complete_task(session, after_id, {}, "wg.city")
    with Session() as session:
        assert engine.get_instance(session, instance_id).status == "completed"

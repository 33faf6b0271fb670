"""Called processes follow their binding (issue 15 item 4): ``latest`` (default) runs the called
process's latest version when the call is reached, and keeps it once recorded; ``deployment``
runs the copy deployed with the caller; ``version`` a fixed version. Runs with one engine and with
a fresh engine per step (nothing in memory decides the version)."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import ProcessVersion

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" name="主流程" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="before" />
    <bpmn:userTask id="before" name="调用之前">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidateGroups" value="'wg:city'" /></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="before" targetRef="call" />
    <bpmn:callActivity id="call" name="调用" calledElement="bind_callee">
      {props}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_callee" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bind_callee" name="被调用流程" isExecutable="true">
    <bpmn:startEvent id="c_start"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="c_task" />
    <bpmn:userTask id="c_task" name="{name}">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidateGroups" value="'wg:city'" /></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="c2" sourceRef="c_task" targetRef="c_end" />
    <bpmn:endEvent id="c_end"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def binding_props(binding: str, version: int | None = None) -> str:
    props = f'<spiffworkflow:property name="calledElementBinding" value="{binding}" />'
    if version is not None:
        props += f'<spiffworkflow:property name="calledElementVersion" value="{version}" />'
    return (
        f"<bpmn:extensionElements><spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements>"
    )


def callee(name: str) -> bytes:
    return CALLEE.format(name=name).encode()


def start_and_reach_call(Session, engine, pid: str) -> int:
    with Session.begin() as s:
        instance_id = engine.start(s, pid, {}).id
    with Session.begin() as s:
        (task,) = engine.ready_tasks(s, instance_id)
        engine.complete_task(s, task.id, {}, "wg.city")
    return instance_id


def ready_names(Session, engine, instance_id: int) -> list[str]:
    with Session() as s:
        return [t.name for t in engine.ready_tasks(s, instance_id)]


def version_id(Session, process_id: str, version: int) -> int:
    with Session() as s:
        return s.scalar(
            select(ProcessVersion.id).where(ProcessVersion.process_id == process_id, ProcessVersion.version == version)
        )


def test_latest_binding_takes_the_version_deployed_when_the_call_is_reached_and_keeps_it(Session, engine, deploy):
    deploy({"caller.bpmn": CALLER.format(pid="bind_latest", props="").encode(), "callee.bpmn": callee("甲")})
    with Session.begin() as s:
        waiting = engine.start(s, "bind_latest", {}).id  # started before the new callee version
    deploy({"callee.bpmn": callee("乙")})  # a new version of the called process only
    with Session.begin() as s:
        (task,) = engine.ready_tasks(s, waiting)
        engine.complete_task(s, task.id, {}, "wg.city")
    assert ready_names(Session, engine, waiting) == ["乙"]  # the new version reached this call
    v2 = version_id(Session, "bind_callee", 2)
    with Session() as s:
        assert engine.get_instance(s, waiting).called_versions == {"bind_callee": v2}
    deploy({"callee.bpmn": callee("丙")})
    assert ready_names(Session, engine, waiting) == ["乙"]  # recorded: a later version changes nothing
    with Session.begin() as s:
        (task,) = engine.ready_tasks(s, waiting)
        engine.complete_task(s, task.id, {}, "wg.city")
        assert engine.get_instance(s, waiting).status == "completed"
    newer = start_and_reach_call(Session, engine, "bind_latest")
    assert ready_names(Session, engine, newer) == ["丙"]


def test_deployment_binding_runs_the_copy_deployed_with_the_caller(Session, engine, deploy):
    deploy(
        {
            "caller.bpmn": CALLER.format(pid="bind_deployment", props=binding_props("deployment")).encode(),
            "callee.bpmn": callee("甲"),
        }
    )
    deploy({"callee.bpmn": callee("乙")})
    instance_id = start_and_reach_call(Session, engine, "bind_deployment")
    assert ready_names(Session, engine, instance_id) == ["甲"]
    with Session() as s:
        assert engine.get_instance(s, instance_id).called_versions == {"bind_callee": 0}


def test_version_binding_runs_the_fixed_version(Session, engine, deploy):
    deploy({"callee.bpmn": callee("甲")})
    deploy({"callee.bpmn": callee("乙")})
    deploy({"callee.bpmn": callee("丙")})
    deploy(
        {
            "caller.bpmn": CALLER.format(pid="bind_fixed", props=binding_props("version", 2)).encode(),
            "callee.bpmn": callee("丙"),
        }
    )
    instance_id = start_and_reach_call(Session, engine, "bind_fixed")
    assert ready_names(Session, engine, instance_id) == ["乙"]

"""The scenarios of the processes on either side of a call run at deploy (issue 15): changing
only a caller runs the called process's scenarios too, and changing only a called process runs
its callers' scenarios."""

from __future__ import annotations

import json

import pytest

from engine.parsing import BundleError
from engine.scenarios import related_processes, scenarios_for

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_caller" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="caller" name="主流程" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:callActivity id="call" name="{call_name}" calledElement="callee">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="done" />
    <bpmn:scriptTask id="done" name="记录">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="summary" value="{{'answer': answer}}" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>finished = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="done" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
CALLEE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_callee" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="callee" name="子流程" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:scriptTask id="compute" name="计算">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>answer = {answer}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def files(call_name: str = "调用子流程", answer: int = 42) -> dict[str, bytes]:
    return {
        "caller.bpmn": CALLER.format(call_name=call_name).encode(),
        "callee.bpmn": CALLEE.format(answer=answer).encode(),
    }


def scenario(process: str, name: str, expect: dict) -> str:
    return json.dumps(
        {"process": process, "scenarios": [{"name": name, "data": {}, "expect": expect}]}, ensure_ascii=False
    )


def _deploy(engine, Session, bundle, **kw):
    with Session.begin() as session:
        return engine.deploy(session, bundle, "designer", **kw)


def test_changing_only_the_caller_runs_the_called_process_scenarios(engine, Session, tmp_path):
    _deploy(engine, Session, files())
    # the called process's own test, which the caller's change does not touch
    (tmp_path / "callee.scenarios.json").write_text(
        scenario("callee", "子流程算出答案", {"status": "completed", "variables": {"answer": 41}}), encoding="utf-8"
    )
    changed = files(call_name="调用子流程（改名）")
    with pytest.raises(BundleError) as caught:
        _deploy(engine, Session, changed, scenario_dir=tmp_path)
    messages = [p.message for p in caught.value.problems]
    assert any("流程测试 callee.scenarios.json“子流程算出答案”未通过" in m for m in messages), messages
    # with the called process's test right, the caller's change deploys
    (tmp_path / "callee.scenarios.json").write_text(
        scenario("callee", "子流程算出答案", {"status": "completed", "variables": {"answer": 42}}), encoding="utf-8"
    )
    assert _deploy(engine, Session, changed, scenario_dir=tmp_path).created == [("caller", 2)]


def test_changing_only_the_called_process_runs_the_callers_scenarios(engine, Session, tmp_path):
    _deploy(engine, Session, files())
    (tmp_path / "caller.scenarios.json").write_text(
        scenario("caller", "主流程拿到答案", {"status": "completed", "summary": {"answer": 42}}), encoding="utf-8"
    )
    with pytest.raises(BundleError) as caught:
        _deploy(engine, Session, files(answer=41), scenario_dir=tmp_path)
    messages = [p.message for p in caught.value.problems]
    assert any("流程测试 caller.scenarios.json“主流程拿到答案”未通过" in m for m in messages), messages


def test_the_scenarios_picked_for_a_changed_process_include_both_sides_of_its_calls(tmp_path):
    for process in ("caller", "callee", "other"):
        (tmp_path / f"{process}.scenarios.json").write_text(scenario(process, "x", {}), encoding="utf-8")
    bundle = files()
    assert related_processes(bundle, ["caller"]) == {"caller", "callee"}
    assert related_processes(bundle, ["callee"]) == {"caller", "callee"}
    picked = {p.name for p in scenarios_for(tmp_path, bundle, ["caller"])}
    assert picked == {"caller.scenarios.json", "callee.scenarios.json"}
    picked = {p.name for p in scenarios_for(tmp_path, bundle, ["callee"])}
    assert picked == {"caller.scenarios.json", "callee.scenarios.json"}

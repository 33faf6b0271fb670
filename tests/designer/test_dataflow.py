"""Data-flow check at deploy (issue 15): a condition, DMN input or task property that reads a
variable no form, script or rule produces is refused with file, line and element, in Chinese
first and English second; what the shipped processes and sound designs read passes."""

from __future__ import annotations

import json

import pytest

from engine.config import ROOT
from engine.dataflow import read_names
from engine.deploy import collect_files, plan
from engine.models import ProcessVersion
from engine.parsing import BundleError

FILES = collect_files(ROOT / "processes", ROOT / "forms")


def problems_of(files: dict[str, bytes]) -> list:
    with pytest.raises(BundleError) as caught:
        plan(files)
    return caught.value.problems


def edited(name: str, old: str, new: str) -> dict[str, bytes]:
    text = FILES[name].decode()
    assert old in text
    return {**FILES, name: text.replace(old, new, 1).encode()}


def line_of(name: str, text: str, files=FILES) -> int:
    return next(i for i, line in enumerate(files[name].decode().splitlines(), 1) if text in line)


def test_the_shipped_processes_deploy_clean():
    assert set(plan(FILES).processes) >= {"ztc_case", "ztc_leader", "ztc_decision_items", "ztc_return_visit"}


def test_a_misspelt_field_in_a_shipped_condition_is_refused_at_its_flow_and_line():
    files = edited("case.bpmn", "intake_decision == 'reject'", "intake_decison == 'reject'")
    [problem] = problems_of(files)
    assert (problem.file, problem.element_id) == ("case.bpmn", "Flow_Gateway_intake_End_rejected")
    assert problem.line == line_of("case.bpmn", "intake_decison == 'reject'", files)
    assert problem.message.startswith("条件读取的变量 intake_decison 在流程中没有任何表单、脚本或规则产生")
    assert "（是否应为 intake_decision？）" in problem.message
    assert (
        "the condition reads 'intake_decison'" in problem.message
        and "did you mean 'intake_decision'?" in problem.message
    )


def test_a_misspelt_dmn_input_is_refused_at_the_table_input_naming_the_task():
    files = edited("deadline.dmn", "<text>urgency</text>", "<text>urgncy</text>")
    [problem] = problems_of(files)
    assert problem.file == "deadline.dmn" and problem.line == line_of("deadline.dmn", "<text>urgncy</text>", files)
    assert "决策表" in problem.message and "urgncy" in problem.message and "业务规则任务" in problem.message


def test_a_summary_reading_an_unknown_name_in_a_called_process_is_refused_there():
    text = FILES["leader.bpmn"].decode()
    old = "'leader_instruction': instruction}"
    files = edited("leader.bpmn", old, "'leader_instruction': instructoin}")
    [problem] = problems_of(files)
    assert problem.file == "leader.bpmn" and problem.element_id and problem.line
    assert "属性 summary 读取的变量 instructoin" in problem.message and "the property summary reads" in problem.message
    assert text.count(old) == 1


# -- a small process with a review form ---------------------------------------------------------
SUBMIT = {"type": "object", "properties": {"title": {"type": "string", "title": "标题"}}}
REVIEW = {
    "type": "object",
    "properties": {"approved": {"type": "boolean", "title": "同意"}, "note": {"type": "string", "title": "意见"}},
}
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_review" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="review" name="审批" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="submit.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:scriptTask id="prepare" name="准备">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>rounds = 0
checked = [t for t in [title] if t]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="check" />
    <bpmn:userTask id="check" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
        <spiffworkflow:property name="candidateGroups" value="'wg:city'" />
        <spiffworkflow:property name="dueDate" value="add_workdays(now(), 3)" />
        <spiffworkflow:property name="summary" value="{SUMMARY}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="同意？" default="f5">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f4" name="同意" sourceRef="gw" targetRef="yes">
      <bpmn:conditionExpression>{CONDITION}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="no" />
    <bpmn:endEvent id="yes"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="no"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def review(
    condition: str = "approved", summary: str = "{'title': title, 'note': note}", start_form: bool = True
) -> dict[str, bytes]:
    bpmn = BPMN.replace("{CONDITION}", condition).replace("{SUMMARY}", summary)
    if not start_form:
        bpmn = bpmn.replace('<spiffworkflow:property name="formJsonSchemaFilename" value="submit.schema.json" />', "")
    return {
        "review.bpmn": bpmn.encode(),
        "submit.schema.json": json.dumps(SUBMIT).encode(),
        "review.schema.json": json.dumps(REVIEW).encode(),
    }


def test_the_review_process_as_designed_deploys():
    assert plan(review()).processes == {"review": ["review.bpmn", "review.schema.json", "submit.schema.json"]}


def test_a_condition_reading_aproved_is_refused_with_the_flow_and_line(engine, Session):
    files = review(condition="aproved")
    with pytest.raises(BundleError) as caught, Session.begin() as session:
        engine.deploy(session, files, "designer", origin="web")
    [problem] = caught.value.problems
    assert (problem.file, problem.element_id, problem.line) == (
        "review.bpmn",
        "f4",
        line_of("review.bpmn", "aproved", files),
    )
    assert problem.message == (
        "条件读取的变量 aproved 在流程中没有任何表单、脚本或规则产生（是否应为 approved？） / the condition "
        "reads 'aproved', which no form, script or rule of the process produces (did you mean "
        "'approved'?)"
    )
    with Session() as session:
        assert session.query(ProcessVersion).count() == 0


@pytest.mark.parametrize(
    "condition",
    [
        "approved and rounds == 0",  # a form field and a script's variable
        "extra if 'extra' in vars() else approved",  # guarded
        "vars().get('extra', False) or approved",  # guarded
        "len([x for x in checked if x]) > 0 and approved",  # builtin, comprehension variable
        "case_no is not None and title != ''",  # what the engine and the start form give
    ],
)
def test_sound_conditions_pass(condition):
    assert plan(review(condition=condition)).processes


def test_a_summary_reading_an_unknown_name_is_refused_at_its_property():
    files = review(summary="{'title': title, 'note': notes}")
    [problem] = problems_of(files)
    assert (problem.element_id, problem.line) == ("check", line_of("review.bpmn", 'name="summary"', files))
    assert "属性 summary 读取的变量 notes" in problem.message and "did you mean 'note'?" in problem.message


def test_a_process_started_by_code_without_a_start_form_is_not_judged():
    # its start data is not described by any file: the check cannot know what is there
    assert plan(review(condition="aproved", start_form=False)).processes


@pytest.mark.parametrize(
    "source, names",
    [
        ("a + b", ["a", "b"]),
        ("x if 'x' in dir() else y", ["y"]),
        ("add_workdays(now(), n)", ["n"]),
        ("{k: v for k, v in d.items()}", ["d"]),
        ("(lambda q: q + r)(1)", ["r"]),
        ("sorted(item['unit'] for item in items)", ["items"]),
    ],
)
def test_the_names_an_expression_reads(source, names):
    assert read_names(source) == names

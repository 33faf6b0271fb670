"""Data-flow check at deploy (issue 15): a condition, DMN input or task property that reads a
variable no form, script or rule produces *before it* (on some path) is refused with file, line
and element, in Chinese first and English second, naming the element that produces it only later
or elsewhere; what the shipped processes and sound designs read passes."""

from __future__ import annotations

import io
import json

import pytest

from engine.config import ROOT
from engine.deploy import collect_files, plan
from engine.exprnames import read_names
from engine.models import ProcessVersion
from engine.parsing import BundleError
from tests.designer_web.conftest import real_app, real_as_user  # noqa: F401 - the upload page's fixtures

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


def test_a_summary_key_does_not_hide_the_name_it_reads():
    # {'notes': notes}: the key is the same word as the variable, which no form produces
    [problem] = problems_of(review(summary="{'title': title, 'notes': notes}"))
    assert problem.element_id == "check" and "属性 summary 读取的变量 notes" in problem.message


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
        # a summary's keys repeat the names it reads: a string elsewhere is no guard
        ("{'approved': approved, 'note': note}", ["approved", "note"]),
        ("vars().get('approved') or note", ["note"]),
        ("approved if 'approved' not in ('x',) else 0", []),
    ],
)
def test_the_names_an_expression_reads(source, names):
    assert read_names(source) == names


# -- path-precise: a name counts when it is produced on some path *before* the reader -------------
LATER = {"type": "object", "properties": {"later_field": {"type": "string", "title": "后填"}}}
FORMS = {"submit.schema.json": SUBMIT, "review.schema.json": REVIEW, "later.schema.json": LATER}
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Message_withdraw" name="withdraw" />
  <bpmn:process id="{pid}" isExecutable="true">
"""


def props(**values: str) -> str:
    names = {"form": "formJsonSchemaFilename"}
    items = "".join(f'<spiffworkflow:property name="{names.get(k, k)}" value="{v}" />' for k, v in values.items() if v)
    return (
        f"<bpmn:extensionElements><spiffworkflow:properties>{items}</spiffworkflow:properties></bpmn:extensionElements>"
    )


def user(task_id: str, **values: str) -> str:
    return f'<bpmn:userTask id="{task_id}">{props(**values)}</bpmn:userTask>'


def flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


def process(pid: str, *elements: str, start_form: str | None = "submit.schema.json") -> str:
    start = f'<bpmn:startEvent id="start">{props(form=start_form) if start_form else ""}</bpmn:startEvent>'
    body = "\n    ".join([start, *elements])
    return HEAD.format(pid=pid) + f"    {body}\n  </bpmn:process>\n</bpmn:definitions>\n"


def bundle(**bpmn: str) -> dict[str, bytes]:
    files = {f"{name}.bpmn": text.encode() for name, text in bpmn.items()}
    return files | {name: json.dumps(schema).encode() for name, schema in FORMS.items()}


def gateway(gw_id: str, default: str) -> str:
    return f'<bpmn:exclusiveGateway id="{gw_id}" default="{default}" />'


# start -> gw (approved? -> end_yes, else -> check -> end_no): the review comes after the gateway
DECIDE_FIRST = process(
    "decide",
    gateway("gw", "f_no"),
    flow("f1", "start", "gw"),
    flow("f_yes", "gw", "end_yes", "approved"),
    flow("f_no", "gw", "check"),
    user("check", form="review.schema.json"),
    flow("f2", "check", "end_no"),
    '<bpmn:endEvent id="end_yes" />',
    '<bpmn:endEvent id="end_no" />',
)


def test_a_condition_reading_a_field_only_a_later_task_produces_is_refused_naming_that_task():
    files = bundle(decide=DECIDE_FIRST)
    [problem] = problems_of(files)
    assert (problem.file, problem.element_id) == ("decide.bpmn", "f_yes")
    assert problem.line == line_of("decide.bpmn", ">approved<", files)
    assert problem.message == (
        "条件读取的变量 approved 由 check 产生，但 check 在 gw 之后 / "
        "the condition reads 'approved', which check produces, but check comes only after gw"
    )


def test_a_field_produced_before_on_one_branch_only_passes():
    # may-analysis: on the branch through check the field is there (on the other it is not)
    files = bundle(
        one_branch=process(
            "one_branch",
            gateway("split", "f_skip"),
            flow("f1", "start", "split"),
            flow("f_review", "split", "check", "title != ''"),
            flow("f_skip", "split", "merge"),
            user("check", form="review.schema.json"),
            flow("f2", "check", "merge"),
            gateway("merge", "f3"),
            flow("f3", "merge", "gw"),
            gateway("gw", "f_no"),
            flow("f_yes", "gw", "end_yes", "approved"),
            flow("f_no", "gw", "end_no"),
            '<bpmn:endEvent id="end_yes" />',
            '<bpmn:endEvent id="end_no" />',
        )
    )
    assert plan(files).processes == {"one_branch": ["one_branch.bpmn", "review.schema.json", "submit.schema.json"]}


LOOP = process(
    "loop",
    flow("f1", "start", "merge"),
    gateway("merge", "f2"),
    flow("f2", "merge", "check"),
    user("check", form="review.schema.json", summary="{SUMMARY}"),
    flow("f3", "check", "gw"),
    gateway("gw", "f_again"),
    flow("f_done", "gw", "end", "approved"),
    flow("f_again", "gw", "revise"),
    user("revise", form="later.schema.json"),
    flow("f4", "revise", "merge"),
    '<bpmn:endEvent id="end" />',
)


def test_a_loop_back_makes_what_a_later_task_produces_count_on_the_next_round():
    # later_field is filled in by revise, after check; the flow loops back to check
    assert plan(bundle(loop=LOOP.replace("{SUMMARY}", "{'asked': later_field}"))).processes
    [problem] = problems_of(bundle(loop=LOOP.replace("{SUMMARY}", "{'asked': latr_field}")))
    assert "没有任何表单、脚本或规则产生（是否应为 later_field？）" in problem.message


def test_a_tasks_own_form_counts_for_its_summary_but_not_for_its_candidate_groups():
    # summary is evaluated when the task completes, candidateGroups when it is offered (before)
    assert plan(review(summary="{'said': note, 'ok': approved}")).processes
    files = review()
    text = files["review.bpmn"].decode().replace("value=\"'wg:city'\"", "value=\"'unit:' + note\"")
    [problem] = problems_of({**files, "review.bpmn": text.encode()})
    assert problem.element_id == "check" and problem.line == line_of("review.bpmn", "candidateGroups", files)
    assert problem.message == (
        "属性 candidateGroups 读取的变量 note 由 check 自己产生，但读取时 check 尚未完成 / "
        "the property candidateGroups reads 'note', which check itself produces, but it is read before check completes"
    )


# a boundary timer on the review: what the timer's path reads was there before the review began
BOUNDARY = process(
    "boundary",
    flow("f1", "start", "check"),
    user("check", form="review.schema.json"),
    flow("f2", "check", "end"),
    '<bpmn:boundaryEvent id="timeout" attachedToRef="check"><bpmn:timerEventDefinition id="tdef">'
    "<bpmn:timeDuration>'P3D'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>",
    flow("f3", "timeout", "gw"),
    gateway("gw", "f_no"),
    flow("f_yes", "gw", "end_late", "{CONDITION}"),
    flow("f_no", "gw", "end_late2"),
    '<bpmn:endEvent id="end" />',
    '<bpmn:endEvent id="end_late" />',
    '<bpmn:endEvent id="end_late2" />',
)


def test_the_path_of_a_boundary_event_does_not_see_what_its_activity_produces():
    assert plan(bundle(boundary=BOUNDARY.replace("{CONDITION}", "title == ''"))).processes
    [problem] = problems_of(bundle(boundary=BOUNDARY.replace("{CONDITION}", "approved")))
    assert problem.element_id == "f_yes"
    assert problem.message.startswith("条件读取的变量 approved 由 check 产生，但 check 不在 gw 之前的任何路径上")


# -- embedded sub-processes: the parent's data goes in, what it produces comes out ---------------
def with_subprocess(before: str, after: str) -> dict[str, bytes]:
    inner = (
        '<bpmn:startEvent id="sub_start" />'
        + user("fill", form="later.schema.json", summary="{'t': title}")
        + '<bpmn:endEvent id="sub_end" />'
        + flow("s1", "sub_start", "fill")
        + flow("s2", "fill", "sub_end")
    )
    return bundle(
        nested=process(
            "nested",
            flow("f1", "start", "gw_before"),
            gateway("gw_before", "f_on"),
            flow("f_skip", "gw_before", "end_skip", before),
            flow("f_on", "gw_before", "sub"),
            f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>',
            flow("f2", "sub", "gw_after"),
            gateway("gw_after", "f_no"),
            flow("f_yes", "gw_after", "end_yes", after),
            flow("f_no", "gw_after", "end_no"),
            '<bpmn:endEvent id="end_skip" />',
            '<bpmn:endEvent id="end_yes" />',
            '<bpmn:endEvent id="end_no" />',
        )
    )


def test_an_embedded_subprocess_sees_the_parent_data_and_gives_back_what_it_produces():
    assert plan(with_subprocess(before="title == ''", after="later_field != ''")).processes


def test_a_condition_before_an_embedded_subprocess_reading_what_it_produces_is_refused():
    [problem] = problems_of(with_subprocess(before="later_field == ''", after="later_field != ''"))
    assert problem.element_id == "f_skip"
    assert problem.message.startswith(
        "条件读取的变量 later_field 由 fill（sub 中）产生，但 fill（sub 中）不在 gw_before"
    )


# -- called processes: the caller's data before the call goes in ----------------------------------
CALLER = process(
    "caller",
    flow("f1", "start", "check"),
    user("check", form="review.schema.json"),
    flow("f2", "check", "call"),
    '<bpmn:callActivity id="call" calledElement="callee" />',
    flow("f3", "call", "fill_later"),
    user("fill_later", form="later.schema.json"),
    flow("f4", "fill_later", "end"),
    '<bpmn:endEvent id="end" />',
)


def callee(condition: str) -> str:
    return process(
        "callee",
        flow("c1", "start", "cgw"),
        gateway("cgw", "c_no"),
        flow("c_yes", "cgw", "cend_yes", condition),
        flow("c_no", "cgw", "cend_no"),
        '<bpmn:endEvent id="cend_yes" />',
        '<bpmn:endEvent id="cend_no" />',
        start_form=None,
    )


def test_a_called_process_reads_what_its_caller_produces_before_the_call():
    assert set(plan(bundle(caller=CALLER, callee=callee("approved and title != ''"))).processes) == {
        "caller",
        "callee",
    }


def test_a_called_process_reading_what_its_caller_produces_only_after_the_call_is_refused():
    files = bundle(caller=CALLER, callee=callee("later_field != ''"))
    [problem] = problems_of(files)
    assert (problem.file, problem.element_id) == ("callee.bpmn", "c_yes")
    assert problem.message == (
        "条件读取的变量 later_field 由 fill_later（caller 中）产生，但 fill_later（caller 中）不在 cgw 之前的任何路径上 / "
        "the condition reads 'later_field', which fill_later (in caller) produces, but fill_later (in caller) "
        "is on no path before cgw"
    )


# -- event sub-processes start with the data the process started with ----------------------------
def withdrawing(summary: str) -> dict[str, bytes]:
    return bundle(
        withdrawing=process(
            "withdrawing",
            flow("f1", "start", "check"),
            user("check", form="review.schema.json"),
            flow("f2", "check", "end"),
            '<bpmn:endEvent id="end" />',
            '<bpmn:subProcess id="on_withdraw" triggeredByEvent="true">'
            '<bpmn:startEvent id="withdraw_start"><bpmn:messageEventDefinition id="wdef" messageRef="Message_withdraw">'
            "<bpmn:extensionElements><spiffworkflow:messageVariable>withdrawal</spiffworkflow:messageVariable>"
            "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:startEvent>"
            f'<bpmn:scriptTask id="record">{props(summary=summary)}<bpmn:script>reason = withdrawal.get("reason")'
            "</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="withdrawn" />'
            + flow("w1", "withdraw_start", "record")
            + flow("w2", "record", "withdrawn")
            + "</bpmn:subProcess>",
        )
    )


def test_an_event_subprocess_reads_the_start_data_and_its_message():
    assert plan(withdrawing("{'t': title, 'why': reason, 'no': case_no}")).processes


def test_an_event_subprocess_reading_what_the_process_produced_since_it_started_is_refused():
    files = withdrawing("{'why': reason, 'ok': approved}")
    [problem] = problems_of(files)
    assert (problem.file, problem.element_id) == ("withdrawing.bpmn", "record")
    assert problem.message.startswith(
        "属性 summary 读取的变量 approved 由 check（withdrawing 中）产生，但 check（withdrawing 中）不在 record 之前的任何路径上"
        "（事件子流程只带有其所在流程开始时的数据）"
    )
    assert "(an event sub-process gets the data its process started with)" in problem.message


# a Camunda throw event names the variable its message sets where it is caught (not at the thrower)
CAMUNDA_MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="M_go" name="go" />
  <bpmn:message id="M_answer" name="answer" />
  <bpmn:process id="asking" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:messageEventDefinition id="sdef" messageRef="M_go" /></bpmn:startEvent>
    <bpmn:parallelGateway id="split" />
    <bpmn:intermediateThrowEvent id="tell">
      <bpmn:messageEventDefinition id="tdef" messageRef="M_answer" camunda:expression="'yes'"
                                   camunda:resultVariable="answer" />
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="hear">
      <bpmn:messageEventDefinition id="hdef" messageRef="M_answer" />
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="tell" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="hear" />
    <bpmn:sequenceFlow id="f4" sourceRef="tell" targetRef="e1" />
    <bpmn:sequenceFlow id="f5" sourceRef="hear" targetRef="gw" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="e2">
      <bpmn:conditionExpression>COND</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="e3" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_camunda_message_variable_is_produced_where_the_message_is_caught():
    assert plan({"asking.bpmn": CAMUNDA_MESSAGE.replace("COND", "answer == 'yes'").encode()}).processes
    [problem] = problems_of({"asking.bpmn": CAMUNDA_MESSAGE.replace("COND", "anwser == 'yes'").encode()})
    assert problem.element_id == "f_yes" and "did you mean 'answer'?" in problem.message


# -- what a designer sees on the upload page ------------------------------------------------------


def test_the_upload_page_marks_the_condition_reading_a_later_field(real_as_user, Session):
    client = real_as_user("designer")
    files = bundle(decide=DECIDE_FIRST)
    data = {"action": "validate", "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    response = client.post("/designer/deploy", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="problem" data-file="decide.bpmn" data-element="f_yes"' in html
    assert f'<td data-label="行" class="p-line">{line_of("decide.bpmn", ">approved<", files)}</td>' in html
    assert "条件读取的变量 approved 由 check 产生，但 check 在 gw 之后" in html
    assert "which check produces, but check comes only after gw" in html
    assert 'data-markers=\'{"f_yes": "problem"}\'' in html
    with Session() as session:
        assert session.query(ProcessVersion).filter_by(process_id="decide").count() == 0

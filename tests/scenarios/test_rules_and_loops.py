"""Rules live in the DMN tables and the calendar file; loops do not grow the case."""

from __future__ import annotations

import json
import re

from engine.runtime import Engine
from engine.workdays import WorkCalendar

from .driver import PROCESSES, beijing, project_files, submit
from .test_case_paths import CITY_WG, accept_and_dispatch, assert_closed, dispatch, review_and_visit, unit_submits


def test_changing_a_table_value_changes_new_cases(Session, engine, clock, deploy, deployed):
    old = submit(Session, engine, clock, urgency="紧急")
    table = (PROCESSES / "deadline.dmn").read_text(encoding="utf-8")
    # 紧急 × 快速办: 7 → 4 working days
    changed, n = re.subn(
        r'(<inputEntry id="ztc_deadline_rule5_in0">\s*<text>"紧急"</text>.*?'
        r'<outputEntry id="ztc_deadline_rule5_out0">\s*<text>)7(</text>)',
        r"\g<1>4\2",
        table,
        flags=re.S,
    )
    assert n == 1
    result = deploy(project_files(**{"deadline.dmn": changed.encode("utf-8")}))
    assert ("ztc_case", 2) in result.created
    new = submit(Session, engine, clock, urgency="紧急")
    for case in (old, new):
        accept_and_dispatch(case, mode="快速办")
    assert old.summary["deadline_days"] == 7  # a running case keeps the rules it started with
    assert new.summary["deadline_days"] == 4
    assert new.summary["deadline"] == "2026-03-06T17:30:00+08:00"


def test_supervision_rules_table_sets_escalation_days(Session, engine, clock, deploy, deployed):
    table = (PROCESSES / "supervision_rules.dmn").read_text(encoding="utf-8")
    changed = table.replace(
        '<outputEntry id="ztc_supervision_rules_rule1_out0">\n          <text>3</text>',
        '<outputEntry id="ztc_supervision_rules_rule1_out0">\n          <text>1</text>',
    )
    assert changed != table
    deploy(project_files(**{"supervision_rules.dmn": changed.encode("utf-8")}))
    case = submit(Session, engine, clock)
    accept_and_dispatch(case, mode="马上办")  # deadline 03-05; escalation one working day later
    case.move_to(beijing("2026-03-06", "17:31"))
    assert ("领导批示", ["leader:city"]) in case.open_tasks()


def test_calendar_override_changes_a_deadline(Session, clock, deploy, tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"years": {"2026": {"holidays": ["2026-03-03", "2026-03-04"], "workdays": []}}}))
    engine = Engine(clock=clock, calendar=WorkCalendar.from_file(path))
    with Session.begin() as s:
        engine.deploy(s, project_files())
    case = submit(Session, engine, clock)
    accept_and_dispatch(case, mode="马上办")
    assert case.summary["deadline"] == "2026-03-09T17:30:00+08:00"  # instead of 03-05


def test_shipped_calendar_file_loads():
    data = json.loads((PROCESSES / "calendar.json").read_text(encoding="utf-8"))
    assert "years" in data and data["_comment"]
    WorkCalendar.from_file(PROCESSES / "calendar.json")


def _state_size(case) -> int:
    return len(case.instance().state)


def _round(case, round_):
    """One loop: the unit redoes inside the handling, or the WG sends the result back, or
    refuses an extension — each re-enters the handling (and re-arms its timers)."""
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": f"第{round_}次办理", "solved": False})
    kind = round_ % 3
    if kind == 0:
        case.complete("负责人审核", "head:zrzyj", {"head_decision": "redo", "head_reason": "重拟"})
        case.complete("修改办理结果", "unit:zrzyj", {"handling_result": "重拟", "solved": False})
        case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"})
        case.complete("结果审核", CITY_WG, {"review_decision": "send_back", "review_reason": "未解决"})
    elif kind == 1:
        case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"})
        case.complete("结果审核", CITY_WG, {"review_decision": "send_back", "review_reason": "未解决"})
    else:
        case.complete(
            "负责人审核", "head:zrzyj", {"head_decision": "extension", "extension_days": 1, "head_reason": "需要时间"}
        )
        case.complete("延期审批", CITY_WG, {"extension_approved": False, "extension_comment": "时限内可办结"})


def test_a_case_sent_round_many_times_keeps_its_state_bounded(Session, engine, clock, deployed):
    """Through the database (each step loaded, compacted and saved)."""
    case = submit(Session, engine, clock)
    accept_and_dispatch(case, mode="马上办")
    sizes = {}
    for round_ in range(60):
        _round(case, round_)
        if round_ in (9, 59):
            sizes[round_] = _state_size(case)
    assert sizes[59] < sizes[9] * 1.3, sizes  # bounded, not growing with the rounds
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")
    assert case.completed_task_names().count("结果审核") == 1 + 40


class InMemoryCase:
    """The case workflow driven without a database, but exactly as the engine persists it
    after every step: compacted, serialized without its spec and loaded again."""

    def __init__(self, engine, data):
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        from engine import clock as clock_mod
        from engine.parsing import build_specs, load_bundle
        from engine.serializer import SERIALIZER_VERSION, StateSerializer

        self.TaskState, self.clock_mod, self.engine = TaskState, clock_mod, engine
        bundle = load_bundle(project_files(), validate=False)
        self.spec, self.subs = build_specs(bundle, "ztc_case")
        self.serializer, self.version = StateSerializer("spiff"), SERIALIZER_VERSION
        with clock_mod.using(engine.clock):
            self.wf = BpmnWorkflow(self.spec, self.subs, script_engine=engine.script_engine)
            for task in self.wf.get_tasks(state=TaskState.READY):
                task.data.update(data)
            self.wf.do_engine_steps()
        self.persist()

    def persist(self):
        from engine.compaction import compact

        compact(self.wf)
        self.state = self.serializer.dumps(self.wf)
        self.wf = self.serializer.loads(self.state, self.version, self.spec, self.subs)
        self.wf.script_engine = self.engine.script_engine

    def complete(self, name, group, data):
        with self.clock_mod.using(self.engine.clock):
            (task,) = [
                t for t in self.wf.get_tasks(state=self.TaskState.READY, manual=True) if t.task_spec.bpmn_name == name
            ]
            task.data.update(data)
            task.run()
            self.wf.do_engine_steps()
        self.persist()


def test_a_case_sent_round_a_thousand_times_still_ends_correctly(engine):
    from .driver import submission

    case = InMemoryCase(engine, submission(case_no="ZTC-2026-0001"))
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    case.complete(
        "分级交办",
        CITY_WG,
        {
            "dispatch_action": "dispatch",
            "lead_unit": "zrzyj",
            "coop_units": [],
            "mode": "马上办",
            "deadline_days_override": None,
        },
    )
    sizes = {}
    for round_ in range(1000):
        _round(case, round_)
        if round_ in (9, 999):
            sizes[round_] = (len(case.state), len(case.wf.get_tasks()))
    assert sizes[999][0] < sizes[9][0] * 1.3 and sizes[999][1] <= sizes[9][1] + 5, sizes
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "办结", "solved": True})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"})
    case.complete("结果审核", CITY_WG, {"review_decision": "accept"})
    case.complete("回访评价", CITY_WG, {"satisfaction": "满意"})
    assert case.wf.is_completed()
    assert case.wf.get_tasks(state=case.TaskState.NOT_FINISHED_MASK) == []
    assert case.wf.last_task.task_spec.bpmn_id == "End_closed"


def test_repeated_escalation_and_reopening_stay_bounded(Session, engine, clock, deployed):
    case = submit(Session, engine, clock)
    accept_and_dispatch(case)
    sizes = []
    for round_ in range(40):
        case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "提级", "solved": False})
        case.complete("负责人审核", "head:zrzyj", {"head_decision": "escalation", "head_reason": "需协调"})
        case.complete("领导批示", "leader:city", {"leader_mode": "专题会议", "instruction": "开会"})
        items = [{"content": f"事项{i}", "unit": u, "deadline": "2026-03-20"} for i, u in enumerate(["fgw", "zjj"])]
        case.complete(
            "专题会议纪要",
            CITY_WG,
            {"meeting_date": "2026-03-05", "attendees": ["市长"], "minutes": "纪要", "decision_items": items},
        )
        case.complete("落实议定事项", "unit:fgw", {"item_report": "完成"})
        case.complete("落实议定事项", "unit:zjj", {"item_report": "完成"})
        case.complete("结果审核", CITY_WG, {"review_decision": "send_back", "review_reason": "再办"})
        if round_ in (5, 39):
            sizes.append(_state_size(case))
    assert sizes[1] < sizes[0] * 1.3, sizes
    unit_submits(case)
    review_and_visit(case, satisfaction="不满意")
    case.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "reopen"})
    dispatch(case)
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")

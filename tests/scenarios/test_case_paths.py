"""Every path of the 直通车 case process, as the people involved see it.

The clock starts on Monday 2026-03-02, 09:00 Beijing time. Working days follow the
official calendar; deadlines are 17:30 Beijing time of a working day.
"""

from __future__ import annotations

import pytest

from engine import cases
from engine.errors import MessageNotAccepted, NotFound

from .driver import beijing

CITY_WG, LEADERS = "wg:city", "leader:city"


def dispatch(case, group=CITY_WG, lead="zrzyj", coop=(), mode="马上办", **extra):
    case.complete(
        "分级交办",
        group,
        {"dispatch_action": "dispatch", "lead_unit": lead, "coop_units": list(coop), "mode": mode, **extra},
    )


def accept_and_dispatch(case, group=CITY_WG, **kw):
    case.complete("受理审查", group, {"intake_decision": "accept"})
    dispatch(case, group, **kw)


def unit_submits(case, lead="zrzyj"):
    case.complete("拟办办理结果", f"unit:{lead}", {"handling_result": "已办理完毕", "solved": True})
    case.complete("负责人审核", f"head:{lead}", {"head_decision": "submit"})


def review_and_visit(case, group=CITY_WG, satisfaction="满意"):
    case.complete("结果审核", group, {"review_decision": "accept"})
    case.complete("回访评价", group, {"satisfaction": satisfaction, "visit_comment": "意见"})


def assert_closed(case, outcome):
    assert case.status == "completed"
    assert case.summary["outcome"] == outcome
    assert case.tasks() == []


def test_case_numbers_run_per_year(new_case, clock):
    first, second = new_case(), new_case()
    assert (first.case_no, second.case_no) == ("ZTC-2026-0001", "ZTC-2026-0002")
    clock.set(beijing("2027-01-04"))
    assert new_case().case_no == "ZTC-2027-0001"


def test_unknown_case_and_unexpected_message_are_refused(new_case, Session, engine):
    case = new_case()
    with Session.begin() as s, pytest.raises(NotFound):
        cases.deliver_case_message(s, engine, "ZTC-2026-9999", "enterprise_withdraws", {}, "x")
    with pytest.raises(MessageNotAccepted):
        case.message("material_supplied", {"files": ["a.pdf"]})


def test_rejected_at_intake(new_case):
    case = new_case()
    assert case.summary["status"] == "待受理"
    assert case.open_tasks() == [("受理审查", [CITY_WG])]
    case.complete("受理审查", CITY_WG, {"intake_decision": "reject", "intake_reason": "属于民事纠纷，不在受理范围"})
    assert_closed(case, "rejected")
    assert case.summary["status"] == "不予受理"
    assert [a.action for a in case.audit()] == ["start", "complete"]


def test_reject_needs_a_reason(new_case):
    from engine.forms import FormValidationError

    case = new_case()
    with pytest.raises(FormValidationError) as err:
        case.complete("受理审查", CITY_WG, {"intake_decision": "reject"})
    assert "intake_reason" in err.value.by_field()


def test_material_requested_none_sent_closed_as_withdrawn(new_case):
    case = new_case()
    case.complete("受理审查", CITY_WG, {"intake_decision": "need_material", "material_request": "用地规划许可证"})
    assert case.summary["status"] == "待补充材料"
    assert case.tasks() == []
    case.move_to(beijing("2026-03-09", "17:00"))  # 5 working days end on Monday 03-09 17:30
    assert case.status == "running"
    case.move_to(beijing("2026-03-09", "17:31"))
    assert_closed(case, "withdrawn")
    assert case.summary["status"] == "已撤回"
    assert case.timer_names() == ["补充材料逾期"]


def test_material_supplied_goes_back_to_intake(new_case):
    case = new_case()
    case.complete("受理审查", CITY_WG, {"intake_decision": "need_material", "material_request": "规划图"})
    case.message("material_supplied", {"files": ["规划图.pdf"]})
    assert case.open_tasks() == [("受理审查", [CITY_WG])]
    assert case.summary["status"] == "待受理"
    accept_and_dispatch(case)
    assert case.summary["status"] == "办理中"


def test_immediate_handling_solved_on_time(new_case):
    case = new_case(urgency="特急", category="融资贷款")
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    dispatch(case, lead="jrfzj", mode="马上办")
    s = case.summary
    assert (s["mode"], s["lead_unit"], s["deadline_days"]) == ("马上办", "jrfzj", 3)
    assert s["deadline"] == "2026-03-05T17:30:00+08:00"
    draft = case.task("拟办办理结果", "unit:jrfzj")
    assert draft.due_at.isoformat() == "2026-03-05T09:30:00+00:00"
    case.move_to(beijing("2026-03-03", "10:00"))
    unit_submits(case, "jrfzj")
    assert case.summary["status"] == "待审核"
    review_and_visit(case)
    assert_closed(case, "solved")
    s = case.summary
    assert (s["status"], s["satisfaction"], s["warning"], s["escalated"]) == ("已办结", "满意", None, False)
    assert case.completed_task_names() == ["受理审查", "分级交办", "拟办办理结果", "负责人审核", "结果审核", "回访评价"]
    assert case.timer_names() == []


def test_rules_suggest_lead_unit_and_mode(new_case, Session, engine):
    case = new_case(category="环评手续", urgency="紧急")
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    data = case.task_data("分级交办", CITY_WG)
    assert (data["lead_unit"], data["coop_units"], data["mode"]) == ("sthjj", ["fgw"], "快速办")


def test_lead_and_cooperating_units(new_case):
    case = new_case(category="要素保障", urgency="紧急")
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    dispatch(case, lead="fgw", coop=["gdgs", "zrzyj"], mode="快速办")
    assert case.summary["deadline"] == "2026-03-11T17:30:00+08:00"  # 7 working days
    assert sorted(case.open_tasks()) == [
        ("拟办办理结果", ["unit:fgw"]),
        ("配合单位意见", ["unit:gdgs"]),
        ("配合单位意见", ["unit:zrzyj"]),
    ]
    coop = case.task("配合单位意见", "unit:gdgs")
    assert coop.due_at.isoformat() == "2026-03-10T09:30:00+00:00"  # one working day before the deadline
    case.complete("拟办办理结果", "unit:fgw", {"handling_result": "协调供电", "solved": True})
    case.complete("配合单位意见", "unit:gdgs", {"coop_agree": True, "coop_opinion_text": "已安排增容"})
    assert [n for n, _ in case.open_tasks()] == ["配合单位意见"]  # the head waits for every unit
    case.complete("配合单位意见", "unit:zrzyj", {"coop_agree": True, "coop_opinion_text": "无异议"})
    assert case.open_tasks() == [("负责人审核", ["head:fgw"])]
    case.complete("负责人审核", "head:fgw", {"head_decision": "redo", "head_reason": "补充供电方案"})
    case.complete("修改办理结果", "unit:fgw", {"handling_result": "补充了方案", "solved": True})
    case.complete("负责人审核", "head:fgw", {"head_decision": "submit"})
    review_and_visit(case, satisfaction="基本满意")
    assert_closed(case, "solved")
    assert case.summary["coop_units"] == ["gdgs", "zrzyj"]


def test_unit_asks_escalation_leader_signs_off(new_case):
    case = new_case()
    accept_and_dispatch(case, lead="zrzyj")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需市政府协调", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "escalation", "head_reason": "涉及多部门，需领导协调"})
    assert case.open_tasks() == [("领导批示", [LEADERS])]
    assert case.summary["escalated"] is True and case.summary["in_bulletin"] is True
    case.move_to(beijing("2026-03-03", "09:00"))
    case.complete(
        "领导批示",
        LEADERS,
        {"leader_mode": "签批督办", "instruction": "请自然资源局五个工作日内解决", "leader_deadline_days": 5},
    )
    s = case.summary
    assert (s["leader_mode"], s["status"], s["deadline"]) == ("签批督办", "签批督办", "2026-03-10T17:30:00+08:00")
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")


def test_overdue_yellow_red_auto_escalation_special_meeting(new_case):
    case = new_case()
    accept_and_dispatch(case, lead="zrzyj", mode="马上办")  # deadline Thursday 03-05 17:30
    case.move_to(beijing("2026-03-04", "17:00"))
    assert case.summary["warning"] is None
    case.move_to(beijing("2026-03-04", "17:31"))
    assert case.summary["warning"] == "yellow"
    case.move_to(beijing("2026-03-05", "17:31"))
    s = case.summary
    assert (s["warning"], s["overdue"]) == ("red", True)
    assert ("签发督办单", [CITY_WG]) in case.open_tasks()
    case.complete(
        "签发督办单", CITY_WG, {"supervision_notice_no": "督字〔2026〕1号", "supervision_content": "限期办结"}
    )
    # three working days after the deadline: Tuesday 03-10 17:30
    case.move_to(beijing("2026-03-10", "17:00"))
    assert ("领导批示", [LEADERS]) not in case.open_tasks()
    case.move_to(beijing("2026-03-10", "17:31"))
    assert case.open_tasks() == [("领导批示", [LEADERS])]  # the unit's tasks are withdrawn
    assert case.summary["escalated"] is True
    assert case.timer_names() == ["黄牌预警", "红牌督办", "超期自动提级"]
    case.complete("领导批示", LEADERS, {"leader_mode": "专题会议", "instruction": "召开专题会议研究"})
    items = [
        {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
        {"content": "调整项目备案", "unit": "fgw", "deadline": "2026-03-16"},
        {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
    ]
    case.complete(
        "专题会议纪要",
        CITY_WG,
        {
            "meeting_date": "2026-03-11",
            "attendees": ["市长", "自然资源局局长"],
            "minutes": "会议议定三项事项",
            "decision_items": items,
        },
    )
    assert sorted(case.open_tasks()) == [
        ("落实议定事项", ["unit:fgw"]),
        ("落实议定事项", ["unit:gdgs"]),
        ("落实议定事项", ["unit:zrzyj"]),
    ]
    assert case.task("落实议定事项", "unit:zrzyj").due_at.isoformat() == "2026-03-13T09:30:00+00:00"
    for unit in ("zrzyj", "fgw"):
        case.complete("落实议定事项", f"unit:{unit}", {"item_report": "已落实"})
    assert [n for n, _ in case.open_tasks()] == ["落实议定事项"]
    case.complete("落实议定事项", "unit:gdgs", {"item_report": "已送电"})
    assert case.summary["decision_items_done"] == 3
    review_and_visit(case)
    assert_closed(case, "solved")
    assert case.summary["leader_mode"] == "专题会议"


def test_onsite_office(new_case):
    case = new_case(category="项目推进")
    accept_and_dispatch(case, lead="fgw", coop=["yshj"], mode="快速办")
    case.complete("拟办办理结果", "unit:fgw", {"handling_result": "已协调", "solved": False})
    case.complete("配合单位意见", "unit:yshj", {"coop_agree": True, "coop_opinion_text": "同意"})
    case.complete("负责人审核", "head:fgw", {"head_decision": "submit"})
    case.complete("结果审核", CITY_WG, {"review_decision": "escalate", "review_reason": "单位无法解决"})
    case.complete("领导批示", LEADERS, {"leader_mode": "现场办公", "instruction": "到项目现场办公"})
    items = [
        {"content": "打通进场道路", "unit": "zjj", "deadline": "2026-03-20"},
        {"content": "办理施工许可", "unit": "zjj", "deadline": "2026-03-20"},
    ]
    case.complete(
        "现场办公记录",
        CITY_WG,
        {
            "visit_date": "2026-03-03",
            "location": "项目现场",
            "attendees": ["书记"],
            "onsite_record": "现场议定两项",
            "decision_items": items,
        },
    )
    assert [t.name for t in case.tasks()] == ["落实议定事项", "落实议定事项"]
    assert all(t.candidate_groups == ["unit:zjj"] for t in case.tasks())
    for _ in range(2):  # two items of the same unit: two tasks in its inbox
        task = case.tasks()[0]
        with case.Session.begin() as s:
            case.engine.complete_task(s, task.id, {"item_report": "完成"}, "unit:zjj")
    review_and_visit(case)
    assert_closed(case, "solved")
    assert case.summary["leader_mode"] == "现场办公"


def test_county_case_solved_in_the_county(new_case):
    case = new_case(county="jianping", category="土地批复", urgency="一般")
    assert case.summary["level"] == "county"
    case.complete("受理审查", "wg:jianping", {"intake_decision": "accept"})
    data = case.task_data("分级交办", "wg:jianping")
    assert (data["lead_unit"], data["coop_units"], data["mode"]) == ("jianping.zrzyj", ["jianping.fgw"], "监督办")
    dispatch(case, "wg:jianping", lead="jianping.zrzyj", mode="监督办")
    assert case.summary["deadline"] == "2026-03-23T17:30:00+08:00"  # 15 working days
    unit_submits(case, "jianping.zrzyj")
    review_and_visit(case, "wg:jianping")
    assert_closed(case, "solved")
    assert case.summary["level"] == "county"
    assert not any(CITY_WG in (a.actor or "") for a in case.audit())


def test_county_case_escalated_to_the_city(new_case):
    case = new_case(county="jianping")
    accept_and_dispatch(case, "wg:jianping", lead="jianping.zrzyj")
    case.complete("拟办办理结果", "unit:jianping.zrzyj", {"handling_result": "县级无权审批", "solved": False})
    case.complete("负责人审核", "head:jianping.zrzyj", {"head_decision": "escalation", "head_reason": "需市级审批"})
    # a county case rises to the city working group first, not to the leaders
    assert case.open_tasks() == [("分级交办", [CITY_WG])]
    s = case.summary
    assert (s["level"], s["escalated_from"], s["county"]) == ("city", "jianping", "jianping")
    data = case.task_data("分级交办", CITY_WG)
    assert data["lead_unit"] == "zrzyj"
    dispatch(case, lead="zrzyj")
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")


def test_county_wg_passes_case_up_at_dispatch(new_case):
    case = new_case(county="kazuo")
    case.complete("受理审查", "wg:kazuo", {"intake_decision": "accept"})
    case.complete("分级交办", "wg:kazuo", {"dispatch_action": "to_city", "lead_unit": "kazuo.zrzyj", "mode": "快速办"})
    assert case.open_tasks() == [("分级交办", [CITY_WG])]


def test_dissatisfied_reopen_then_satisfied(new_case):
    case = new_case()
    accept_and_dispatch(case)
    unit_submits(case)
    review_and_visit(case, satisfaction="不满意")
    assert case.open_tasks() == [("不满意处置", [CITY_WG])]
    case.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "reopen"})
    assert case.summary["reopen_count"] == 1
    assert case.open_tasks() == [("分级交办", [CITY_WG])]
    dispatch(case, mode="快速办")
    unit_submits(case)
    review_and_visit(case, satisfaction="满意")
    assert_closed(case, "solved")
    assert case.summary["reopen_count"] == 1
    assert case.completed_task_names().count("分级交办") == 2


def test_dissatisfied_twice_goes_to_the_leaders(new_case):
    case = new_case()
    accept_and_dispatch(case)
    for round_ in (1, 2):
        unit_submits(case)
        review_and_visit(case, satisfaction="不满意")
        case.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "reopen"})
        if round_ == 1:
            dispatch(case)
    assert case.summary["reopen_count"] == 2
    assert case.open_tasks() == [("领导批示", [LEADERS])]
    case.complete(
        "领导批示", LEADERS, {"leader_mode": "签批督办", "instruction": "务必解决", "leader_deadline_days": 3}
    )
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")


def test_closed_with_explanation(new_case):
    case = new_case()
    accept_and_dispatch(case)
    unit_submits(case)
    review_and_visit(case, satisfaction="不满意")
    case.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "explain", "explanation": "诉求不符合土地政策"})
    assert_closed(case, "explained")
    assert case.summary["satisfaction"] == "不满意"


def test_no_answer_at_return_visit(new_case):
    case = new_case()
    accept_and_dispatch(case)
    unit_submits(case)
    case.complete("结果审核", CITY_WG, {"review_decision": "accept"})
    assert case.task("回访评价", CITY_WG).due_at.isoformat() == "2026-03-09T09:30:00+00:00"
    case.move_to(beijing("2026-03-09", "17:31"))
    assert_closed(case, "no_answer")
    assert case.summary["satisfaction"] == "未回访成功"
    assert case.timer_names() == ["回访无应答"]


def test_extension_granted_moves_deadline_and_rearms_warnings(new_case):
    case = new_case()
    accept_and_dispatch(case, mode="马上办")  # deadline 03-05
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需要更多时间", "solved": False})
    case.complete(
        "负责人审核", "head:zrzyj", {"head_decision": "extension", "extension_days": 5, "head_reason": "等待省厅批复"}
    )
    assert case.summary["status"] == "申请延期"
    case.complete("延期审批", CITY_WG, {"extension_approved": True, "extension_days_granted": 5})
    assert case.summary["deadline"] == "2026-03-12T17:30:00+08:00"
    assert case.task("拟办办理结果", "unit:zrzyj").due_at.isoformat() == "2026-03-12T09:30:00+00:00"
    case.move_to(beijing("2026-03-05", "18:00"))  # the old deadline passes quietly
    assert case.summary["warning"] is None and case.timer_names() == []
    case.move_to(beijing("2026-03-11", "17:31"))
    assert case.summary["warning"] == "yellow"
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")
    assert case.summary["extended"] is True


def test_extension_refused_keeps_deadline(new_case):
    case = new_case()
    accept_and_dispatch(case, mode="马上办")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "暂无进展", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "extension", "extension_days": 5, "head_reason": "y"})
    case.complete("延期审批", CITY_WG, {"extension_approved": False, "extension_comment": "不同意"})
    assert case.summary["deadline"] == "2026-03-05T17:30:00+08:00"
    assert case.open_tasks() == [("拟办办理结果", ["unit:zrzyj"])]


def test_enterprise_withdraws_by_message(new_case):
    case = new_case()
    accept_and_dispatch(case, coop=["fgw"])
    assert len(case.tasks()) == 2
    case.message("enterprise_withdraws", {"reason": "问题已自行解决"})
    assert_closed(case, "withdrawn")
    s = case.summary
    assert (s["status"], s["withdraw_reason"]) == ("已撤回", "问题已自行解决")
    assert [a.action for a in case.audit()][-1] == "message"
    with pytest.raises(MessageNotAccepted):
        case.message("enterprise_withdraws", {})


def test_red_card_once_per_deadline_rearmed_by_an_extension(new_case):
    """A case sent back while overdue re-enters the handling: the red timer must not issue a
    second 督办单 for the same deadline; a new deadline (extension) re-arms it."""
    case = new_case()
    accept_and_dispatch(case, mode="马上办")  # deadline Thursday 03-05 17:30
    case.move_to(beijing("2026-03-05", "17:31"))
    assert ("签发督办单", [CITY_WG]) in case.open_tasks()
    case.complete(
        "签发督办单", CITY_WG, {"supervision_notice_no": "督字〔2026〕1号", "supervision_content": "限期办结"}
    )
    unit_submits(case)
    case.complete("结果审核", CITY_WG, {"review_decision": "send_back", "review_reason": "未解决"})
    case.move_to(beijing("2026-03-06", "09:00"))  # back in the handling, still overdue
    assert case.open_tasks() == [("拟办办理结果", ["unit:zrzyj"])]
    assert case.summary["warning"] == "red"
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需要更多时间", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "redo", "head_reason": "重拟"})  # loop inside
    case.complete("修改办理结果", "unit:zrzyj", {"handling_result": "重拟", "solved": False})
    case.complete(
        "负责人审核", "head:zrzyj", {"head_decision": "extension", "extension_days": 3, "head_reason": "等待省厅批复"}
    )
    case.complete("延期审批", CITY_WG, {"extension_approved": True, "extension_days_granted": 3})
    assert case.summary["deadline"] == "2026-03-10T17:30:00+08:00"
    case.move_to(beijing("2026-03-10", "17:00"))
    assert [n for n, _ in case.open_tasks()] == ["拟办办理结果"]  # one 督办单 for one overdue deadline
    assert case.completed_task_names().count("签发督办单") == 1
    case.move_to(beijing("2026-03-10", "17:31"))  # the new deadline passes: red again, once
    assert sorted(n for n, _ in case.open_tasks()) == ["拟办办理结果", "签发督办单"]
    case.complete(
        "签发督办单", CITY_WG, {"supervision_notice_no": "督字〔2026〕2号", "supervision_content": "限期办结"}
    )
    case.move_to(beijing("2026-03-11", "09:00"))
    assert case.completed_task_names().count("签发督办单") == 2
    assert [n for n, _ in case.open_tasks()] == ["拟办办理结果"]
    unit_submits(case)
    review_and_visit(case)
    assert_closed(case, "solved")

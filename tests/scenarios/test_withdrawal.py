"""An enterprise may withdraw its case at any stage; nothing stays open afterwards."""

from .test_case_paths import assert_closed


def test_enterprise_withdraws_while_intake_is_open(new_case):
    case = new_case()
    assert [name for name, _ in case.open_tasks()] == ["受理审查"]
    case.message("enterprise_withdraws", {"reason": "已自行解决"})
    assert case.open_tasks() == []
    assert_closed(case, "withdrawn")


def test_enterprise_withdraws_after_supplying_material(new_case):
    case = new_case()
    case.complete("受理审查", "wg:city", {"intake_decision": "need_material", "material_request": "规划图"})
    case.message("material_supplied", {"files": ["规划图.pdf"]})
    assert [name for name, _ in case.open_tasks()] == ["受理审查"]
    case.message("enterprise_withdraws", {"reason": "已自行解决"})
    assert case.open_tasks() == []
    assert_closed(case, "withdrawn")


def test_enterprise_withdraws_while_material_is_awaited(new_case):
    case = new_case()
    case.complete("受理审查", "wg:city", {"intake_decision": "need_material", "material_request": "规划图"})
    case.message("enterprise_withdraws", {"reason": "不再需要"})
    assert_closed(case, "withdrawn")
    assert case.timer_names() == []


def test_a_county_case_withdrawn_at_intake(new_case):
    case = new_case(county="jianping")
    assert case.open_tasks() == [("受理审查", ["wg:jianping"])]
    case.message("enterprise_withdraws", {"reason": "已自行解决"})
    assert case.open_tasks() == []
    assert_closed(case, "withdrawn")


def _withdraw_and_check(case):
    case.message("enterprise_withdraws", {"reason": "已自行解决"})
    assert case.open_tasks() == []
    assert_closed(case, "withdrawn")
    inst = case.instance()
    assert inst.next_timer_at is None  # no yellow/red card for a withdrawn case


def test_withdrawals_during_unit_handling_end_every_case(new_case):
    """Withdrawal while units are handling: the same outcome for every case, whatever the
    engine did before (the first and the later withdrawals alike)."""
    from .test_case_paths import accept_and_dispatch

    for n in range(3):
        case = new_case()
        accept_and_dispatch(case, lead="fgw", coop=["gdgs", "zrzyj"], mode="快速办")
        if n == 1:  # one unit has already answered
            case.complete("配合单位意见", "unit:gdgs", {"coop_agree": True, "coop_opinion_text": "同意"})
        if n == 2:  # the lead unit's draft is with its head
            case.complete("拟办办理结果", "unit:fgw", {"handling_result": "已协调", "solved": True})
            case.complete("配合单位意见", "unit:gdgs", {"coop_agree": True, "coop_opinion_text": "同意"})
            case.complete("配合单位意见", "unit:zrzyj", {"coop_agree": True, "coop_opinion_text": "同意"})
            assert case.open_tasks() == [("负责人审核", ["head:fgw"])]
        _withdraw_and_check(case)


def test_withdrawal_while_leaders_and_decision_items_are_open(new_case):
    from .test_case_paths import LEADERS, accept_and_dispatch

    case = new_case()
    accept_and_dispatch(case, lead="zrzyj")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需协调", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "escalation", "head_reason": "涉及多部门"})
    assert case.open_tasks() == [("领导批示", [LEADERS])]
    _withdraw_and_check(case)

    case = new_case()
    accept_and_dispatch(case, lead="zrzyj")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需协调", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "escalation", "head_reason": "涉及多部门"})
    case.complete("领导批示", LEADERS, {"leader_mode": "专题会议", "instruction": "召开专题会议研究"})
    items = [
        {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
        {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
    ]
    case.complete(
        "专题会议纪要",
        "wg:city",
        {"meeting_date": "2026-03-11", "attendees": ["市长"], "minutes": "议定两项", "decision_items": items},
    )
    case.complete("落实议定事项", "unit:zrzyj", {"item_report": "已落实"})
    assert [n for n, _ in case.open_tasks()] == ["落实议定事项"]
    _withdraw_and_check(case)

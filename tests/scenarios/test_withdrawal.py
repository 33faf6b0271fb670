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

"""In the browser: a county working group dispatches with 80 units on offer — its county's units
come first, a search box narrows both pickers — and a deadline that would leave a cooperating
unit no working day is refused on the deadline field, keeping what was chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import beijing
from tests.web.conftest import browser_type_launch_args, login_page, real_app, real_server, shots  # noqa: F401

pytestmark = pytest.mark.browser


def test_dispatch_with_search_county_first_and_the_deadline_check(real_server, login_page, shots, new_case):
    case = new_case(county="jianping", category="土地批复")
    case.complete("受理审查", "wg:jianping", {"intake_decision": "accept"}, actor="wg.jianping")
    wg = login_page("wg.jianping")
    wg.goto(f"{real_server}/tasks/{case.task('分级交办', 'wg:jianping').id}")
    lead = wg.locator("#f-lead_unit")
    assert lead.locator("optgroup").first.get_attribute("label") == "建平县"
    assert lead.locator("option[value]:not([value=''])").count() == 80
    groups = wg.locator("#f-coop_units details.unit-group")
    expect(groups.first).to_have_attribute("data-county", "jianping")
    expect(groups.nth(2)).not_to_have_attribute("open", "")  # other counties folded
    shots(wg, "dispatch-form")

    wg.fill("#f-coop_units-find", "供电")
    # the power company of the city and of every county; a unit already ticked (the rule's
    # suggestion, 建平县发展和改革委员会) stays in sight
    expect(wg.locator("#f-coop_units label.choice:visible", has_text="供电")).to_have_count(8)
    others = wg.locator("#f-coop_units label.choice:visible:not(:has-text('供电'))")
    assert others.all_inner_texts() == ["建平县发展和改革委员会"]
    expect(others.locator("input")).to_be_checked()
    expect(wg.locator("#f-coop_units details.unit-group[data-county=kazuo]")).to_have_attribute("open", "")
    shots(wg, "coop-search")
    wg.check("input[name=coop_units][value='jianping.gdgs']")
    wg.fill("#f-coop_units-find", "")
    wg.fill("#f-lead_unit-find", "自然资源")
    assert lead.locator("option:not([hidden]):not([value=''])").count() == 8
    lead.select_option("jianping.zrzyj")
    wg.check("input[name=dispatch_action][value=dispatch]")
    lead.select_option("jianping.zrzyj")
    wg.select_option("#f-mode", "马上办")
    wg.fill("#f-deadline_days_override", "1")
    wg.click("#complete")

    field = wg.locator(".field[data-field=deadline_days_override]")
    expect(field.locator(".error-msg")).to_contain_text("有配合单位时办理时限至少2个工作日")
    expect(wg.locator("input[name=coop_units][value='jianping.gdgs']")).to_be_checked()  # kept
    assert case.open_tasks() == [("分级交办", ["wg:jianping"])]
    shots(wg, "refused")

    wg.fill("#f-deadline_days_override", "2")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    coop = case.task("配合单位意见", "unit:jianping.gdgs")
    assert coop.due_at >= beijing("2026-03-03", "17:30")  # the next working day's close, at least
    assert wg.js_errors == []

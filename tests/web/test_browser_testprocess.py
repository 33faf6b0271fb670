"""Browser tests on the small test process (tests/web/data/webcase.bpmn): a case through the
inbox to the return visit, form-error retention, inbox filters."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_case_through_the_inbox_to_the_return_visit(login_page, shots, start_case):
    # the enterprise's case of the test process (the portal submits to the real case process only:
    # engine/cases.py; its portal journey is tests/web/test_browser_full_case.py)
    instance_id = start_case()
    ent = login_page("ent.demo1")
    shots(ent, "portal-home")
    case_url = f"{ent.base}/portal/cases/{instance_id}"

    # the county working group accepts and dispatches it
    wg = login_page("wg.jianping")
    shots(wg, "wg-inbox")
    wg.click("text=受理交办")
    wg.check("input[name=decision][value=受理]")
    wg.select_option("#f-category", "土地批复")
    wg.check("input[name=mode][value=快速办]")
    wg.select_option("#f-lead_unit", "zrzyj")
    wg.check("input[name=coop_units][value=fgw]")
    wg.fill("#f-deadline", "2026-03-11")
    wg.fill("#f-opinion", "请市自然资源局牵头办理")
    wg.select_option("#f-actions-0-unit", "zrzyj")
    wg.fill("#f-actions-0-item", "完成用地预审")
    wg.fill("#f-actions-0-due", "2026-03-09")
    wg.click(".add-row")
    wg.select_option("#f-actions-1-unit", "fgw")
    wg.fill("#f-actions-1-item", "出具项目备案意见")
    wg.fill("#f-actions-1-due", "2026-03-10")
    shots(wg, "wg-intake-filled")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_contain_text("已提交")
    shots(wg, "wg-inbox-after")

    # the lead unit claims and handles it
    unit = login_page("unit.zrzyj")
    row = unit.locator("tr.task-row", has_text="单位办理")
    row.get_by_role("button", name="认领").click()
    expect(unit.locator(".flash-ok")).to_contain_text("已认领")
    shots(unit, "unit-inbox-claimed")
    unit.click("text=单位办理")
    unit.fill("#f-result", "已完成用地预审并出具批复")
    unit.check("#f-solved")
    shots(unit, "unit-task")
    unit.click("#complete")
    expect(unit.locator(".flash-ok")).to_contain_text("已提交")

    # the enterprise answers the return visit
    ent.goto(case_url)
    shots(ent, "portal-case-visit")
    ent.click("a.task-link")
    ent.select_option("#f-satisfaction", "满意")
    ent.fill("#f-visit_comment", "办理及时")
    shots(ent, "portal-visit")
    ent.click("#complete")
    expect(ent.locator(".summary")).to_contain_text("已办结")
    shots(ent, "portal-case-closed")

    # the city working group reads the closed case with its diagram
    city = login_page("wg.city")
    city.click("nav.mainnav >> text=案件")
    shots(city, "wg-cases")
    city.click("a.case-link")
    expect(city.locator("#diagram[data-ready='1']")).to_be_visible(timeout=10000)
    expect(city.locator("#timeline")).to_contain_text("回访评价")
    shots(city, "wg-case-detail")
    assert city.locator(".highlight-done").count() >= 4
    for page in (ent, wg, unit, city):
        assert page.js_errors == []


def test_form_errors_keep_what_was_typed(login_page, shots, start_case, Session):
    start_case()
    wg = login_page("wg.jianping")
    wg.click("text=受理交办")
    # typed, but wrong: a number with letters, a too short opinion, no deadline, an incomplete row
    wg.check("input[name=decision][value=受理]")
    wg.check("input[name=mode][value=监督办]")
    wg.select_option("#f-lead_unit", "sthjj")
    wg.check("input[name=coop_units][value=zjj]")
    wg.fill("#f-amount", "12万")
    wg.fill("#f-staff", "30")
    wg.check("#f-leader_attention")
    wg.fill("#f-opinion", "短")
    wg.fill("#f-actions-0-item", "完成环评批复")
    wg.click("#complete")
    expect(wg.locator(".form-error")).to_be_visible()
    shots(wg, "errors-shown")
    assert wg.input_value("#f-amount") == "12万"
    assert wg.input_value("#f-staff") == "30"
    assert wg.input_value("#f-opinion") == "短"
    assert wg.input_value("#f-lead_unit") == "sthjj"
    assert wg.input_value("#f-actions-0-item") == "完成环评批复"
    assert wg.is_checked("input[name=mode][value=监督办]")
    assert wg.is_checked("input[name=coop_units][value=zjj]")
    assert wg.is_checked("#f-leader_attention")
    for field, message in (
        ("amount", "类型不正确"),
        ("opinion", "至少需要4个字符"),
        ("deadline", "必填"),
        ("actions.0.unit", "必填"),
    ):
        expect(wg.locator(f"[data-field='{field}'] .error-msg")).to_contain_text(message)
    # save a draft, leave, come back: the draft is there
    wg.fill("#f-amount", "12")
    wg.click("#save-draft")
    expect(wg.locator(".flash-ok")).to_contain_text("草稿已保存")
    wg.goto(wg.base + "/inbox")
    wg.click("text=受理交办")
    assert wg.input_value("#f-amount") == "12"
    assert wg.input_value("#f-actions-0-item") == "完成环评批复"
    shots(wg, "draft-restored")
    # in English the messages are English
    wg.click("#lang-switch")
    wg.click("#complete")
    expect(wg.locator("[data-field='deadline'] .error-msg")).to_contain_text("This field is required")
    shots(wg, "errors-english")


def test_inbox_filters_tabs_and_markers(login_page, shots, start_case, clock, Session, engine):
    from sqlalchemy import select

    from engine.models import HumanTask, Instance

    first = start_case(category="土地批复", title="用地预审")
    second = start_case(category="融资贷款", title="贷款展期")
    third = start_case(county="city", category="环评手续", title="环评审批")
    with Session.begin() as session:  # deadlines: overdue, due tomorrow, in two weeks
        for instance_id, due, mode in (
            (first, "2026-03-01T09:00:00+00:00", "马上办"),
            (second, "2026-03-03T09:00:00+00:00", "快速办"),
            (third, "2026-03-16T09:00:00+00:00", "监督办"),
        ):
            task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()
            import datetime as dt

            task.due_at = dt.datetime.fromisoformat(due)
            instance = session.get(Instance, instance_id)
            instance.summary = {**instance.summary, "mode": mode}
    wg = login_page("wg.city")  # sees all three (city WG is a candidate of county intakes too)
    wg.goto(wg.base + "/inbox")
    shots(wg, "inbox-all")
    rows = wg.locator("tr.task-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_class("task-row marker-red")  # sorted by due date
    expect(rows.nth(1)).to_have_class("task-row marker-yellow")
    expect(rows.nth(2)).to_have_class("task-row marker-none")
    expect(wg.locator("[data-tab=all] .count")).to_have_text("3")
    wg.select_option("select[name=category]", "融资贷款")
    wg.click("#inbox-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("贷款展期")
    shots(wg, "inbox-category")
    wg.goto(wg.base + "/inbox?overdue=1")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("用地预审")
    wg.goto(wg.base + "/inbox?due_within=3")
    expect(rows).to_have_count(2)
    wg.goto(wg.base + "/inbox?county=city")
    expect(rows).to_have_count(1)
    wg.goto(wg.base + "/inbox?mode=监督办")
    expect(rows).to_have_count(1)
    shots(wg, "inbox-mode")
    # claim one: it moves from the group tab to mine; delegate it, then take it back
    wg.goto(wg.base + "/inbox")
    rows.nth(0).get_by_role("button", name="认领").click()
    expect(wg.locator("[data-tab=mine] .count")).to_have_text("1")
    expect(wg.locator("[data-tab=group] .count")).to_have_text("2")
    wg.locator("tr.task-row.marker-red a.task-link").click()
    wg.select_option("#handover select[name=to]", "wg.city2")
    wg.get_by_role("button", name="委派").click()
    expect(wg.locator("[data-tab=delegated] .count")).to_have_text("1")
    shots(wg, "inbox-delegated")
    other = login_page("wg.city2")
    expect(other.locator("[data-tab=mine] .count")).to_have_text("1")
    shots(other, "colleague-inbox")
    wg.goto(wg.base + "/inbox?tab=delegated")
    wg.get_by_role("button", name="收回").click()
    expect(wg.locator("[data-tab=mine] .count")).to_have_text("1")
    expect(wg.locator("[data-tab=delegated] .count")).to_have_text("0")


def test_pages_on_a_phone(login_page, shots, start_case):
    start_case()
    wg = login_page("wg.jianping", phone=True)
    shots(wg, "phone-inbox")
    wg.click("text=受理交办")
    shots(wg, "phone-task")
    width = wg.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the task page scrolls sideways on a phone ({width}px)"
    ent = login_page("ent.demo1", phone=True)
    shots(ent, "phone-portal")
    ent.click("#new-case")
    shots(ent, "phone-submit")
    assert ent.evaluate("document.documentElement.scrollWidth") <= 400

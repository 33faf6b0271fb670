"""One full case on the real process (processes/case.bpmn and its called processes), in a
real browser, by six logged-in roles: the enterprise submits; the city working group
accepts and dispatches; the lead unit drafts while the cooperating unit gives its opinion;
the unit head asks for escalation; the mayor chooses a 专题会议; the working group records
the minutes with two decision items; each unit reports its item; the working group
accepts the result; the enterprise answers the return visit; the case is archived."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import fill_problem

pytestmark = pytest.mark.browser


def open_task(page, name: str, shots, label: str):
    page.goto(page.base + "/inbox")
    shots(page, f"{label}-inbox")
    page.locator("tr.task-row", has_text=name).first.locator("a.task-link").click()
    expect(page.locator("h1")).to_contain_text(name)


def submit(page, shots, label: str):
    shots(page, f"{label}-filled")
    page.click("#complete")
    expect(page.locator(".flash-ok")).to_be_visible()
    shots(page, f"{label}-done")


def test_full_case_with_meeting(real_server, login_page, shots, tmp_path):
    material = tmp_path / "用地材料.pdf"
    material.write_bytes(b"%PDF-1.4\n% land\n")

    # 1. the enterprise submits its problem online
    ent = login_page("ent.demo1")
    shots(ent, "ent-home")
    fill_problem(
        ent,
        title="新建厂房用地预审迟迟未批",
        description="我公司新建厂房项目已提交用地预审材料两个月，尚未得到答复。",
        help_wanted="请协调尽快完成用地预审",
        files=[material],
    )
    shots(ent, "ent-submit-filled")
    ent.click("#submit")
    expect(ent.locator(".flash-ok")).to_contain_text("ZTC-")
    shots(ent, "ent-case-submitted")
    case_url = ent.url
    expect(ent.locator("#attachments")).to_contain_text("用地材料.pdf")

    # 2. the city working group accepts, then dispatches (the decision table's suggestion)
    wg = login_page("wg.city")
    open_task(wg, "受理审查", shots, "wg-intake")
    wg.check("input[name=intake_decision][value=accept]")
    submit(wg, shots, "wg-intake")
    open_task(wg, "分级交办", shots, "wg-dispatch")
    wg.check("input[name=dispatch_action][value=dispatch]")
    wg.select_option("#f-lead_unit", "zrzyj")
    if not wg.is_checked("input[name=coop_units][value=fgw]"):
        wg.check("input[name=coop_units][value=fgw]")
    wg.select_option("#f-mode", "快速办")
    submit(wg, shots, "wg-dispatch")

    # 3. the lead unit drafts; the cooperating unit gives its opinion
    unit = login_page("unit.zrzyj")
    open_task(unit, "拟办办理结果", shots, "unit-draft")
    unit.fill("#f-handling_result", "已完成用地预审初审，尚需市级协调用地指标。")
    unit.check("#f-solved-0")  # 问题是否已解决: nothing pre-answered (issue 19)
    submit(unit, shots, "unit-draft")
    coop = login_page("unit.fgw")
    open_task(coop, "配合单位意见", shots, "coop")
    coop.check("#f-coop_agree")
    coop.fill("#f-coop_opinion_text", "同意牵头单位意见")
    submit(coop, shots, "coop")

    # 4. the unit head asks for escalation to the leaders
    head = login_page("head.zrzyj")
    open_task(head, "负责人审核", shots, "head")
    head.check("input[name=head_decision][value=escalation]")
    head.fill("#f-head_reason", "用地指标需市领导协调")
    submit(head, shots, "head")

    # 5. the mayor chooses a special meeting
    mayor = login_page("leader.mayor")
    open_task(mayor, "领导批示", shots, "mayor")
    mayor.check("input[name=leader_mode][value=专题会议]")
    mayor.fill("#f-instruction", "请工作组召开专题会议研究解决。")
    submit(mayor, shots, "mayor")

    # 6. the working group records the minutes with two decision items
    open_task(wg, "专题会议纪要", shots, "wg-meeting")
    wg.fill("#f-meeting_date", "2026-03-04")
    wg.fill("#f-attendees", "市长\n市自然资源局局长\n市发展和改革委员会主任")
    wg.fill("#f-minutes", "会议研究了该项目用地问题，议定如下。")
    wg.fill("#f-decision_items-0-content", "完成用地预审")
    wg.select_option("#f-decision_items-0-unit", "zrzyj")
    wg.fill("#f-decision_items-0-deadline", "2026-03-10")
    wg.click(".add-row")
    wg.fill("#f-decision_items-1-content", "出具项目备案意见")
    wg.select_option("#f-decision_items-1-unit", "fgw")
    wg.fill("#f-decision_items-1-deadline", "2026-03-11")
    submit(wg, shots, "wg-meeting")

    # 7. each unit reports its decision item
    open_task(unit, "落实议定事项", shots, "unit-item")
    unit.fill("#f-item_report", "用地预审已完成，批复已送达企业。")
    submit(unit, shots, "unit-item")
    open_task(coop, "落实议定事项", shots, "coop-item")
    coop.fill("#f-item_report", "项目备案意见已出具。")
    submit(coop, shots, "coop-item")

    # 8. the working group accepts the result
    open_task(wg, "结果审核", shots, "wg-review")
    wg.check("input[name=review_decision][value=accept]")
    submit(wg, shots, "wg-review")

    # 9. the enterprise answers the return visit
    ent.goto(case_url)
    shots(ent, "ent-case-visit")
    ent.locator("a.task-link", has_text="回访评价").click()
    ent.check("input[name=satisfaction][value=满意]")
    ent.fill("#f-visit_comment", "办理及时，非常感谢。")
    shots(ent, "ent-visit-filled")
    ent.click("#complete")
    expect(ent.locator(".summary")).to_contain_text("已办结")
    shots(ent, "ent-case-closed")

    # 10. archived: the working group reads the closed case, its timeline and diagram
    wg.goto(wg.base + "/cases?status=completed")
    shots(wg, "wg-cases-closed")
    wg.locator("a.case-link").first.click()
    expect(wg.locator(".summary")).to_contain_text("专题会议")
    expect(wg.locator("#timeline")).to_contain_text("专题会议纪要")
    expect(wg.locator("#diagram[data-ready='1']")).to_be_visible(timeout=10000)
    shots(wg, "wg-case-archived")
    assert wg.locator(".highlight-done").count() >= 6
    for page in (ent, wg, unit, coop, head, mayor):
        assert page.js_errors == []

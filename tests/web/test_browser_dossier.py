"""Issue 14: nobody decides blind. One full case on the real process, in a real browser — the
enterprise supplies material, the lead unit is sent back by its head, the case goes to a 专题会议
with two decision items, the enterprise is dissatisfied — and at every step the exact words typed
at the earlier steps are on the next person's task page (above the form), while the enterprise
never reads an internal note: not on its pages, not from the API."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.web.conftest import fill_problem

pytestmark = pytest.mark.browser

DESCRIPTION = "厂房项目用地预审材料已报两个月未获答复，影响开工。"
HELP = "请协调尽快完成用地预审"
PROJECT = "朝阳新材料二期厂房"
MATERIAL_ASK = "请补充用地红线图"
MATERIAL_NOTE = "红线图已上传，请审阅。"
DISPATCH_NOTE = "请市自然资源局牵头，三日内研究"  # internal
DRAFT_1 = "初稿：已完成初审，待补充指标。"
COOP_OPINION = "发改委同意牵头单位意见并配合指标测算"  # internal
SEND_BACK = "初稿未写明办结时间，请补充"  # internal
DRAFT_2 = "已完成用地预审初审，计划三月底前办结。"
ESCALATION = "用地指标需市领导协调解决"  # internal
INSTRUCTION = "请工作组召开专题会议研究解决。"  # internal
MINUTES = "会议研究了该项目用地问题并议定两项。"  # internal
ITEM_1, ITEM_2 = "完成用地预审批复", "出具项目备案意见"
REPORT_1, REPORT_2 = "用地预审批复已送达企业。", "项目备案意见已出具。"
VISIT = "批复时间比承诺晚了一周，不满意。"
EXPLANATION = "延误原因是指标调剂，已向企业当面说明。"
INTERNAL = [DISPATCH_NOTE, COOP_OPINION, SEND_BACK, ESCALATION, INSTRUCTION, MINUTES]


def open_task(page, name: str, shots, label: str, nth: int = 0):
    page.goto(page.base + "/inbox")
    page.locator("tr.task-row", has_text=name).nth(nth).locator("a.task-link").click()
    expect(page.locator("h1")).to_contain_text(name)
    shots(page, f"{label}-context")


def sees(page, *texts: str) -> None:
    """Every text is in the context above the form."""
    for text in texts:
        expect(page.locator("#context")).to_contain_text(text)


def submit(page, shots, label: str):
    shots(page, f"{label}-filled")
    page.click("#complete")
    expect(page.locator(".flash-ok")).to_be_visible()


def never_internal(page) -> None:
    body = page.locator("body").inner_text()
    for text in INTERNAL:
        assert text not in body, f"the enterprise reads an internal note: {text}"


def test_every_step_sees_what_was_written_before(real_server, login_page, shots, tmp_path, Session):
    material = tmp_path / "用地材料.pdf"
    material.write_bytes(b"%PDF-1.4\n% land\n")
    redline = tmp_path / "红线图.pdf"
    redline.write_bytes(b"%PDF-1.4\n% red line\n")

    # the enterprise submits
    ent = login_page("ent.demo1")
    fill_problem(ent, title="新建厂房用地预审迟迟未批", description=DESCRIPTION, help_wanted=HELP, files=[material])
    ent.fill("#f-project", PROJECT)
    ent.click("#submit")
    expect(ent.locator(".flash-ok")).to_contain_text("ZTC-")
    case_url = ent.url
    case_id = int(case_url.rstrip("/").rsplit("/", 1)[-1])

    # 受理审查 sees the description, what is wanted, contact, mobile and project; asks for material
    wg = login_page("wg.city")
    open_task(wg, "受理审查", shots, "wg-intake")
    sees(wg, DESCRIPTION, HELP, "王经理", "13900001111", PROJECT, "用地材料.pdf")
    wg.check("input[name=intake_decision][value=need_material]")
    wg.fill("#f-material_request", MATERIAL_ASK)
    submit(wg, shots, "wg-intake")
    ent.goto(case_url)
    expect(ent.locator("#material-request-text")).to_have_text(MATERIAL_ASK)
    ent.fill("#f-material_note", MATERIAL_NOTE)
    ent.set_input_files("#f-material_files", str(redline))
    ent.click("#material-form button[type=submit]")
    expect(ent.locator(".flash-ok")).to_contain_text("补充材料已提交")

    # 受理审查 again: the enterprise's 补充说明 and its file are there; accept, then dispatch
    open_task(wg, "受理审查", shots, "wg-intake-again")
    sees(wg, DESCRIPTION, MATERIAL_NOTE, "红线图.pdf")
    wg.check("input[name=intake_decision][value=accept]")
    submit(wg, shots, "wg-accept")
    open_task(wg, "分级交办", shots, "wg-dispatch")
    wg.check("input[name=dispatch_action][value=dispatch]")
    wg.select_option("#f-lead_unit", "zrzyj")
    if not wg.is_checked("input[name=coop_units][value=fgw]"):
        wg.check("input[name=coop_units][value=fgw]")
    wg.select_option("#f-mode", "快速办")
    wg.fill("#f-dispatch_note", DISPATCH_NOTE)
    submit(wg, shots, "wg-dispatch")

    # the lead unit drafts, seeing the problem and the 交办意见; its own 附件 starts empty
    unit = login_page("unit.zrzyj")
    open_task(unit, "拟办办理结果", shots, "unit-draft")
    sees(unit, DESCRIPTION, HELP, DISPATCH_NOTE)
    expect(unit.locator("#task-form")).not_to_contain_text("用地材料.pdf")
    unit.fill("#f-handling_result", DRAFT_1)
    unit.check("#f-solved-0")  # 问题是否已解决: nothing pre-answered (issue 19)
    submit(unit, shots, "unit-draft")

    # the cooperating unit sees the draft it is asked to agree with, and which unit it is
    coop = login_page("unit.fgw")
    open_task(coop, "配合单位意见", shots, "coop")
    sees(coop, DESCRIPTION, DRAFT_1)
    expect(coop.locator("#context-item")).to_contain_text("市发展和改革委员会")
    coop.check("#f-coop_agree")
    coop.fill("#f-coop_opinion_text", COOP_OPINION)
    submit(coop, shots, "coop")

    # the head sees the draft and the opinion; a send-back needs its reason
    head = login_page("head.zrzyj")
    open_task(head, "负责人审核", shots, "head")
    sees(head, DRAFT_1, COOP_OPINION)
    head.check("input[name=head_decision][value=redo]")
    head.click("#complete")
    expect(head.locator("#f-head_reason-error")).to_be_visible()
    head.fill("#f-head_reason", SEND_BACK)
    submit(head, shots, "head-send-back")

    # 修改办理结果: the head's reason is above the form
    open_task(unit, "修改办理结果", shots, "unit-revise")
    sees(unit, SEND_BACK, DRAFT_1)
    unit.fill("#f-handling_result", DRAFT_2)
    unit.check("#f-solved-0")
    submit(unit, shots, "unit-revise")
    open_task(head, "负责人审核", shots, "head-again")
    sees(head, DRAFT_2, SEND_BACK)
    head.check("input[name=head_decision][value=escalation]")
    head.fill("#f-head_reason", ESCALATION)
    submit(head, shots, "head-escalate")

    # the leader sees why, the problem and the unit's result
    mayor = login_page("leader.mayor")
    open_task(mayor, "领导批示", shots, "mayor")
    sees(mayor, ESCALATION, DESCRIPTION, DRAFT_2)
    mayor.check("input[name=leader_mode][value=专题会议]")
    mayor.fill("#f-instruction", INSTRUCTION)
    submit(mayor, shots, "mayor")

    # the minutes: the leader's 批示 is above the form
    open_task(wg, "专题会议纪要", shots, "wg-meeting")
    sees(wg, INSTRUCTION)
    wg.fill("#f-meeting_date", "2026-03-04")
    wg.fill("#f-attendees", "市长\n市自然资源局局长")
    wg.fill("#f-minutes", MINUTES)
    wg.fill("#f-decision_items-0-content", ITEM_1)
    wg.select_option("#f-decision_items-0-unit", "zrzyj")
    wg.fill("#f-decision_items-0-deadline", "2026-03-10")
    wg.click(".add-row")
    wg.fill("#f-decision_items-1-content", ITEM_2)
    wg.select_option("#f-decision_items-1-unit", "fgw")
    wg.fill("#f-decision_items-1-deadline", "2026-03-11")
    submit(wg, shots, "wg-meeting")

    # each unit sees WHICH decision item is its own
    open_task(unit, "落实议定事项", shots, "unit-item")
    expect(unit.locator("#context-item")).to_contain_text(ITEM_1)
    expect(unit.locator("#context-item")).not_to_contain_text(ITEM_2)
    sees(unit, MINUTES)
    unit.fill("#f-item_report", REPORT_1)
    submit(unit, shots, "unit-item")
    open_task(coop, "落实议定事项", shots, "coop-item")
    expect(coop.locator("#context-item")).to_contain_text(ITEM_2)
    coop.fill("#f-item_report", REPORT_2)
    submit(coop, shots, "coop-item")

    # 结果审核: the unit's result, the head's opinion and the reports
    open_task(wg, "结果审核", shots, "wg-review")
    sees(wg, DRAFT_2, ESCALATION, REPORT_1, REPORT_2)
    wg.check("input[name=review_decision][value=accept]")
    submit(wg, shots, "wg-review")

    # the enterprise rates the case seeing the government's answer — and no internal note
    ent.goto(case_url)
    never_internal(ent)
    ent.locator("a.task-link", has_text="回访评价").click()
    sees(ent, DRAFT_2, REPORT_1, REPORT_2, MATERIAL_NOTE)
    expect(ent.locator("#context")).not_to_contain_text(DRAFT_1)  # superseded, never the answer
    expect(ent.locator("#f-visit_method")).to_have_count(0)  # recorded as online, not chosen
    never_internal(ent)
    shots(ent, "ent-visit-context")
    ent.check("input[name=satisfaction][value=不满意]")
    ent.fill("#f-visit_comment", VISIT)
    ent.click("#complete")
    expect(ent.locator(".flash-ok")).to_be_visible()

    # 不满意处置: the enterprise's reason
    open_task(wg, "不满意处置", shots, "wg-dissatisfied")
    sees(wg, VISIT, "企业在线评价")
    wg.check("input[name=dissatisfied_decision][value=explain]")
    wg.fill("#f-explanation", EXPLANATION)
    submit(wg, shots, "wg-dissatisfied")

    # the closed case: the officials' dossier holds everything, by step and round
    wg.goto(wg.base + f"/cases/{case_id}")
    dossier = wg.locator("#dossier")
    for text in [
        DESCRIPTION,
        MATERIAL_NOTE,
        DISPATCH_NOTE,
        DRAFT_1,
        DRAFT_2,
        SEND_BACK,
        ESCALATION,
        INSTRUCTION,
        ITEM_1,
        ITEM_2,
        REPORT_1,
        REPORT_2,
        VISIT,
        EXPLANATION,
        "市自然资源局",
        "2026年3月4日",
    ]:
        expect(dossier).to_contain_text(text)
    expect(dossier.locator("[data-step=Task_head_review]")).to_have_count(2)
    expect(dossier.locator("[data-step=Task_head_review]").nth(1)).to_contain_text("第2轮")
    expect(wg.locator("#timeline")).to_contain_text("审查结论：受理")
    expect(wg.locator("#diagram[data-ready='1']")).to_be_visible(timeout=10000)
    expect(wg.locator(".run-count[data-element=Task_head_review]")).to_have_text("×2")
    assert wg.locator(".highlight-done").count() >= 10
    shots(wg, "wg-dossier")

    # the enterprise's closed case: the answer and the explanation, no internal note
    ent.goto(case_url)
    expect(ent.locator("#dossier")).to_contain_text(EXPLANATION)
    expect(ent.locator("#dossier")).to_contain_text(DRAFT_2)
    never_internal(ent)
    shots(ent, "ent-dossier")

    # ... nor from the API
    from sqlalchemy import select

    from engine.models import User
    from engine.tokens import create_token

    with Session.begin() as session:
        _row, secret = create_token(session, session.scalars(select(User).where(User.username == "ent.demo1")).one())
    headers = {"Authorization": f"Bearer {secret}"}
    for path in (
        f"/api/v1/cases/{case_id}/dossier",
        f"/api/v1/cases/{case_id}/timeline?per_page=100",
        f"/api/v1/instances/{case_id}/history?per_page=100",
    ):
        response = ent.request.get(real_server + path, headers=headers)
        assert response.status == 200, path
        text = json.dumps(response.json(), ensure_ascii=False)
        assert EXPLANATION in text, path  # the public answer is there
        for internal in INTERNAL:
            assert internal not in text, f"{path} gives the enterprise {internal}"
    answer = ent.request.get(real_server + f"/api/v1/cases/{case_id}/dossier", headers=headers).json()
    assert [s["step_id"] for s in answer["steps"]][0] == "submission"
    assert any(a["display"] == DRAFT_2 for s in answer["steps"] for a in s["answers"])
    for page in (ent, wg, unit, coop, head, mayor):
        assert page.js_errors == []

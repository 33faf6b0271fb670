"""Rules without code, end to end in a real browser: a manager changes the 马上办 deadline
from 3 to 2 working days in the decision table (dmn-js) and a label of the dispatch form
(JSON Schema editor with live preview), deploys each as a new version; a new case follows
the new rule and shows the new label. Running cases stay on their version."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import fill_problem

pytestmark = pytest.mark.browser
NEW_LABEL = "办理方式（时限按新规则表）"


def set_cell(page, cell_id: str, value: str):
    cell = page.locator(f"td[data-element-id='{cell_id}']")
    expect(cell).to_have_text("3")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Escape")
    expect(cell.get_by_role("textbox")).to_have_text(value)


def test_manager_changes_deadline_rule_and_form_label(real_server, login_page, shots):
    designer = login_page("designer")
    designer.goto(real_server + "/designer/processes/ztc_case/1")
    designer.locator("a.edit-link[data-file='deadline.dmn']").click()
    expect(designer.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    shots(designer, "dmn-before")
    for rule in (1, 4, 7):  # 特急/紧急/一般 × 马上办
        set_cell(designer, f"ztc_deadline_rule{rule}_out0", "2")
    shots(designer, "dmn-edited")
    xml = designer.evaluate("() => window.ztcDmn.saveXML().then(r => r.xml)")
    assert xml.count("<text>2</text>") == 3 and xml.count("<text>3</text>") == 0
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=15000)
    shots(designer, "dmn-deployed")

    # the form label, on the new version (v2), previewed live
    designer.click("#editor-new-version")
    expect(designer.locator("h1")).to_contain_text("v2")
    designer.locator("a.edit-link[data-file='dispatch.schema.json']").click()
    expect(designer.locator("#preview[data-ready='1']")).to_be_visible(timeout=10000)
    designer.click("#tab-raw")
    text = designer.input_value("#source")
    assert '"title": "办理方式",' in text
    designer.fill("#source", text.replace('"title": "办理方式",', f'"title": "{NEW_LABEL}",', 1))
    expect(designer.locator("#preview")).to_contain_text(NEW_LABEL, timeout=10000)
    designer.fill("#source", text.replace('"title": "办理方式",', '"title": "办理方式",,', 1))
    expect(designer.locator("#json-error")).not_to_be_empty()
    designer.fill("#source", text.replace('"title": "办理方式",', f'"title": "{NEW_LABEL}",', 1))
    shots(designer, "form-edited")
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v3", timeout=15000)
    shots(designer, "form-deployed")
    designer.goto(real_server + "/designer/processes/ztc_case")
    expect(designer.locator("#version-table tbody tr")).to_have_count(3)
    shots(designer, "versions")

    # a new case: the enterprise submits, the working group accepts and dispatches 马上办
    ent = login_page("ent.demo1")
    fill_problem(
        ent,
        title="变电站接入迟迟未批",
        description="我公司新建厂房需要接入电网，申请已提交一个月，尚未答复。",
        help_wanted="请协调尽快接入",
        urgency="特急",
    )
    ent.click("#submit")
    expect(ent.locator(".flash-ok")).to_contain_text("ZTC-")

    wg = login_page("wg.city")
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text="受理审查").first.locator("a.task-link").click()
    wg.check("input[name=intake_decision][value=accept]")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text="分级交办").first.locator("a.task-link").click()
    expect(wg.locator("[data-field='mode'] .label")).to_contain_text(NEW_LABEL)  # the new label
    wg.check("input[name=dispatch_action][value=dispatch]")
    wg.select_option("#f-lead_unit", "gdgs")
    wg.select_option("#f-mode", "马上办")
    shots(wg, "dispatch-new-label")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()

    wg.goto(real_server + "/cases")
    wg.locator("a.case-link").first.click()
    # dispatched on Monday 2026-03-02: 2 working days (the new rule) → Wednesday 03-04, not 03-05
    expect(wg.locator(".summary")).to_contain_text("2026-03-04")
    expect(wg.locator(".summary")).to_contain_text("马上办")
    shots(wg, "case-new-deadline")
    for page in (designer, ent, wg):
        assert page.js_errors == []

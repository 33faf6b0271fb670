"""The structured form editor gives a new field its English label, English help, English option
names and its visibility (issue 15 item 6): an English task page then shows the field in English, the live
preview follows the page language, and the enterprise never reads the internal answer."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.designer_web.test_browser_designer_tools import submit_problem

pytestmark = pytest.mark.browser


def change(locator, value: str) -> None:
    locator.fill(value)
    locator.dispatch_event("change")


def test_a_new_field_with_english_label_and_internal_visibility(real_server, login_page, shots):
    designer = login_page("designer")
    designer.goto(f"{real_server}/designer/processes/ztc_case/1/edit/intake-review.schema.json")
    expect(designer.locator("#preview[data-ready='1']")).to_be_visible(timeout=10000)
    first = designer.locator("#fields tr.field-row[data-name='intake_decision']")
    expect(first.locator(".f-label-en")).to_have_value("Decision")  # read from the UI schema
    expect(first.locator(".f-visibility")).to_have_value("public")
    expect(first.locator(".f-options")).to_have_value(
        "accept=受理=Accept\nreject=不予受理=Do not accept\nneed_material=请企业补充材料=Ask the enterprise for more material"
    )
    expect(designer.locator("#missing-en")).to_be_hidden()

    designer.click("#btn-add-field")
    change(designer.locator("#fields tr.field-row").nth(3).locator(".f-name"), "risk_level")
    row = designer.locator("#fields tr.field-row[data-name='risk_level']")
    row.locator(".f-type").select_option("choice")
    change(row.locator(".f-label"), "风险等级")
    expect(designer.locator("#missing-en")).to_contain_text("1 个字段缺英文标签")  # told before deploying
    change(row.locator(".f-options"), "low=低=Low\nhigh=高")
    change(row.locator(".f-label-en"), "Risk level")
    change(row.locator(".f-help"), "按项目停滞的时间判断")
    change(row.locator(".f-help-en"), "Judge by how long the project has stalled")
    expect(designer.locator("#missing-en")).to_contain_text("1 个字段缺英文标签")  # 高 has no English name yet
    change(row.locator(".f-options"), "low=低=Low\nhigh=高=High")
    expect(designer.locator("#missing-en")).to_be_hidden()
    expect(row.locator(".f-visibility")).to_have_value("")  # silent: the form's default, internal
    expect(row.locator(".f-visibility option[value='']")).to_have_text("表单默认（内部）")
    row.locator(".f-visibility").select_option("internal")
    expect(designer.locator("#preview #f-risk_level option", has_text="高")).to_have_count(1, timeout=10000)
    shots(designer, "editor-english-label")
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)

    files = f"{real_server}/designer/processes/ztc_case/2/files"
    ui = json.loads(designer.request.get(f"{files}/intake-review.uischema.json").text())
    assert ui["risk_level"] == {
        "ui:title_en": "Risk level",
        "ui:help_en": "Judge by how long the project has stalled",
        "ui:enumNames_en": {"low": "Low", "high": "High"},
    }
    assert ui["intake_decision"]["ui:title_en"] == "Decision"  # the other fields' English is kept
    schema = json.loads(designer.request.get(f"{files}/intake-review.schema.json").text())
    assert schema["properties"]["risk_level"]["x-visibility"] == "internal"

    # the live preview follows the page language
    designer.click("#lang-switch")
    designer.goto(f"{real_server}/designer/processes/ztc_case/2/edit/intake-review.schema.json")
    expect(designer.locator("#preview [data-field='risk_level']")).to_contain_text("Risk level", timeout=10000)
    expect(designer.locator("#preview #f-risk_level option", has_text="High")).to_have_count(1)
    shots(designer, "preview-in-english")

    ent = submit_problem(login_page, "厂房用地手续卡在预审")
    case_url = ent.url
    wg = login_page("wg.city")
    wg.click("#lang-switch")
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text="厂房用地手续卡在预审").locator("a.task-link").click()
    field = wg.locator("form [data-field='risk_level']")
    expect(field).to_contain_text("Risk level")
    expect(field).to_contain_text("Judge by how long the project has stalled")
    expect(field).not_to_contain_text("风险等级")
    expect(field).not_to_contain_text("停滞")
    expect(wg.locator("#f-risk_level option", has_text="High")).to_have_count(1)
    shots(wg, "task-page-in-english")
    wg.select_option("#f-risk_level", "high")
    wg.check("input[name=intake_decision][value=accept]")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()

    ent.goto(case_url)  # the enterprise reads the decision, not the internal risk level
    expect(ent.locator("body")).to_contain_text("审查结论")
    expect(ent.locator("body")).not_to_contain_text("风险等级")
    for page in (designer, ent, wg):
        assert page.js_errors == []

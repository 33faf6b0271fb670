"""Issue 15 item 6 in a real browser: the modeler's side panel writes the properties the engine
reads (candidate groups and due date reach the task; decision, call binding, notify, prefill,
multi-instance fields survive deploy and reopen), and the structured form editor adds a required
field that the task page then draws first and insists on."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.web.conftest import fill_problem

pytestmark = pytest.mark.browser


def open_modeler(page, base: str, version: int = 1):
    page.goto(f"{base}/designer/processes/ztc_case/{version}")
    page.locator("a.edit-link[data-file='case.bpmn']").click()
    expect(page.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)


def select(page, element_id: str) -> None:
    page.evaluate(
        """(id) => { const m = window.ztcModeler;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""",
        element_id,
    )
    expect(page.locator("#prop-id")).to_have_value(element_id)


def set_field(page, selector: str, value: str) -> None:
    if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
        page.select_option(selector, value)
    else:
        page.fill(selector, value)
    page.locator(selector).dispatch_event("change")


def submit_problem(login_page, title: str):
    ent = login_page("ent.demo1")
    fill_problem(
        ent, title=title, description="新建厂房的用地预审已提交两个月，没有答复。", help_wanted="请协调尽快完成预审"
    )
    ent.click("#submit")
    expect(ent.locator(".flash-ok")).to_contain_text("ZTC-")
    return ent


def test_side_panel_sets_candidate_groups_and_due_date_the_task_is_offered_so(real_server, login_page, shots, Session):
    designer = login_page("designer")
    open_modeler(designer, real_server)
    select(designer, "Task_intake")
    expect(designer.locator("#prop-groups")).to_have_value("'wg:' + org")
    set_field(designer, "#prop-groups", "'wg:jianping'")
    set_field(designer, "#prop-due", "'2030-06-28T17:00:00+08:00'")
    shots(designer, "panel-user-task")
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)
    open_modeler(designer, real_server, 2)  # reopened: the panel shows what was set
    select(designer, "Task_intake")
    expect(designer.locator("#prop-groups")).to_have_value("'wg:jianping'")
    expect(designer.locator("#prop-due")).to_have_value("'2030-06-28T17:00:00+08:00'")

    ent = submit_problem(login_page, "用地预审迟迟没有答复")
    city = login_page("wg.city")  # the lane's group no longer gets it
    city.goto(real_server + "/inbox")
    expect(city.locator("tr.task-row", has_text="用地预审迟迟没有答复")).to_have_count(0)
    county = login_page("wg.jianping")
    county.goto(real_server + "/inbox")
    row = county.locator("tr.task-row", has_text="受理审查").filter(has_text="用地预审迟迟没有答复")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2030-06-28 17:00")
    shots(county, "inbox-offered")
    row.locator("a.task-link").click()
    expect(county.locator("body")).to_contain_text("2030-06-28")
    shots(county, "task-deadline")
    from engine.models import HumanTask

    with Session() as session:
        task = session.query(HumanTask).filter_by(bpmn_id="Task_intake", state="ready").one()
        assert task.due_at.isoformat()[:10] == "2030-06-28"
    for page in (designer, ent, city, county):
        assert page.js_errors == []


def test_side_panel_decision_call_binding_multi_instance_notify_prefill_round_trip(real_server, login_page, shots):
    designer = login_page("designer")
    open_modeler(designer, real_server)
    rule = designer.evaluate("""() => window.ztcModeler.get('elementRegistry')
        .filter(e => e.type === 'bpmn:BusinessRuleTask')
        .map(e => e.id).find(id => id.toLowerCase().includes('deadline'))""")
    select(designer, rule)
    expect(designer.locator("#prop-decision")).to_have_value("ztc_deadline")
    select(designer, "Call_leader")
    expect(designer.locator("#prop-called")).to_have_value("ztc_leader")
    expect(designer.locator("#prop-binding")).to_have_value("latest")
    expect(designer.locator("#prop-called-version")).to_be_disabled()
    set_field(designer, "#prop-binding", "version")
    set_field(designer, "#prop-called-version", "1")
    shots(designer, "panel-call-activity")
    select(designer, "Task_coop")
    expect(designer.locator("#prop-mi-collection")).to_have_value("coop_units")
    expect(designer.locator("#prop-mi-element")).to_have_value("coop_unit")
    shots(designer, "panel-multi-instance")
    select(designer, "Task_intake")
    set_field(designer, "#prop-prefill", "intake_reason")
    notify = "{'kind': 'notice', 'groups': ['wg:city'], 'subject': '已受理', 'text': '已受理'}"
    set_field(designer, "#prop-notify", notify)
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)

    xml = designer.request.get(f"{real_server}/designer/processes/ztc_case/2/files/case.bpmn").text()
    assert '<spiffworkflow:property name="calledElementBinding" value="version"' in xml
    assert '<spiffworkflow:property name="calledElementVersion" value="1"' in xml
    assert "<bpmn:loopDataInputRef>coop_units</bpmn:loopDataInputRef>" in xml
    assert "<spiffworkflow:calledDecisionId>ztc_deadline</spiffworkflow:calledDecisionId>" in xml

    open_modeler(designer, real_server, 2)
    select(designer, "Call_leader")
    expect(designer.locator("#prop-binding")).to_have_value("version")
    expect(designer.locator("#prop-called-version")).to_have_value("1")
    select(designer, "Task_intake")
    expect(designer.locator("#prop-prefill")).to_have_value("intake_reason")
    expect(designer.locator("#prop-notify")).to_have_value(notify)
    select(designer, rule)
    set_field(designer, "#prop-decision", "ztc_handling_mode")  # another table: written into the XML
    assert (
        designer.evaluate("""() => window.ztcModeler.saveXML().then(r => r.xml)""").count(
            "<spiffworkflow:calledDecisionId>ztc_handling_mode<"
        )
        == 2
    )
    assert designer.js_errors == []


def test_structured_form_editor_adds_a_required_field_drawn_first_and_insisted_on(real_server, login_page, shots):
    designer = login_page("designer")
    designer.goto(f"{real_server}/designer/processes/ztc_case/1")
    designer.locator("a.edit-link[data-file='intake-review.schema.json']").click()
    expect(designer.locator("#preview[data-ready='1']")).to_be_visible(timeout=10000)
    rows = designer.locator("#fields tr.field-row")
    expect(rows).to_have_count(3)
    expect(rows.first.locator(".f-name")).to_have_value("intake_decision")
    designer.click("#btn-add-field")
    expect(rows).to_have_count(4)
    new = rows.nth(3)
    new.locator(".f-name").fill("risk_level")
    new.locator(".f-name").dispatch_event("change")
    new = designer.locator("#fields tr.field-row[data-name='risk_level']")
    new.locator(".f-type").select_option("choice")
    new.locator(".f-label").fill("风险等级")
    new.locator(".f-label").dispatch_event("change")
    new.locator(".f-options").fill("low=低\nhigh=高")
    new.locator(".f-options").dispatch_event("change")
    new.locator(".f-required").check()
    for _ in range(3):
        designer.locator("#fields tr.field-row[data-name='risk_level'] .f-up").click()
    expect(rows.first).to_have_attribute("data-name", "risk_level")
    # the preview follows: the new field is drawn first, with its options
    expect(designer.locator("#preview [data-field]").first).to_have_attribute("data-field", "risk_level", timeout=10000)
    expect(designer.locator("#preview #f-risk_level option", has_text="高")).to_have_count(1)
    shots(designer, "structured-editor")
    designer.click("#tab-raw")  # the raw JSON tab holds the same schema
    raw = json.loads(designer.input_value("#source"))
    assert raw["properties"]["risk_level"]["oneOf"] == [
        {"const": "low", "title": "低"},
        {"const": "high", "title": "高"},
    ]
    assert "risk_level" in raw["required"] and list(raw["properties"])[0] == "risk_level"
    designer.click("#tab-fields")
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)
    ui = json.loads(
        designer.request.get(f"{real_server}/designer/processes/ztc_case/2/files/intake-review.uischema.json").text()
    )
    assert ui["ui:order"] == ["risk_level", "intake_decision", "intake_reason", "material_request"]

    ent = submit_problem(login_page, "厂房用地手续卡在预审")
    wg = login_page("wg.city")
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text="受理审查").first.locator("a.task-link").click()
    expect(wg.locator("#f-risk_level")).to_be_visible()
    expect(wg.locator("form [data-field]").first).to_have_attribute("data-field", "risk_level")
    wg.check("input[name=intake_decision][value=accept]")
    wg.click("#complete")  # refused: the required new field is empty
    expect(wg.locator("[data-field='risk_level'] .error-msg")).to_be_visible()
    shots(wg, "task-refused-without-new-field")
    wg.select_option("#f-risk_level", "high")
    wg.check("input[name=intake_decision][value=accept]")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    for page in (designer, ent, wg):
        assert page.js_errors == []


def test_dmn_cells_are_checked_live_while_editing(real_server, login_page, shots):
    designer = login_page("designer")
    designer.goto(f"{real_server}/designer/processes/ztc_case/1")
    designer.locator("a.edit-link[data-file='deadline.dmn']").click()
    expect(designer.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    cell = designer.locator("td[data-element-id='ztc_deadline_rule4_in0']")
    cell.click()
    designer.keyboard.press("Control+A")
    designer.keyboard.type("紧急")
    # no button pressed: the checker marks the cell and lists the suggestion
    expect(designer.locator("td[data-element-id='ztc_deadline_rule4_in0'].has-problem")).to_be_visible(timeout=15000)
    expect(designer.locator("#problems")).to_contain_text('是否应为 "紧急"？')
    shots(designer, "dmn-live-problem")
    cell.click()
    designer.keyboard.press("Control+A")
    designer.keyboard.type('"紧急"')
    expect(designer.locator("#canvas[data-live='0']")).to_be_visible(timeout=15000)
    expect(designer.locator("#canvas td.has-problem")).to_have_count(0)
    expect(designer.locator("#problems")).to_be_hidden()
    designer.goto(real_server + "/designer/processes/ztc_case")
    expect(designer.locator("#version-table tbody tr")).to_have_count(1)  # checking deploys nothing
    assert designer.js_errors == []

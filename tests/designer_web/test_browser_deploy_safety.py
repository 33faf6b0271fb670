"""Deploy proves a change is safe and no change is lost (issue 15), in a real browser: a manager
adds required fields (drawn, filled in, the case moves on), a DMN typo is refused with the
suggestion and marked on its cell, two tabs deploying from the same base (the second is refused
with the diff, then applied on the latest), and `zhitongche run`'s deploy step keeps the web
versions."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.web.conftest import fill_problem

pytestmark = pytest.mark.browser


def open_editor(page, base: str, name: str, version: int = 1):
    page.goto(f"{base}/designer/processes/ztc_case/{version}")
    page.locator(f"a.edit-link[data-file='{name}']").click()


def edit_form(page, change) -> None:
    expect(page.locator("#preview[data-ready='1']")).to_be_visible(timeout=10000)
    page.click("#tab-raw")  # the structured table is the first tab; the raw JSON the second
    data = json.loads(page.input_value("#source"))
    change(data)
    page.fill("#source", json.dumps(data, ensure_ascii=False, indent=2))


def add_required(data: dict, name: str, title: str) -> None:
    data["properties"][name] = {"type": "string", "title": title, "maxLength": 100}
    data["required"].append(name)


def test_manager_adds_required_fields_they_are_drawn_and_the_case_moves_on(
    real_server, login_page, shots, engine, Session
):
    designer = login_page("designer")
    # the enterprise's submission form: the portal draws it from the deployed version
    open_editor(designer, real_server, "case-submit.schema.json")
    edit_form(designer, lambda d: add_required(d, "project_code", "项目备案编号"))
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)
    # 受理审查 gets a required field its UI order does not list
    open_editor(designer, real_server, "intake-review.schema.json", 2)
    edit_form(designer, lambda d: add_required(d, "risk_note", "风险提示"))
    designer.click("#btn-deploy")
    expect(designer.locator("#editor-status")).to_contain_text("ztc_case v3", timeout=30000)
    # a required name that is no field is refused with the reason
    open_editor(designer, real_server, "intake-review.schema.json", 3)
    edit_form(designer, lambda d: d["required"].append("reviewer_sign"))
    designer.click("#btn-deploy")
    expect(designer.locator("#problems")).to_contain_text("必填项 reviewer_sign 不是表单中的字段", timeout=30000)
    shots(designer, "required-name-refused")

    ent = login_page("ent.demo1")
    fill_problem(
        ent,
        title="厂房用地手续卡在预审",
        description="新建厂房的用地预审已提交两个月，没有答复。",
        help_wanted="请协调尽快完成预审",
    )
    expect(ent.locator("#f-project_code")).to_be_visible()
    ent.click("#submit")
    expect(ent.locator("[data-field='project_code'] .error-msg")).to_be_visible()  # required: asked for, input kept
    expect(ent.locator("#f-title")).to_have_value("厂房用地手续卡在预审")
    ent.fill("#f-project_code", "2026-370102-01")
    shots(ent, "submit-new-field")
    ent.click("#submit")
    expect(ent.locator(".flash-ok")).to_contain_text("ZTC-")

    wg = login_page("wg.city")
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text="受理审查").first.locator("a.task-link").click()
    expect(wg.locator("#f-risk_note")).to_be_visible()
    wg.check("input[name=intake_decision][value=accept]")
    wg.fill("#f-risk_note", "涉及基本农田，需自然资源局先行核查")
    shots(wg, "intake-new-field")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    wg.goto(real_server + "/inbox")
    expect(wg.locator("tr.task-row", has_text="分级交办").first).to_be_visible()
    from engine.models import Instance

    with Session() as session:  # the case runs on v3 and carries both new answers
        case = session.query(Instance).filter_by(process_id="ztc_case").one()
        data = engine.workflow_data(case)
        assert (case.process_version.version, data["project_code"], data["risk_note"]) == (
            3,
            "2026-370102-01",
            "涉及基本农田，需自然资源局先行核查",
        )
    for page in (designer, ent, wg):
        assert page.js_errors == []


def test_an_unquoted_word_in_the_deadline_table_is_refused_with_the_suggestion(real_server, login_page, shots):
    designer = login_page("designer")
    open_editor(designer, real_server, "deadline.dmn")
    expect(designer.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    cell = designer.locator("td[data-element-id='ztc_deadline_rule4_in0']")
    expect(cell).to_have_text('"紧急"')
    cell.click()
    designer.keyboard.press("Control+A")
    designer.keyboard.type("紧急")
    designer.keyboard.press("Escape")
    designer.click("#btn-deploy")
    expect(designer.locator("#problems")).to_contain_text('是否应为 "紧急"？', timeout=30000)
    expect(designer.locator("#problems")).to_contain_text('did you mean "紧急"?')
    expect(designer.locator("tr.problem[data-element='ztc_deadline_rule4_in0'] .p-line")).not_to_be_empty()
    expect(designer.locator("td[data-element-id='ztc_deadline_rule4_in0'].has-problem")).to_be_visible()
    shots(designer, "dmn-typo-refused")
    designer.goto(real_server + "/designer/processes/ztc_case")
    expect(designer.locator("#version-table tbody tr")).to_have_count(1)  # nothing deployed
    assert designer.js_errors == []


def test_two_tabs_from_the_same_base_then_a_restart_keeps_the_web_versions(
    real_server, real_app, login_page, Session, shots
):
    first = login_page("designer")
    second = login_page("designer")  # another tab (its own session), opened on the same v1
    open_editor(first, real_server, "deadline.dmn")
    open_editor(second, real_server, "dispatch.schema.json")
    expect(first.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    cell = first.locator("td[data-element-id='ztc_deadline_rule1_out0']")
    cell.click()
    first.keyboard.press("Control+A")
    first.keyboard.type("2")
    first.keyboard.press("Escape")
    first.click("#btn-deploy")
    expect(first.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=30000)

    edit_form(second, lambda d: d["properties"]["mode"].update(title="办理方式（新）"))
    second.click("#btn-deploy")  # based on v1, but v2 exists now
    expect(second.locator("#editor-conflict .conflict-message")).to_contain_text("已有更新的版本 v2", timeout=30000)
    expect(second.locator("#editor-conflict .conflict-diff")).to_contain_text("+++ v2/deadline.dmn")
    expect(second.locator("#editor-conflict .conflict-diff")).to_contain_text("<text>2</text>")
    shots(second, "second-tab-refused")
    second.goto(real_server + "/designer/processes/ztc_case")
    expect(second.locator("#version-table tbody tr")).to_have_count(2)  # nothing stored
    second.go_back()
    edit_form(second, lambda d: d["properties"]["mode"].update(title="办理方式（新）"))
    second.click("#btn-deploy")
    second.click("#btn-apply-latest")  # the form edit applied on v2: both changes kept
    expect(second.locator("#editor-status")).to_contain_text("ztc_case v3", timeout=30000)
    v3 = second.request.get(real_server + "/designer/processes/ztc_case/3/files/deadline.dmn").text()
    assert '<outputEntry id="ztc_deadline_rule1_out0">\n          <text>2</text>' in v3.replace("\r", "")
    form = second.request.get(real_server + "/designer/processes/ztc_case/3/files/dispatch.schema.json").text()
    assert "办理方式（新）" in form

    # `zhitongche run` starts again: its deploy step keeps the web versions
    from webapp.cli.processes import deploy_quietly

    deploy_quietly(Session, real_app.config["SETTINGS"])
    second.goto(real_server + "/designer/processes/ztc_case")
    rows = second.locator("#version-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator(".version-origin")).to_contain_text("网页")
    expect(rows.first.locator(".version-origin")).to_contain_text("基于 v2")
    expect(rows.last.locator(".version-origin")).to_contain_text("文件")
    shots(second, "versions-after-restart")
    assert first.js_errors == [] and second.js_errors == []

"""What a manager walking the modeler needs (issue 15 item 6): the side panel opens a task's form
and a rule task's decision table in their editors, the zoom buttons make the diagram readable
around the selected task, the decision table editor's own words are Chinese, and opening the
editors logs no error to the console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.designer_web.test_browser_designer_tools import open_modeler, select

pytestmark = pytest.mark.browser


def test_the_side_panel_opens_the_form_and_the_decision_table_of_the_version(real_server, login_page, shots):
    designer = login_page("designer")
    open_modeler(designer, real_server)
    select(designer, "Task_intake")
    link = designer.locator("#open-form")
    expect(link).to_have_attribute("href", "/designer/processes/ztc_case/1/edit/intake-review.schema.json")
    expect(link).to_have_attribute("target", "_blank")  # the diagram's unsaved edits stay
    designer.fill("#prop-form", "no-such-form.schema.json")
    designer.locator("#prop-form").dispatch_event("input")
    expect(link).to_be_hidden()  # no editor for a file the version does not have
    designer.fill("#prop-form", "dispatch.schema.json")
    designer.locator("#prop-form").dispatch_event("input")
    expect(link).to_have_attribute("href", "/designer/processes/ztc_case/1/edit/dispatch.schema.json")

    select(designer, "Task_deadline_rule")
    with designer.expect_popup() as opened:
        designer.click("#open-decision")
    table = opened.value
    expect(table.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    assert table.url.endswith("/designer/processes/ztc_case/1/edit/deadline.dmn")
    expect(table.locator("td[data-element-id='ztc_deadline_rule1_in0']")).to_be_visible()
    table.close()

    # a check that fails says so, without "nothing deployed" (nothing was to be deployed)
    select(designer, "Flow_Gateway_head_Task_revise")
    designer.fill("#prop-condition", "head_decison == 'redo'")
    designer.locator("#prop-condition").dispatch_event("change")
    designer.click("#btn-validate")
    expect(designer.locator("#editor-status")).to_have_text(re.compile(r"^校验未通过（\d+ 个问题）$"), timeout=30000)
    expect(designer.locator("#editor-problems")).to_contain_text("head_decison")

    # zoom in around the selected task: it grows and stays in view
    select(designer, "Task_intake")
    box = designer.locator("g.djs-element[data-element-id='Task_intake']").bounding_box()
    for _ in range(3):
        designer.click("#zoom-in")
    bigger = designer.locator("g.djs-element[data-element-id='Task_intake']").bounding_box()
    assert bigger["width"] > 1.8 * box["width"]
    canvas = designer.locator("#canvas").bounding_box()
    assert canvas["x"] <= bigger["x"] and bigger["x"] + bigger["width"] <= canvas["x"] + canvas["width"]
    shots(designer, "zoomed-in-on-the-selected-task")
    designer.click("#zoom-fit")
    fitted = designer.locator("g.djs-element[data-element-id='Task_intake']").bounding_box()
    assert abs(fitted["width"] - box["width"]) < 1

    # the decision table editor speaks the page's language (dmn-js's own words are English)
    designer.goto(f"{real_server}/designer/processes/ztc_case/1/edit/deadline.dmn")
    expect(designer.locator("#canvas[data-ready='1']")).to_be_visible(timeout=15000)
    expect(designer.locator("#canvas .hit-policy")).to_contain_text("命中策略")
    expect(designer.locator("#canvas")).not_to_contain_text("View DRD")
    # the hit policies the engine does not run are marked as such (deploy refuses them)
    designer.locator("#canvas .hit-policy .dms-input-select").click()
    options = designer.locator(".dms-select-options .option")
    expect(options.filter(has_text="优先级（Priority，不支持）")).to_have_count(1)
    expect(options.filter(has_text="汇总求和（Collect Sum，不支持）")).to_have_count(1)
    expect(options.filter(has_text="首个（First）")).to_have_count(1)
    assert options.filter(has_text="不支持").count() == 8  # of 11: Unique, First and Collect run
    shots(designer, "hit-policies-marked")
    designer.keyboard.press("Escape")
    designer.locator("td[data-element-id='ztc_deadline_rule4_in0']").click(button="right")
    expect(designer.locator(".context-menu", has_text="在下方添加规则")).to_be_visible()
    shots(designer, "decision-table-menu-in-chinese")
    assert designer.js_errors == []
    assert [m for m in designer.console if "keyboard.bindTo" in m] == []  # both editors opened without it

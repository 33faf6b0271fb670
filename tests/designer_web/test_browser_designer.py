"""The designer pages in a real browser (Playwright + Debian chromium): a broken upload's
report names file, line and element and marks it on the diagram; every MIWG reference
diagram renders; the modeler opens the case process, shows validation errors on the
canvas, renames a task and deploys a new version; the diff page marks the change."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import CORPUS

from .conftest import ROOT
from .test_designer_pages import broken_return_visit

pytestmark = pytest.mark.browser
MIWG = CORPUS / "miwg"


def test_broken_upload_report_names_file_line_element(real_server, login_page, shots, tmp_path):
    page = login_page("designer")
    page.click("#nav-designer")
    expect(page.locator("#process-table")).to_contain_text("ztc_case")
    shots(page, "processes")
    page.click("#go-deploy")
    broken = tmp_path / "return_visit.bpmn"
    broken.write_bytes(broken_return_visit())
    page.set_input_files("#files", str(broken))
    page.click("#deploy")
    expect(page.locator("#report-title")).to_contain_text("未部署")
    row = page.locator("tr.problem").first
    expect(row.locator(".p-file")).to_have_text("return_visit.bpmn")
    expect(row.locator(".p-line")).to_have_text("41")
    expect(row.locator(".p-element")).to_have_text("Task_visit")
    expect(page.locator(".bpmn-view[data-ready='1']")).to_have_count(1, timeout=10000)
    assert page.locator(".bpmn-view").get_attribute("data-marked") == "1"
    assert page.locator("g.djs-element.problem[data-element-id='Task_visit']").count() == 1
    shots(page, "report")
    page.goto(real_server + "/designer/processes/ztc_return_visit")
    expect(page.locator("#version-table tbody tr")).to_have_count(1)  # nothing stored

    # fixed and renamed: deployed as version 2, the rest taken from the deployed versions
    fixed = tmp_path / "fixed" / "return_visit.bpmn"
    fixed.parent.mkdir()
    fixed.write_text(
        (ROOT / "processes" / "return_visit.bpmn")
        .read_text("utf-8")
        .replace('name="回访评价"', 'name="回访评价（电话）"', 1),
        "utf-8",
    )
    page.goto(real_server + "/designer/deploy")
    page.set_input_files("#files", str(fixed))
    page.click("#deploy")
    expect(page.locator("#report-title")).to_have_text("部署完成")
    # the case process calls the return visit, so it gets a new version too
    expect(page.locator("#deployed li.created", has_text="ztc_return_visit v2")).to_have_count(1)
    expect(page.locator("#deployed li.created", has_text="ztc_case v2")).to_have_count(1)
    shots(page, "deployed")
    page.goto(real_server + "/designer/processes/ztc_return_visit")
    expect(page.locator("#version-table tbody tr")).to_have_count(2)
    expect(page.locator("#version-table")).to_contain_text("designer")
    shots(page, "versions")
    assert page.js_errors == []


def test_miwg_reference_diagrams_render(real_server, login_page, shots):
    page = login_page("designer")
    files = sorted(MIWG.glob("*.bpmn"))
    assert len(files) >= 20
    failed = {}
    for path in files:
        page.goto(real_server + "/designer/deploy")
        page.set_input_files("#files", str(path))
        page.uncheck("#fill")
        page.click("#validate")
        view = page.locator(".bpmn-view")
        expect(view).to_have_count(1)
        expect(page.locator(".bpmn-view[data-ready='1'], .bpmn-view[data-error]")).to_have_count(1, timeout=15000)
        if view.get_attribute("data-error"):
            failed[path.name] = view.get_attribute("data-error")
        assert page.locator(".bpmn-view .djs-element").count() > 1, path.name
        shots(page, path.stem)
    assert failed == {}
    assert page.js_errors == []


def test_modeler_shows_problems_renames_and_deploys_then_diff_marks_it(real_server, login_page, shots):
    page = login_page("designer")
    page.goto(real_server + "/designer/processes/ztc_case/1")
    expect(page.locator("#diagram[data-ready='1']")).to_be_visible(timeout=10000)
    shots(page, "version")
    page.locator("a.edit-link[data-file='case.bpmn']").click()
    canvas = page.locator("#canvas[data-ready='1']")
    expect(canvas).to_be_visible(timeout=15000)
    shots(page, "modeler")

    # a broken condition: refused, named with its element id and marked on the canvas
    flow = page.evaluate("""() => {
        const reg = window.ztcModeler.get('elementRegistry');
        const f = reg.filter(e => e.type === 'bpmn:SequenceFlow' && e.businessObject.conditionExpression)[0];
        window.ztcModeler.get('selection').select(f);
        return f.id; }""")
    expect(page.locator("#prop-condition")).to_be_visible()
    page.fill("#prop-condition", "head_decision ==")
    page.locator("#prop-condition").dispatch_event("change")
    page.click("#btn-validate")
    expect(page.locator("#editor-status")).to_contain_text("未通过")
    expect(page.locator("#problems .p-element", has_text=flow).first).to_be_visible()
    assert int(canvas.get_attribute("data-problems")) >= 1
    shots(page, "modeler-problem")

    # undo the condition, rename the dispatch task through the side panel, check the form property
    page.evaluate("() => { const cs = window.ztcModeler.get('commandStack'); while (cs.canUndo()) cs.undo(); }")
    page.locator("g.djs-element[data-element-id='Task_dispatch']").click()
    expect(page.locator("#prop-id")).to_have_value("Task_dispatch")
    expect(page.locator("#prop-form")).to_have_value("dispatch.schema.json")
    expect(page.locator("#prop-groups")).to_have_value("'wg:' + org")
    page.fill("#prop-name", "分级交办（网页修改）")
    page.locator("#prop-name").dispatch_event("change")
    page.fill("#prop-due", "add_workdays(now(), 2)")
    page.locator("#prop-due").dispatch_event("change")
    shots(page, "modeler-edited")
    page.click("#btn-deploy")
    expect(page.locator("#editor-status")).to_contain_text("ztc_case v2", timeout=15000)
    shots(page, "modeler-deployed")

    # the diff page lists the change and marks it on the diagram
    page.goto(real_server + "/designer/processes/ztc_case")
    page.click("#diff-go")
    row = page.locator("tr.diff-row[data-element='Task_dispatch']")
    expect(row).to_contain_text("分级交办（网页修改）")
    expect(row).to_contain_text("属性 dueDate")  # the property, old → new
    expect(page.locator("#diagram-new[data-ready='1']")).to_be_visible(timeout=10000)
    expect(page.locator("#diagram-new g.djs-element.diff-changed[data-element-id='Task_dispatch']")).to_have_count(1)
    shots(page, "diff")
    assert page.js_errors == []

"""The enterprise's portal flows on the real process (processes/case.bpmn), in a real browser:
withdrawing a case (a confirmation dialog from app.js, no inline script: the CSP would block
it), adding material when the working group asks for it, and answering the return visit.
Screenshots in test-artifacts/web/<test>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import Case, submission

from .conftest import ENT1

pytestmark = pytest.mark.browser
CITY_WG = "wg:city"


@pytest.fixture
def ent1_case(real_app, Session, engine, clock):
    """new() → a Case of ent.demo1's, submitted to the city working group."""
    from engine import cases

    def new(**overrides) -> Case:
        data = submission(uscc=ENT1, enterprise_name="朝阳示范新材料有限公司", **overrides)
        with Session.begin() as session:
            case_no = cases.start_case(session, engine, data, actor="ent.demo1").business_key
        return Case(Session, engine, clock, case_no)

    return new


def csp_violations(*pages) -> list[str]:
    return [m for page in pages for m in page.console if "Content Security Policy" in m or "Refused to" in m]


def test_withdraw_asks_for_confirmation_and_nothing_breaks_the_csp(real_server, login_page, shots, ent1_case):
    case = ent1_case(title="误报的问题")
    ent = login_page("ent.demo1")
    ent.goto(real_server + "/portal/")
    shots(ent, "home")
    ent.locator("a", has_text=case.case_no).first.click()
    expect(ent.locator("#withdraw-form")).to_be_visible()
    shots(ent, "case")
    dialogs = []

    def answer(dialog, accept):
        dialogs.append((dialog.type, dialog.message))
        dialog.accept() if accept else dialog.dismiss()

    # dismissed: nothing happens
    ent.once("dialog", lambda d: answer(d, False))
    ent.click("#withdraw-form button[type=submit]")
    assert dialogs == [("confirm", "确定撤回此案件吗？")]
    expect(ent.locator("#withdraw-form")).to_be_visible()
    assert case.status == "running"
    # accepted: the case is withdrawn
    ent.once("dialog", lambda d: answer(d, True))
    ent.click("#withdraw-form button[type=submit]")
    expect(ent.locator(".flash-ok")).to_contain_text("案件已撤回")
    assert len(dialogs) == 2
    shots(ent, "withdrawn")
    assert case.summary["outcome"] == "withdrawn"
    expect(ent.locator("#withdraw-form")).to_have_count(0)
    assert csp_violations(ent) == [] and ent.js_errors == []


def test_enterprise_adds_material_when_asked(real_server, login_page, shots, ent1_case, tmp_path):
    case = ent1_case()
    plan = tmp_path / "规划总平面图.pdf"
    plan.write_bytes(b"%PDF-1.4\n% plan\n")

    # the working group asks for material
    wg = login_page("wg.city")
    wg.goto(real_server + "/inbox")
    wg.locator("tr.task-row", has_text=case.case_no).locator("a.task-link").click()
    expect(wg.locator("h1")).to_contain_text("受理审查")
    wg.check("input[name=intake_decision][value=need_material]")
    wg.fill("#f-material_request", "请补充规划总平面图和用地红线图")
    shots(wg, "wg-asks-for-material")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    assert case.summary["status"] == "待补充材料"
    assert case.open_tasks() == []

    # the enterprise sees the request and sends the material
    ent = login_page("ent.demo1")
    ent.goto(real_server + f"/portal/cases/{case.instance().id}")
    expect(ent.locator("#material-request-text")).to_have_text("请补充规划总平面图和用地红线图")
    shots(ent, "ent-sees-request")
    ent.fill("#f-material_note", "已上传规划总平面图，用地红线图随后补交。")
    ent.set_input_files("#f-material_files", str(plan))
    shots(ent, "ent-material-filled")
    ent.click("#material-form button[type=submit]")
    expect(ent.locator(".flash-ok")).to_contain_text("补充材料已提交")
    expect(ent.locator("#material-form")).to_have_count(0)
    expect(ent.locator("#attachments")).to_contain_text("规划总平面图.pdf")
    shots(ent, "ent-material-sent")

    # the working group has the intake task again, with the material in the case
    assert case.open_tasks() == [("受理审查", [CITY_WG])]
    wg.goto(real_server + "/inbox")
    row = wg.locator("tr.task-row", has_text=case.case_no)
    expect(row).to_contain_text("受理审查")
    shots(wg, "wg-inbox-intake-again")
    wg.goto(real_server + f"/cases/{case.instance().id}")
    expect(wg.locator("#attachments")).to_contain_text("规划总平面图.pdf")
    shots(wg, "wg-case-with-material")
    assert csp_violations(ent, wg) == [] and ent.js_errors == [] and wg.js_errors == []


def test_enterprise_answers_the_return_visit(real_server, login_page, shots, ent1_case):
    case = ent1_case(urgency="特急", category="融资贷款")
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    case.complete(
        "分级交办", CITY_WG, {"dispatch_action": "dispatch", "lead_unit": "jrfzj", "coop_units": [], "mode": "马上办"}
    )
    case.complete("拟办办理结果", "unit:jrfzj", {"handling_result": "贷款已审批发放", "solved": True})
    case.complete("负责人审核", "head:jrfzj", {"head_decision": "submit"})
    case.complete("结果审核", CITY_WG, {"review_decision": "accept"})
    assert ("回访评价", [CITY_WG, f"enterprise:{ENT1}"]) in case.open_tasks()

    ent = login_page("ent.demo1")
    ent.goto(real_server + "/portal/")
    shots(ent, "home-with-visit")
    ent.goto(real_server + f"/portal/cases/{case.instance().id}")
    shots(ent, "case-visit-asked")
    ent.locator("a.task-link", has_text="回访评价").click()
    ent.check("input[name=satisfaction][value=基本满意]")
    ent.fill("#f-visit_comment", "问题已解决，希望今后审批再快一些。")
    shots(ent, "visit-filled")
    ent.click("#complete")
    expect(ent.locator(".summary")).to_contain_text("已办结")
    expect(ent.locator(".summary")).to_contain_text("基本满意")
    shots(ent, "case-closed")
    assert case.status == "completed" and case.summary["satisfaction"] == "基本满意"
    assert csp_violations(ent) == [] and ent.js_errors == []

"""Issue 14, what was left open, in a real browser (screenshots in test-artifacts/web/): the
second 受理审查 starts empty with the first round's request shown above it; 修改办理结果 starts
from the draft it revises; the dossier in English with multi-line text on its lines and no
blank boxes; a long case's dossier folded, one click from the rest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import Case, submission

from .conftest import ENT1

pytestmark = pytest.mark.browser

REQUEST = "请补充：\n1. 用地红线图\n2. 规划许可证"
NOTE = "请市自然资源局牵头。\n\n\n三日内报送办理方案。"
DRAFT = "已完成用地预审初审。"
REASON = "请写明办结时间，\n并附批复文件。"


@pytest.fixture
def case(real_app, Session, engine, clock) -> Case:
    from engine import cases

    with Session.begin() as session:
        data = submission(uscc=ENT1, enterprise_name="朝阳示范新材料有限公司", category="土地批复", county="city")
        case_no = cases.start_case(session, engine, data, actor="ent.demo1").business_key
    return Case(Session, engine, clock, case_no)


def test_rounds_english_lines_and_folding(real_server, login_page, shots, case):
    case.complete(
        "受理审查", "wg:city", {"intake_decision": "need_material", "material_request": REQUEST}, actor="wg.city"
    )
    case.message("material_supplied", {"material_note": "红线图已上传。"}, actor="ent.demo1")

    # the second 受理审查: nothing decided, nothing typed; the first request above the form, on its lines
    wg = login_page("wg.city")
    wg.goto(f"{real_server}/tasks/{case.task('受理审查', 'wg:city').id}")
    expect(wg.locator("input[name=intake_decision]:checked")).to_have_count(0)
    expect(wg.locator("#f-material_request")).to_have_value("")
    first = wg.locator("#context [data-step=Task_intake]")
    assert first.locator("dd.long").inner_text() == REQUEST  # the lines as typed (white-space: pre-wrap)
    shots(wg, "second-intake-review")
    wg.check("input[name=intake_decision][value=accept]")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()

    case.complete(
        "分级交办",
        "wg:city",
        {
            "dispatch_action": "dispatch",
            "lead_unit": "zrzyj",
            "coop_units": [],
            "mode": "快速办",
            "dispatch_note": NOTE,
        },
        actor="wg.city",
    )
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": DRAFT, "solved": False}, actor="unit.zrzyj")
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "redo", "head_reason": REASON}, actor="head.zrzyj")

    # 修改办理结果 revises the draft: it starts from it (the task's prefill property)
    unit = login_page("unit.zrzyj")
    unit.goto(f"{real_server}/tasks/{case.task('修改办理结果').id}")
    expect(unit.locator("#f-handling_result")).to_have_value(DRAFT)
    assert unit.locator("#context [data-step=Task_head_review] dd.long").inner_text() == REASON
    shots(unit, "revise-starts-from-the-draft")

    # the dossier in English: step names, labels, options; the 交办意见 on two lines, no blank box
    wg.click("#lang-switch")
    wg.goto(f"{real_server}/cases/{case.instance().id}")
    dossier = wg.locator("#dossier")
    expect(dossier.locator("[data-step=Task_intake] strong").first).to_have_text("Intake review")
    expect(dossier.locator("[data-step=Task_intake]").nth(1)).to_contain_text("round 2")
    expect(dossier.locator("[data-step=material_supplied] strong")).to_have_text("Additional material")
    expect(dossier.locator("[data-step=Task_head_review] strong")).to_have_text("Head's review")
    assert (
        dossier.locator("[data-step=Task_dispatch] dd.long").inner_text()
        == "请市自然资源局牵头。\n\n三日内报送办理方案。"
    )
    for dd in dossier.locator("dd").all():
        assert dd.inner_text().strip(), "an empty value box in the dossier"
    expect(wg.locator("h1")).not_to_contain_text("受理审查")
    shots(wg, "dossier-in-english")
    wg.click("#lang-switch")

    # a long case: 12 more rounds of material; the case page folds the earlier steps
    case.complete(
        "修改办理结果", "unit:zrzyj", {"handling_result": DRAFT + "三月底办结。", "solved": True}, actor="unit.zrzyj"
    )
    for n in range(8):
        case.complete(
            "负责人审核", "head:zrzyj", {"head_decision": "redo", "head_reason": f"第{n + 2}次退回"}, actor="head.zrzyj"
        )
        case.complete(
            "修改办理结果", "unit:zrzyj", {"handling_result": f"第{n + 3}稿", "solved": True}, actor="unit.zrzyj"
        )
    wg.goto(f"{real_server}/cases/{case.instance().id}")
    expect(wg.locator("#dossier-folded")).to_contain_text("较早的")
    expect(dossier.locator(".dossier-step")).to_have_count(13)
    expect(dossier.locator(".dossier-step").first).to_have_attribute("data-step", "submission")
    expect(dossier.locator(".dossier-step").last).to_contain_text("第10稿")
    shots(wg, "long-dossier-folded")
    wg.click("#dossier-show-all")
    expect(dossier.locator(".dossier-step")).to_have_count(24)
    expect(wg.locator("#dossier-folded")).to_have_count(0)
    shots(wg, "long-dossier-all")
    for page in (wg, unit):
        assert page.js_errors == []

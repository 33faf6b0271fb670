"""Issue 14, what was left open: a step that runs again decides afresh (its form does not
carry the earlier round's answers, which are shown above it instead) while the carries that
are the point stay (修改办理结果 starts from the draft it revises); the dossier in English; text
without blank boxes; a long dossier folded on the page and paged in the API."""

from __future__ import annotations

import re

import pytest

from tests.scenarios.driver import Case, submission

from .conftest import ENT1, Browser

MATERIAL_ASK = "请补充用地红线图和规划许可证"
NOTE = "第一段：请牵头研究。\n\n\n\n第二段：三日内回复。   \n"


@pytest.fixture
def case(real_app, Session, engine, clock) -> Case:
    from engine import cases

    with Session.begin() as session:
        data = submission(uscc=ENT1, enterprise_name="朝阳示范新材料有限公司", category="土地批复", county="city")
        case_no = cases.start_case(session, engine, data, actor="ent.demo1").business_key
    return Case(Session, engine, clock, case_no)


def page(app, who: str, url: str, lang: str = "zh") -> str:
    browser = Browser(app.test_client()).login(who)
    if lang == "en":
        assert browser.post("/lang/en", {"next": "/"}).status_code == 302
    response = browser.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def form_of(html: str) -> str:
    return html[html.index('id="task-form"') : html.index("</form>", html.index('id="task-form"'))]


def context_of(html: str) -> str:
    return html[html.index('id="context"') : html.index('id="full-dossier"')]


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" id="[^"]+" value="([^"]+)" checked', html)


def to_handling(case: Case, note: str = "请牵头研究") -> None:
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.complete(
        "分级交办",
        "wg:city",
        {
            "dispatch_action": "dispatch",
            "lead_unit": "zrzyj",
            "coop_units": [],
            "mode": "快速办",
            "dispatch_note": note,
        },
        actor="wg.city",
    )


def test_the_second_intake_review_starts_empty_and_shows_the_first(real_app, case):
    case.complete(
        "受理审查", "wg:city", {"intake_decision": "need_material", "material_request": MATERIAL_ASK}, actor="wg.city"
    )
    case.message("material_supplied", {"material_note": "红线图已上传"}, actor="ent.demo1")
    html = page(real_app, "wg.city", f"/tasks/{case.task('受理审查', 'wg:city').id}")
    form = form_of(html)
    assert MATERIAL_ASK not in form and checked(form, "intake_decision") == []
    assert MATERIAL_ASK in context_of(html) and "红线图已上传" in context_of(html)  # read-only, above the form


def test_a_revision_starts_from_the_draft_it_revises_in_every_round(real_app, case):
    to_handling(case)
    case.complete(
        "拟办办理结果", "unit:zrzyj", {"handling_result": "初稿：已受理", "solved": False}, actor="unit.zrzyj"
    )
    for n, draft in enumerate(("二稿：已初审", "三稿：三月底办结"), start=1):
        case.complete(
            "负责人审核", "head:zrzyj", {"head_decision": "redo", "head_reason": f"第{n}次退回"}, actor="head.zrzyj"
        )
        html = page(real_app, "unit.zrzyj", f"/tasks/{case.task('修改办理结果').id}")
        previous = "初稿：已受理" if n == 1 else "二稿：已初审"
        assert f">{previous}</textarea>" in form_of(html)  # prefill "handling_result, solved" (case.bpmn)
        assert checked(form_of(html), "solved") == (["false"] if n == 1 else ["true"])
        case.complete("修改办理结果", "unit:zrzyj", {"handling_result": draft, "solved": True}, actor="unit.zrzyj")
        # the head's review again: nothing decided for him; his earlier reason is above the form
        html = page(real_app, "head.zrzyj", f"/tasks/{case.task('负责人审核').id}")
        assert checked(form_of(html), "head_decision") == [] and f"第{n}次退回" not in form_of(html)
        assert f"第{n}次退回" in context_of(html) and draft in context_of(html)


def test_a_second_result_review_and_its_handling_decide_afresh(real_app, case):
    to_handling(case)
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "已办结", "solved": True}, actor="unit.zrzyj")
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    case.complete(
        "结果审核", "wg:city", {"review_decision": "send_back", "review_reason": "未附批复文件"}, actor="wg.city"
    )
    html = page(real_app, "unit.zrzyj", f"/tasks/{case.task('拟办办理结果').id}")
    assert "已办结</textarea>" not in form_of(html) and "已办结" in context_of(html)
    assert "未附批复文件" in context_of(html)
    case.complete(
        "拟办办理结果", "unit:zrzyj", {"handling_result": "已办结，批复见附件", "solved": True}, actor="unit.zrzyj"
    )
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    html = page(real_app, "wg.city", f"/tasks/{case.task('结果审核', 'wg:city').id}")
    assert checked(form_of(html), "review_decision") == [] and "未附批复文件" not in form_of(html)
    assert "未附批复文件" in context_of(html)


def test_the_dossier_in_english(real_app, case):
    case.complete(
        "受理审查", "wg:city", {"intake_decision": "need_material", "material_request": MATERIAL_ASK}, actor="wg.city"
    )
    case.message("material_supplied", {"material_note": "红线图已上传"}, actor="ent.demo1")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    html = page(real_app, "wg.city", f"/cases/{case.instance().id}", "en")
    dossier = html[html.index('id="dossier"') : html.index("</section>", html.index('id="dossier"'))]
    for text in (
        "Submission",
        "<strong>Intake review</strong>",
        "round 2",
        "<strong>Additional material</strong>",
        "<dt>Explanation</dt>",
        "Ask the enterprise for more material",
        "Material needed",
    ):
        assert text in dossier, text
    for text in ("受理审查", "补充说明", "需补充的材料", "第2轮"):
        assert text not in dossier, text
    html = page(real_app, "wg.city", f"/tasks/{case.task('分级交办', 'wg:city').id}", "en")
    assert "<h1>Dispatch</h1>" in html and "Dispatch (dispatch order)" in html
    assert "Intake review" in context_of(html) and "Intake review" in html[html.index('id="timeline"') :]
    # Chinese stays Chinese
    html = page(real_app, "wg.city", f"/cases/{case.instance().id}")
    assert "<strong>受理审查</strong>" in html and "Intake review" not in html


def test_text_keeps_its_lines_and_blank_answers_are_no_boxes(real_app, case):
    # white space alone is no answer: a message's payload (the API's POST /messages) is not
    # checked against the material form, so " \n　\n " reaches the audit as it was sent
    case.complete(
        "受理审查", "wg:city", {"intake_decision": "need_material", "material_request": "请补充红线图"}, actor="wg.city"
    )
    case.message("material_supplied", {"material_note": " \n\u3000\n "}, actor="ent.demo1")
    to_handling(case, note=NOTE)
    html = page(real_app, "wg.city", f"/cases/{case.instance().id}")
    material = html[html.index('data-step="material_supplied"') :]
    material = material[: material.index("</article>")]
    assert "补充说明" not in material and "<dd" not in material
    dossier = html[html.index('id="dossier"') : html.index("</article>", html.index('data-step="Task_dispatch"'))]
    assert '<dd class="long">第一段：请牵头研究。\n\n第二段：三日内回复。</dd>' in dossier  # lines kept, no blank run
    assert re.search(r"<dd[^>]*>\s*</dd>", dossier) is None


def test_a_long_dossier_is_folded_on_the_page_and_paged_in_the_api(real_app, case, Session):
    from tests.api.conftest import ApiClient, make_token

    def api(who):
        return ApiClient(real_app.test_client(), make_token(Session, who))

    for n in range(12):  # 12 rounds of 受理审查 + 补充材料: 25 steps with the submission
        case.complete(
            "受理审查",
            "wg:city",
            {"intake_decision": "need_material", "material_request": f"第{n + 1}次补充"},
            actor="wg.city",
        )
        case.message("material_supplied", {"material_note": f"第{n + 1}次材料"}, actor="ent.demo1")
    case_id = case.instance().id
    html = page(real_app, "wg.city", f"/cases/{case_id}")
    assert html.count('class="dossier-step') == 13  # the submission and the newest 12
    assert 'id="dossier-folded"' in html and "较早的 12 个步骤已折叠" in html
    assert "第12次材料" in html and "第1次补充" not in html.split('id="dossier"')[1].split('id="timeline"')[0]
    html = page(real_app, "wg.city", f"/cases/{case_id}?dossier=all")
    assert html.count('class="dossier-step') == 25 and 'id="dossier-folded"' not in html
    # the enterprise reads the latest 受理审查 only (engine/dossier.py): 14 steps, not folded
    html = page(real_app, "ent.demo1", f"/portal/cases/{case_id}")
    assert html.count('class="dossier-step') == 14 and 'id="dossier-folded"' not in html

    body = api("wg.city").get(f"/api/v1/cases/{case_id}/dossier").get_json()
    assert body["page"] == {"page": 1, "per_page": 100, "total": 25} and len(body["steps"]) == 25
    assert body["steps"][0]["kind"] == "submission"
    body = api("wg.city").get(f"/api/v1/cases/{case_id}/dossier?per_page=4&order=newest").get_json()
    assert [s["name"] for s in body["steps"]] == ["补充材料", "受理审查", "补充材料", "受理审查"]
    assert body["steps"][0]["answers"][0]["display"] == "第12次材料" and body["page"]["total"] == 25
    body = api("wg.city").get(f"/api/v1/cases/{case_id}/dossier?per_page=4&page=7&order=newest").get_json()
    assert [s["kind"] for s in body["steps"]] == ["submission"]

"""Issue 17: one intake (engine/cases.py) behind the portal and the API, and statistics refused
with the project's NotAllowed. Every submission goes to the real case process (processes/)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from engine import stats
from engine.access import Principal
from engine.errors import NotAllowed
from engine.models import Instance
from tests.api.conftest import ApiClient, assert_error, make_token

from .conftest import ENT1, SUBMISSION
from .test_conflicts import at_once

_ERROR = re.compile(r'<div class="error-msg" id="[^"]*">([^<]*)</div>')


def _form_key(ent) -> str:
    page = ent.get("/portal/submit").get_data(as_text=True)
    return re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)


def _case_numbers(Session) -> list[str]:
    with Session() as s:
        return sorted(s.scalars(select(Instance.business_key).where(Instance.process_id == "ztc_case")))


def test_two_portal_submissions_at_once_get_two_numbers(as_user, Session, case_process):
    first, second = as_user("ent.demo1"), as_user("ent.demo2")
    forms = [
        {**SUBMISSION, "submission_key": _form_key(first)},
        {**SUBMISSION, "title": "另一家企业的问题", "submission_key": _form_key(second)},
    ]
    results = at_once(lambda: first.post("/portal/submit", forms[0]), lambda: second.post("/portal/submit", forms[1]))
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].headers["Location"] != results[1].headers["Location"]
    assert _case_numbers(Session) == ["ZTC-2026-0001", "ZTC-2026-0002"]  # the one counter, never COUNT(*)+1
    # the number the enterprise is told is its case's
    shown = first.get(results[0].headers["Location"]).get_data(as_text=True)
    assert re.search(r"ZTC-2026-000[12]", shown)


def _portal_errors(ent, form: dict) -> dict[str, str]:
    response = ent.post("/portal/submit", {**form, "submission_key": _form_key(ent)})
    assert response.status_code == 422
    errors = {}
    for part in response.get_data(as_text=True).split('data-field="')[1:]:  # one part per field
        found = _ERROR.search(part)
        if found:
            errors[part.split('"', 1)[0]] = html.unescape(found.group(1))
    return errors


@pytest.mark.parametrize(
    "bad", [{"mobile": "12345"}, {"title": ""}, {"urgency": "明天就要"}], ids=["mobile", "missing-title", "urgency"]
)
def test_the_api_refuses_a_bad_field_as_the_portal_does(app, as_user, Session, case_process, bad):
    form = {k: v for k, v in {**SUBMISSION, **bad}.items() if v != ""}
    portal = _portal_errors(as_user("ent.demo1"), form)
    assert set(portal) == set(bad), portal
    api = ApiClient(app.test_client(), make_token(Session, "ent.demo1"))
    error = assert_error(api.post("/api/v1/cases", {"data": form}), 422, "validation_error")
    assert error["details"]["fields"] == portal
    assert _case_numbers(Session) == []  # neither started a case
    # the same values, corrected, start a case either way
    assert api.post("/api/v1/cases", {"data": SUBMISSION}).status_code == 201


def test_the_api_takes_the_enterprise_from_its_account(app, Session, case_process):
    api = ApiClient(app.test_client(), make_token(Session, "ent.demo1"))
    created = api.post("/api/v1/cases", {"data": {**SUBMISSION, "enterprise_name": "冒名公司", "source": "phone"}})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["business_key"] == "ZTC-2026-0001"
    dossier = api.get(f"/api/v1/cases/{created.get_json()['id']}/dossier").get_json()
    answers = {a["key"]: a["value"] for a in dossier["steps"][0]["answers"]}
    assert answers["enterprise_name"] == "朝阳示范新材料有限公司"  # ent.demo1's account, as on the portal
    assert answers["source"] == "online" and answers["title"] == SUBMISSION["title"]


# -- statistics refuse with NotAllowed -----------------------------------------------------
def test_statistics_refuse_with_not_allowed():
    enterprise = Principal("ent.demo1", kind="enterprise", groups=frozenset({"enterprise:X"}))
    unit = Principal("unit.zrzyj", groups=frozenset({"unit:zrzyj"}))
    for person in (enterprise, unit):
        with pytest.raises(NotAllowed):
            stats.scoped_county(person, None)


def test_statistics_refusal_is_a_403_in_the_api_and_on_the_page(app, as_user, Session):
    api = ApiClient(app.test_client(), make_token(Session, "unit.zrzyj"))
    assert assert_error(api.get("/api/v1/statistics"), 403, "forbidden")
    enterprise = ApiClient(app.test_client(), make_token(Session, "ent.demo1"))
    assert_error(enterprise.get("/api/v1/statistics"), 403, "forbidden")
    unit = as_user("unit.zrzyj")
    page = unit.get("/stats")
    assert page.status_code == 403 and "无权访问" in page.get_data(as_text=True)
    data = unit.get("/stats/data.json", headers={"Accept": "application/json"})
    assert data.status_code == 403 and data.get_json()["error"]["code"] == 403
    assert as_user("wg.jianping").get("/stats").status_code == 200  # a county working group sees its figures


def test_a_case_process_started_by_hand_is_numbered_like_any_case(Session, engine, deploy):
    """A designer who lets the working group start the case process on the 发起 page (its start
    event gets candidateStarterGroups) gets a numbered case, validated against its start form."""
    from engine import cases, startforms
    from engine.forms import FormValidationError

    from .conftest import case_process_files

    files = case_process_files()
    starters = b'<spiffworkflow:property name="candidateStarterGroups" value="wg:city"/>\n'
    anchor = b'<spiffworkflow:property name="formUiSchemaFilename" value="case-submit.uischema.json"/>\n'
    assert files["case.bpmn"].count(anchor) == 1
    files["case.bpmn"] = files["case.bpmn"].replace(anchor, anchor + starters)
    deploy(files)
    data = {**SUBMISSION, "enterprise_name": "朝阳示范新材料有限公司", "uscc": ENT1, "source": "phone"}
    with Session.begin() as session:
        item = startforms.one(session, engine, "ztc_case", frozenset({"wg:city"}))
        with pytest.raises(FormValidationError), session.begin_nested():
            cases.start_by_hand(session, engine, item, {**data, "mobile": "1"}, "wg.city")
        assert cases.start_by_hand(session, engine, item, data, "wg.city").business_key == "ZTC-2026-0001"

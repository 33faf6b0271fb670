"""The JSON API through its resources: definitions, instances, tasks, cases, messages,
incidents, statistics — one success shape per view, one error shape, pagination everywhere."""

from __future__ import annotations

import io

import pytest

from engine import stats
from tests.api.conftest import ENT2, INTAKE_JSON, SUBMISSION, assert_error, ready_task
from tests.web.conftest import test_files as web_files


def _page(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"items", "page"} and set(body["page"]) == {"page", "per_page", "total"}
    return body


# -- definitions ---------------------------------------------------------------------------
def test_definitions_list_detail_and_versions(api):
    client = api("wg.city")
    body = _page(client.get("/api/v1/definitions"))
    assert [d["process_id"] for d in body["items"]] == ["webcase"]
    assert "webcase.bpmn" in body["items"][0]["files"]
    assert client.get("/api/v1/definitions/webcase").get_json()["version"] == 1
    assert _page(client.get("/api/v1/definitions/webcase/versions"))["page"]["total"] == 1
    assert_error(client.get("/api/v1/definitions/nope"), 404, "not_found")
    assert_error(api("ent.demo1").get("/api/v1/definitions"), 403, "forbidden")


def _multipart(files: dict[str, bytes]):
    return {"files": [(io.BytesIO(content), name) for name, content in files.items()]}


def test_deploy_creates_a_version_only_when_files_changed(api):
    designer = api("designer")
    files = web_files()
    same = designer.post("/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data")
    assert same.status_code == 201, same.get_data(as_text=True)
    assert same.get_json()["created"] == [] and same.get_json()["unchanged"] == [
        {"process_id": "webcase", "version": 1}
    ]
    files["webcase.bpmn"] = files["webcase.bpmn"].replace("受理交办".encode(), "受理并交办".encode())
    changed = designer.post(
        "/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data"
    )
    assert changed.get_json()["created"] == [{"process_id": "webcase", "version": 2}]


def test_deploy_based_on_an_old_version_is_refused_with_the_diff(api):
    designer = api("designer")
    first, second = web_files(), web_files()
    first["webcase.bpmn"] = first["webcase.bpmn"].replace("受理交办".encode(), "受理并交办".encode())
    second["webcase.bpmn"] = second["webcase.bpmn"].replace("受理交办".encode(), "受理与交办".encode())
    ok = designer.post(
        "/api/v1/definitions",
        json=None,
        data={**_multipart(first), "base_version": "1"},
        content_type="multipart/form-data",
    )
    assert ok.get_json()["created"] == [{"process_id": "webcase", "version": 2}]
    error = assert_error(
        designer.post(
            "/api/v1/definitions",
            json=None,
            data={**_multipart(second), "base_version": "webcase:1"},
            content_type="multipart/form-data",
        ),
        409,
        "superseded",
    )
    [item] = error["details"]["superseded"]
    assert (item["base_version"], item["latest_version"], item["latest_origin"]) == (1, 2, "api")
    assert "+++ v2/webcase.bpmn" in item["diff"] and "受理并交办" in item["diff"]
    assert "已有更新的版本 v2" in error["message"]
    version = designer.get("/api/v1/definitions/webcase").get_json()
    assert (version["version"], version["origin"], version["base_version"]) == (2, "api", 1)
    assert_error(
        designer.post(
            "/api/v1/definitions",
            json=None,
            data={**_multipart(second), "base_version": "x"},
            content_type="multipart/form-data",
        ),
        400,
        "invalid",
    )


def test_deploy_reports_problems_per_file_and_is_for_designers_only(api):
    files = {"broken.bpmn": b"<definitions"}
    error = assert_error(
        api("designer").post(
            "/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data"
        ),
        422,
        "invalid_process_files",
    )
    assert error["details"]["problems"][0]["file"] == "broken.bpmn"
    assert_error(
        api("wg.city").post(
            "/api/v1/definitions", json=None, data=_multipart(web_files()), content_type="multipart/form-data"
        ),
        403,
    )
    assert_error(api("designer").post("/api/v1/definitions", json={}), 422, "validation_error")


# -- instances -----------------------------------------------------------------------------
def test_instance_state_history_and_activities(api, start_case):
    case = start_case()
    client = api("wg.jianping")
    state = client.get(f"/api/v1/instances/{case}").get_json()
    assert state["status"] == "running" and state["business_key"] == "T20260001"
    assert [t["bpmn_id"] for t in state["ready_tasks"]] == ["intake"]
    history = _page(client.get(f"/api/v1/instances/{case}/history"))
    assert history["items"][0]["action"] == "start"
    activities = client.get(f"/api/v1/instances/{case}/activities").get_json()
    assert activities["current"] == ["intake"]
    listing = _page(client.get("/api/v1/instances?status=running"))
    assert [i["id"] for i in listing["items"]] == [case]


def test_starting_instances_is_for_designers(api):
    body = {
        "process_id": "webcase",
        "business_key": "X-1",
        "data": {
            "case_no": "X-1",
            "title": "测试",
            "county": "city",
            "uscc": "x",
            "enterprise_name": "e",
            "category": "其他",
            "urgency": "一般",
        },
    }
    assert_error(api("wg.city").post("/api/v1/instances", body), 403)
    started = api("designer").post("/api/v1/instances", body)
    assert started.status_code == 201, started.get_data(as_text=True)
    assert started.get_json()["ready_tasks"][0]["bpmn_id"] == "intake"
    assert_error(api("designer").post("/api/v1/instances", {**body, "process_id": "nope"}), 404)


# -- tasks ---------------------------------------------------------------------------------
def test_inbox_claim_complete_with_field_level_validation(api, start_case, Session):
    case = start_case()
    wg = api("wg.jianping")
    inbox = _page(wg.get("/api/v1/tasks?tab=group"))
    assert [t["bpmn_id"] for t in inbox["items"]] == ["intake"] and inbox["page"]["total"] == 1
    task_id = inbox["items"][0]["id"]
    detail = wg.get(f"/api/v1/tasks/{task_id}").get_json()
    assert detail["may_complete"] is True and detail["form_schema"]["title"] == "受理交办单"
    claimed = wg.post(f"/api/v1/tasks/{task_id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "wg.jianping"
    assert_error(api("wg.city").post(f"/api/v1/tasks/{task_id}/claim"), 409, "conflict")
    assert_error(api("wg.city").post(f"/api/v1/tasks/{task_id}/complete", {"data": INTAKE_JSON}), 403)
    bad = assert_error(
        wg.post(f"/api/v1/tasks/{task_id}/complete", {"data": {**INTAKE_JSON, "opinion": "x", "mode": "慢慢办"}}), 422
    )
    assert set(bad["details"]["fields"]) >= {"opinion", "mode"}
    assert_error(wg.post(f"/api/v1/tasks/{task_id}/complete", {"data": "not an object"}), 422, "validation_error")
    done = wg.post(f"/api/v1/tasks/{task_id}/complete", {"data": INTAKE_JSON})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert [t["bpmn_id"] for t in done.get_json()["ready_tasks"]] == ["handle"]
    again = assert_error(wg.post(f"/api/v1/tasks/{task_id}/complete", {"data": INTAKE_JSON}), 409, "conflict")
    assert again["details"]["completed_by"] == "wg.jianping"  # no longer ready: who completed it, when
    handle = ready_task(Session, case, "handle")
    assert _page(api("unit.zrzyj").get("/api/v1/tasks"))["items"][0]["id"] == handle


def test_unclaim_gives_the_task_back(api, start_case):
    start_case()
    wg = api("wg.jianping")
    task_id = _page(wg.get("/api/v1/tasks"))["items"][0]["id"]
    wg.post(f"/api/v1/tasks/{task_id}/claim")
    assert_error(api("wg.city").post(f"/api/v1/tasks/{task_id}/unclaim"), 403)
    assert wg.post(f"/api/v1/tasks/{task_id}/unclaim").get_json()["assignee"] is None


def test_pagination_pages_through_every_list(api, start_case):
    for _ in range(5):
        start_case()
    wg = api("wg.city")
    seen = []
    for page in (1, 2, 3):
        body = _page(wg.get(f"/api/v1/tasks?per_page=2&page={page}"))
        assert body["page"] == {"page": page, "per_page": 2, "total": 5}
        seen += [t["id"] for t in body["items"]]
    assert len(set(seen)) == 5
    cases = [c["id"] for p in (1, 2, 3) for c in _page(wg.get(f"/api/v1/cases?per_page=2&page={p}"))["items"]]
    assert len(set(cases)) == 5
    for bad in ("per_page=0", "per_page=101", "page=0", "per_page=2.5", "page=x"):
        error = assert_error(wg.get(f"/api/v1/cases?{bad}"), 422, "validation_error")
        assert set(error["details"]["fields"]) <= {"page", "per_page"}


# -- cases, messages -----------------------------------------------------------------------
def test_case_search_detail_and_timeline(api, start_case):
    a = start_case(title="厂房用地手续办理")
    start_case(uscc=ENT2, county="shuangta", by="ent.demo2", title="电力增容")
    wg = api("wg.city")
    found = _page(wg.get("/api/v1/cases", query_string={"q": "用地"}))
    assert [c["id"] for c in found["items"]] == [a]
    assert found["items"][0]["summary"]["title"] == "厂房用地手续办理"
    assert wg.get(f"/api/v1/cases/{a}").get_json()["business_key"] == "T20260001"
    assert _page(wg.get(f"/api/v1/cases/{a}/timeline"))["items"][0]["action"] == "start"
    mine = _page(api("ent.demo1").get("/api/v1/cases"))
    assert [c["id"] for c in mine["items"]] == [a]


def test_an_enterprise_submits_a_case(api, case_process):
    ent = api("ent.demo1")
    created = ent.post("/api/v1/cases", {"data": SUBMISSION})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["business_key"].startswith("ZTC-") and body["summary"] is not None
    assert_error(api("wg.city").post("/api/v1/cases", {"data": {}}), 403)


def test_a_message_the_case_does_not_wait_for_is_a_conflict(api, start_case):
    start_case()
    error = assert_error(
        api("ent.demo1").post("/api/v1/messages", {"case_no": "T20260001", "name": "material_supplied"}), 409
    )
    assert error["code"] == "message_not_accepted"
    assert_error(api("ent.demo1").post("/api/v1/messages", {"case_no": "T20260001", "name": "anything"}), 403)
    assert_error(api("ent.demo2").post("/api/v1/messages", {"case_no": "T20260001", "name": "material_supplied"}), 404)


# -- incidents, statistics -----------------------------------------------------------------
def test_incidents_are_for_admins(api, start_case, Session):
    from engine.models import Instance

    case = start_case()
    with Session.begin() as s:
        instance = s.get(Instance, case)
        instance.status, instance.error = "error", {"element_id": "intake", "message": "boom", "at": None}
    admin = api("admin")
    body = _page(admin.get("/api/v1/incidents"))
    assert [i["instance_id"] for i in body["items"]] == [case] and body["items"][0]["message"] == "boom"
    assert_error(api("wg.city").get("/api/v1/incidents"), 403)
    assert_error(admin.get("/api/v1/incidents/999999"), 404)


def test_statistics_are_the_dashboards_figures_in_the_callers_scope(api, start_case, Session):
    start_case()
    start_case(uscc=ENT2, county="shuangta", by="ent.demo2")
    stats.fold_due(Session)  # the worker's pass: the rollups catch up with the cases
    city = api("wg.city").get("/api/v1/statistics").get_json()
    assert city["totals"]["received"] == 2 and city["by_county"] == {"jianping": 1, "shuangta": 1}
    assert city["county"] is None and city["incidents"] is None and city["period"] == {}
    county = api("wg.jianping").get("/api/v1/statistics").get_json()
    assert county["county"] == "jianping" and county["totals"]["received"] == 1 and county["open_tasks"] == 1
    assert api("admin").get("/api/v1/statistics").get_json()["incidents"] == 0
    ranged = api("wg.city").get("/api/v1/statistics?from=2020-01-01&to=2020-12-31").get_json()
    assert ranged["period"] == {"from": "2020-01-01", "to": "2020-12-31"} and ranged["totals"]["received"] == 0
    assert_error(api("wg.city").get("/api/v1/statistics?from=yesterday"), 422, "validation_error")
    for user in ("unit.zrzyj", "ent.demo1"):  # no statistics page, no statistics
        assert_error(api(user).get("/api/v1/statistics"), 403, "forbidden")


@pytest.mark.parametrize(
    "user,query",
    [
        ("wg.city", ""),
        ("wg.city", "?from=2026-03-01&to=2026-03-31"),
        ("wg.city", "?county=shuangta"),
        ("wg.jianping", ""),
        ("admin", ""),
    ],
)
def test_statistics_equal_the_dashboard(user, query, api, as_user, start_case, Session, engine):
    start_case()
    start_case(uscc=ENT2, county="shuangta", by="ent.demo2", category="融资贷款")
    withdrawn = start_case(title="已撤回的案件")
    from engine import incidents

    with Session.begin() as session:
        incidents.terminate(session, engine, withdrawn, "admin")
    stats.fold_due(Session)  # the worker's pass: the rollups catch up with the cases
    figures = api(user).get("/api/v1/statistics" + query).get_json()
    page = as_user(user).get("/stats/data.json" + query).get_json()
    for key in (
        "county",
        "totals",
        "by_category",
        "by_county",
        "by_mode",
        "by_unit",
        "rates",
        "leader_modes",
        "bulletins",
        "records",
        "period",
    ):
        assert figures[key] == page[key], key
    assert figures["totals"]["received"] == page["totals"]["received"] > 0


# -- the one error shape -------------------------------------------------------------------
def test_unknown_urls_and_methods_use_the_error_shape(api):
    client = api("wg.city")
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    response = client.delete("/api/v1/cases")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_error(client.post("/api/v1/tokens", data="{not json", content_type="application/json"), 400)


def test_the_openapi_document_and_its_docs_page(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.0")
    assert {
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/cases",
        "/api/v1/messages",
        "/api/v1/incidents",
        "/api/v1/statistics",
        "/api/v1/definitions",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/tasks/{task_id}/complete" in page.get_data(as_text=True)
    assert "<script>" not in page.get_data(as_text=True).split("</main>")[0]

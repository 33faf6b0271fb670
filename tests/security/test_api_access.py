"""Other people's cases and tasks by id through the API: 404 (or 403); SQL-injection strings
in filters: 200 with empty results, never 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import ENT2, INTAKE_JSON, ready_task

DENIED = (403, 404)


@pytest.fixture
def world(api, start_case, Session):
    """A: ent.demo1, jianping, handled by zrzyj; B: ent.demo2, shuangta, waiting for intake."""
    a = start_case()
    b = start_case(uscc=ENT2, county="shuangta", by="ent.demo2", name="朝阳示范能源有限公司", title="电力增容")
    intake = ready_task(Session, a, "intake")
    assert api("wg.jianping").post(f"/api/v1/tasks/{intake}/complete", {"data": INTAKE_JSON}).status_code == 200
    return {"a": a, "b": b, "handle_a": ready_task(Session, a, "handle"), "intake_b": ready_task(Session, b, "intake")}


@pytest.mark.parametrize("user", ["ent.demo2", "unit.sthjj", "wg.shuangta", "head.gdgs"])
def test_case_a_is_invisible_to_other_enterprises_units_and_counties(api, world, user):
    client = api(user)
    a = world["a"]
    for url in (
        f"/api/v1/cases/{a}",
        f"/api/v1/cases/{a}/timeline",
        f"/api/v1/instances/{a}",
        f"/api/v1/instances/{a}/history",
        f"/api/v1/instances/{a}/activities",
        f"/api/v1/tasks/{world['handle_a']}",
    ):
        assert client.get(url).status_code in DENIED, url
    for url in (f"/api/v1/tasks/{world['handle_a']}/claim", f"/api/v1/tasks/{world['handle_a']}/complete"):
        assert client.post(url, {"data": {"result": "办结了办结了"}}).status_code in DENIED, url
    assert client.post("/api/v1/messages", {"case_no": "T20260001", "name": "material_supplied"}).status_code in DENIED
    listed = client.get("/api/v1/cases").get_json()["items"] + client.get("/api/v1/instances").get_json()["items"]
    assert a not in [c["id"] for c in listed]
    assert world["handle_a"] not in [t["id"] for t in client.get("/api/v1/tasks").get_json()["items"]]


@pytest.mark.parametrize(
    "user,sees_a,sees_b",
    [
        ("ent.demo1", True, False),
        ("ent.demo2", False, True),
        ("unit.zrzyj", True, False),
        ("unit.fgw", True, False),
        ("wg.jianping", True, False),
        ("wg.shuangta", False, True),
        ("wg.city", True, True),
        ("leader.mayor", True, True),
    ],
)
def test_the_api_applies_the_same_rules_as_the_pages(api, as_user, world, user, sees_a, sees_b):
    client = api(user)
    page_prefix = "/portal" if user.startswith("ent.") else ""
    browser = as_user(user)
    for case, sees in ((world["a"], sees_a), (world["b"], sees_b)):
        assert (client.get(f"/api/v1/cases/{case}").status_code == 200) is sees
        assert (browser.get(f"{page_prefix}/cases/{case}").status_code == 200) is sees


def test_an_enterprise_cannot_do_official_things(api, world):
    ent = api("ent.demo1")
    assert ent.get("/api/v1/definitions").status_code == 403
    assert ent.get("/api/v1/incidents").status_code == 403
    assert ent.post("/api/v1/instances", {"process_id": "webcase"}).status_code == 403
    assert ent.post(f"/api/v1/tasks/{world['intake_b']}/claim").status_code in DENIED


def test_ids_that_do_not_exist_look_like_ids_one_may_not_see(api, world):
    client = api("ent.demo2")
    assert client.get(f"/api/v1/cases/{world['a']}").get_json() == {
        "error": {"code": "not_found", "message": f"case {world['a']} does not exist", "details": {}}
    }
    assert client.get("/api/v1/cases/987654").get_json()["error"]["message"] == "case 987654 does not exist"


INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE instance; --",
    '" OR ""="',
    "') UNION SELECT username, password_hash FROM user_account --",
    "%' AND 1=0 UNION SELECT NULL --",
    "\\'; SELECT pg_sleep(5); --",
    "$$; DROP TABLE user_account; $$",
    "jianping' --",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_strings_in_filters_find_nothing(api, world, value):
    client = api("wg.city")
    for url, params in (
        ("/api/v1/cases", {"q": value}),
        ("/api/v1/cases", {"category": value}),
        ("/api/v1/cases", {"county": value}),
        ("/api/v1/cases", {"status": value}),
        ("/api/v1/tasks", {"category": value}),
        ("/api/v1/tasks", {"county": value, "mode": value}),
        ("/api/v1/instances", {"process_id": value}),
        ("/api/v1/definitions", {"q": value}),
    ):
        response = client.get(url, query_string=params)
        assert response.status_code == 200, (url, params, response.get_data(as_text=True)[:300])
        assert response.get_json()["items"] == [], (url, params)
    assert client.get("/api/v1/cases").get_json()["page"]["total"] == 2  # the tables are still there


def test_nul_characters_are_refused_not_a_server_error(api, as_user, world):
    client = api("wg.city")
    for params in ({"q": "\x00"}, {"county": "a\x00b"}):
        response = client.get("/api/v1/cases", query_string=params)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"
    response = api("ent.demo1").post("/api/v1/cases", {"data": {"title": "\x00"}})
    assert response.status_code == 400
    assert as_user("wg.city").get("/cases", query_string={"q": "\x00"}).status_code == 400


@pytest.mark.parametrize("value", INJECTIONS[:5])
def test_sql_injection_strings_in_page_filters_find_nothing(as_user, world, value):
    browser = as_user("wg.city")
    response = browser.get("/cases", query_string={"q": value, "county": value})
    assert response.status_code == 200 and "T20260001" not in response.get_data(as_text=True)
    assert browser.get("/inbox", query_string={"category": value}).status_code == 200

"""No 500 for any input (issue 16 item 7): every input that once answered 500 answers a 4xx —
in the API's one error shape on the API — on both databases (lone surrogates and NUL were
PostgreSQL failures; they are refused on SQLite as well)."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.api.conftest import assert_error
from tests.web.conftest import SUBMISSION, real_app  # noqa: F401
from tests.web.conftest import test_files as web_files

DEEP = "[" * 100_000 + "]" * 100_000
CASE = {"title": "接电", "county": "jianping", "category": "要素保障", "urgency": "一般", "description": "说明" * 10}


@pytest.fixture
def world(start_case):
    return start_case()


def _multipart(files: dict[str, bytes]):
    return {"files": [(io.BytesIO(content), name) for name, content in files.items()]}


def _with_expression(expression: str) -> bytes:
    """webcase.bpmn with the handling task's candidateGroups expression replaced."""
    bpmn = web_files()["webcase.bpmn"].decode()
    old = "value=\"'unit:' + lead_unit\""
    assert old in bpmn, "webcase.bpmn has the expression to replace"
    return bpmn.replace(old, f'value="{expression}"').encode()


def _json_routes(app) -> list[tuple[str, str]]:
    """Every API route that takes a JSON body, with its ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            routes.append((method, url))
    return routes


def test_deeply_nested_json_on_every_api_endpoint(app, api, world):
    client = api("designer")
    routes = _json_routes(app)
    assert len(routes) >= 5, routes
    for method, url in routes:
        response = client.client.open(
            url,
            method=method,
            data=DEEP,
            content_type="application/json",
            headers={"Authorization": f"Bearer {client.secret}"},
        )
        assert 400 <= response.status_code < 500, (method, url, response.status_code)
        assert set(response.get_json()["error"]) == {"code", "message", "details"}, (method, url)
    nested_but_parseable = json.dumps({"data": {"title": json.loads("[" * 200 + "]" * 200)}})
    response = api("ent.demo1").post("/api/v1/cases", data=nested_but_parseable, content_type="application/json")
    assert assert_error(response, 422)["code"] == "too_deep"


def test_deeply_nested_json_on_the_designer_pages(app, as_user, world):
    designer = as_user("designer")
    for url in ("/designer/forms/preview.json", "/designer/processes/webcase/1/validate.json"):
        response = designer.client.post(
            url, data=DEEP, content_type="application/json", headers={"X-CSRFToken": designer.token}
        )
        assert 400 <= response.status_code < 500, (url, response.status_code)


def test_an_oversized_json_body_is_413(app, api):
    app.config["MAX_JSON_BYTES"] = 1000
    response = api("ent.demo1").post("/api/v1/cases", {"data": {**CASE, "description": "长" * 2000}})
    assert assert_error(response, 413)["code"] == "too_large"


def test_a_lone_surrogate_is_refused_in_the_api_shape(api, world):
    body = '{"data": {"title": "\\ud800\\u63a5\\u7535", "county": "jianping", "category": "x"}}'
    response = api("ent.demo1").post("/api/v1/cases", data=body, content_type="application/json")
    assert assert_error(response, 400)["code"] == "bad_request"


def test_an_absurd_statistics_date_is_422(api):
    for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "2026-05-01", "to": "2026-04-01"}):
        response = api("wg.city").get("/api/v1/statistics", query_string=params)
        assert_error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "url", ["/stats?from=0001-01-01", "/stats/assessment?to=9999-12-31", "/stats/export/dashboard.xlsx?from=0001-01-01"]
)
def test_an_absurd_statistics_date_on_the_pages_is_400(as_user, url):
    assert as_user("wg.city").client.get(url).status_code == 400


def test_a_utf16_process_file_is_refused_clearly(api):
    files = web_files()
    files["webcase.bpmn"] = (
        files["webcase.bpmn"].decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    )
    error = assert_error(
        api("designer").post(
            "/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data"
        ),
        422,
        "invalid_process_files",
    )
    assert "UTF-8" in error["details"]["problems"][0]["message"]


@pytest.mark.parametrize("expression", ["1" + "+1" * 100_000, "a" + " or a" * 5_000, "(" * 300 + "1" + ")" * 300])
def test_a_monster_expression_is_refused_at_deploy(api, expression):
    files = {**web_files(), "webcase.bpmn": _with_expression(expression)}
    error = assert_error(
        api("designer").post(
            "/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data"
        ),
        422,
        "invalid_process_files",
    )
    assert error["details"]["problems"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases?page=1e20",
        "/api/v1/cases?page=99999999999999999999",
        "/api/v1/tasks?per_page=1e3",
        "/api/v1/instances?page=-1",
    ],
)
def test_huge_numbers_in_the_api(api, url):
    assert_error(api("wg.city").get(url), 422, "validation_error")


@pytest.mark.parametrize(
    "url",
    [
        "/cases?page=99999999999999999999",
        "/cases?page=1e20",
        "/inbox?due_within=99999999999999999999",
        "/inbox?due_within=999999999",
        "/cases?page=-3",
        "/designer/processes/webcase/diff?to=99999999999999999999",
        "/designer/processes/webcase/migrate?to=99999999999999999999",
    ],
)
def test_huge_numbers_on_the_pages(as_user, url):
    user = "designer" if url.startswith("/designer") else "wg.city"
    assert as_user(user).client.get(url).status_code == 400


def test_ordinary_numbers_on_the_pages_still_work(as_user):
    browser = as_user("wg.city")
    for url in ("/inbox?due_within=0", "/inbox?due_within=7", "/cases?page=1", "/cases?page=2"):
        assert browser.client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        "/stats?endpoint=x",
        "/stats/assessment?endpoint=x&_external=1",
        "/stats?_anchor=x&_method=POST&_scheme=javascript",
    ],
)
def test_query_arguments_never_build_urls(as_user, url):
    response = as_user("wg.city").client.get(url)
    assert response.status_code == 200
    assert "javascript:" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "/inbox\r\nSet-Cookie: x=1",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\x00/x",
    ],
)
def test_next_is_normalised(app, target):
    from engine.users import DEMO_PASSWORD
    from tests.web.conftest import Browser

    browser = Browser(app.test_client())
    browser.get("/login")
    response = browser.post("/login?" + _qs(target), {"username": "wg.city", "password": DEMO_PASSWORD})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location == "/inbox", location
    response = browser.post("/lang/en", {"next": target})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/", response.headers["Location"]


def _qs(target: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": target})


def test_migrate_to_a_version_that_is_not_a_number(as_user, world):
    designer = as_user("designer")
    designer.get("/designer/processes/webcase/migrate")
    assert designer.post("/designer/processes/webcase/migrate", {"to": "abc", "scope": "all"}).status_code == 400
    assert designer.post("/designer/processes/webcase/migrate", {"to": "9" * 30, "scope": "all"}).status_code == 400


def test_nul_in_a_file_name_is_refused(api, as_user, world, case_process):
    files = {**web_files()}
    files["web\x00case.bpmn"] = files.pop("webcase.bpmn")
    error = assert_error(
        api("designer").post(
            "/api/v1/definitions", json=None, data=_multipart(files), content_type="multipart/form-data"
        ),
        422,
        "invalid_process_files",
    )
    assert "control characters" in error["details"]["problems"][0]["message"]
    ent = as_user("ent.demo1")
    ent.get("/portal/submit")
    response = ent.post(
        "/portal/submit",
        {**CASE, "attachments": (io.BytesIO(b"%PDF-1.4 x"), "a\x00.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


@pytest.mark.parametrize("title", ["      ", "\t\n\t\n\t", "\u3000\u3000\u3000\u3000"])
def test_a_whitespace_only_title_is_refused_by_the_api(real_app, Session, title):
    from tests.api.conftest import ApiClient, make_token
    from tests.scenarios.driver import submission

    client = ApiClient(real_app.test_client(), make_token(Session, "ent.demo1"))
    data = {k: v for k, v in submission().items() if k not in ("enterprise_name", "uscc")}
    assert client.post("/api/v1/cases", {"data": data}).status_code == 201  # the same data with a real title
    error = assert_error(client.post("/api/v1/cases", {"data": {**data, "title": title}}), 422)
    assert set(error["details"]["fields"]) == {"title"}


@pytest.mark.parametrize("title", ["      ", "\t\n\t\n\t", "\u3000\u3000\u3000\u3000"])
def test_a_whitespace_only_title_is_refused_on_the_portal(as_user, case_process, title):
    ent = as_user("ent.demo1")
    ent.get("/portal/submit")
    response = ent.post("/portal/submit", {**SUBMISSION, "title": title})
    assert response.status_code == 422
    assert re.search(r'class="field has-error[^"]*" data-field="title"', response.get_data(as_text=True))

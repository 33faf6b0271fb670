"""Log-in, CSRF, cookies, registration, health, languages, error pages, form rendering."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from engine.users import demo_uscc
from tests.web.conftest import Browser, csrf_of
from webapp import formrender
from webapp.secret import load_or_create_secret


def test_login_logout_and_cookie_flags(app):
    b = Browser(app.test_client())
    page = b.get("/login")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)
    bad = b.post("/login", {"username": "wg.city", "password": "wrong-password"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    ok = b.post("/login", {"username": "wg.city", "password": "zhitongche"})
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    b.get("/inbox")
    assert b.post("/logout").status_code == 302
    assert b.client.get("/inbox").status_code == 302


def test_every_form_needs_a_csrf_token(app, as_user):
    b = as_user("wg.city")
    r = b.client.post("/logout", data={})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.post("/login", data={"username": "wg.city", "password": "zhitongche"}).status_code == 400


def test_enterprise_registration_checks_the_credit_code(app):
    b = Browser(app.test_client())
    b.get("/register")
    form = {
        "name": "朝阳新企业有限公司",
        "uscc": "91211300MA0CY00010",
        "phone": "13900001111",
        "county": "kazuo",
        "username": "newco",
        "password": "kiln maple orbit",
        "password2": "kiln maple orbit",
    }
    r = b.post("/register", form)
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "统一社会信用代码无效" in text and 'value="朝阳新企业有限公司"' in text
    r = b.post("/register", {**form, "uscc": demo_uscc("NEW001"), "password": "zhitongche", "password2": "zhitongche"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "密码至少12位" in text and 'value="newco"' in text  # the policy, typed input kept
    r = b.post("/register", {**form, "uscc": demo_uscc("CY0001")})
    assert r.status_code == 422 and "该企业已注册" in r.get_data(as_text=True)
    r = b.post("/register", {**form, "uscc": demo_uscc("NEW001")})
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/")


def test_healthz_reports_database_and_worker(app):
    r = app.test_client().get("/healthz")
    body = r.get_json()
    assert body["database"]["state"] == "ok"
    assert body["worker"]["state"] in ("down", "ok", "unknown")
    assert r.status_code in (200, 503)


def test_english_switch(app, as_user, start_case):
    start_case(county="city")
    b = as_user("wg.city")
    assert "待办" in b.get("/inbox").get_data(as_text=True)
    b.post("/lang/en", {"next": "/inbox"})
    text = b.get("/inbox").get_data(as_text=True)
    assert "Inbox" in text and "Log out" in text and "待办" not in text
    # the column holding the case number is named for one case, not the case list
    assert "<th>Case no.</th>" in text and "<th>Cases</th>" not in text


def test_error_pages_are_chinese_and_hide_details(app, as_user):
    @app.get("/boom")
    def boom():  # pragma: no cover - reached through the client
        raise RuntimeError("secret internals")

    b = as_user("wg.city")
    r = b.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    r = b.get("/boom")
    text = r.get_data(as_text=True)
    assert r.status_code == 500 and "系统错误" in text and "secret internals" not in text


def test_secret_key_is_shared_through_var(tmp_path):
    first = load_or_create_secret(tmp_path)
    assert first == load_or_create_secret(tmp_path) and len(first) >= 32


SCHEMA = {
    "type": "object",
    "required": ["n"],
    "properties": {
        "n": {"type": "integer", "title": "数量"},
        "units": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "ok": {"type": "boolean", "title": "同意"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}},
        "attachments": {"type": "array", "items": {"type": "string"}},
    },
}


def test_formrender_round_trip():
    form = MultiDict(
        [
            ("n", "12a"),
            ("units", "a"),
            ("units", "b"),
            ("ok.__present", "1"),
            ("rows.3.x", "third"),
            ("rows.1.x", "first"),
            ("rows.2.x", ""),
            ("attachments.__keep", "7|a.pdf"),
        ]
    )
    data = formrender.parse(SCHEMA, {}, form)
    assert data == {
        "n": "12a",
        "units": ["a", "b"],
        "ok": False,
        "rows": [{"x": "first"}, {"x": "third"}],
        "attachments": ["7"],
    }
    html = formrender.Renderer(SCHEMA, {}).render(data, {"n": "类型不正确", "rows.1.x": "太短"})
    assert 'value="12a"' in html and "类型不正确" in html and 'name="rows.1.x"' in html and "太短" in html
    assert 'value="7|#7"' in html or "7|" in html


def test_csrf_token_helper():
    assert csrf_of('<input name="csrf_token" value="abc">') == "abc"


def test_healthz_counts_stalled_cases_and_the_incidents_page_names_them(app, Session, engine, deploy, as_user):
    from tests.engine.util import DATA as ENGINE_DATA

    deploy({"stall.bpmn": (ENGINE_DATA / "stall.bpmn").read_bytes()})
    with Session.begin() as s:
        instance_id = engine.start(s, "stall_demo", {"route": "a"}).id
    with Session.begin() as s:
        engine.complete_task(s, engine.ready_tasks(s, instance_id)[0].id, {}, "wg.city")
    body = app.test_client().get("/healthz").get_json()
    assert body["incidents"] == {"open": 1, "stalled": 1}
    page = as_user("admin").get("/admin/incidents").get_data(as_text=True)
    assert "流程停滞" in page and "甲办理" in page

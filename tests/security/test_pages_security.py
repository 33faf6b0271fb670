"""The pages: XSS payloads rendered inert, CSRF, log-in throttling and audit, headers, cookies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import AuditEntry, LoginAttempt
from tests.web.conftest import INTAKE_OK, Browser, ready_task

XSS = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


# -- XSS -----------------------------------------------------------------------------------
def _assert_inert(html: str) -> None:
    assert XSS not in html and "<img src=x" not in html
    assert "onerror=alert(1)>" not in html


def test_xss_in_every_text_field_is_escaped(app, as_user, start_case, Session):
    case = start_case(title=XSS + "标题", name=XSS_ATTR + "企业", category=XSS)
    wg = as_user("wg.jianping")
    intake = ready_task(Session, case, "intake")
    opinion = {**INTAKE_OK, "opinion": XSS + XSS_ATTR, "actions.0.item": XSS}
    assert wg.post(f"/tasks/{intake}", {**opinion, "action": "complete"}).status_code == 302
    assert wg.post(f"/cases/{case}/comments", {"body": XSS + XSS_ATTR}).status_code == 302
    pages = {wg: ["/inbox", "/cases", f"/cases/{case}", f"/cases?q={XSS}"]}
    unit = as_user("unit.zrzyj")
    pages[unit] = ["/inbox", f"/tasks/{ready_task(Session, case, 'handle')}", f"/cases/{case}"]
    ent = as_user("ent.demo1")
    pages[ent] = ["/portal/", f"/portal/cases/{case}"]
    for browser, urls in pages.items():
        for url in urls:
            response = browser.get(url)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, url
            _assert_inert(html)
            if url.endswith(str(case)):
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_xss_in_the_login_and_registration_forms_is_escaped(app):
    browser = Browser(app.test_client())
    browser.get("/login")
    html = browser.post("/login", {"username": XSS_ATTR, "password": "x"}).get_data(as_text=True)
    _assert_inert(html)
    browser.get("/register")
    html = browser.post(
        "/register", {"name": XSS, "uscc": XSS_ATTR, "username": XSS, "password": "x", "password2": "y", "phone": XSS}
    ).get_data(as_text=True)
    _assert_inert(html)


def test_xss_in_the_api_comes_back_as_data_not_markup(api, start_case):
    case = start_case(title=XSS)
    response = api("wg.city").get(f"/api/v1/cases/{case}")
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_json()["summary"]["title"] == XSS


# -- CSRF ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/logout", "/login", "/account/tokens", "/lang/en"])
def test_a_page_post_without_csrf_token_is_refused(app, as_user, url):
    browser = as_user("wg.city")
    assert browser.client.post(url, data={"username": "wg.city", "password": "zhitongche"}).status_code in (400, 403)


def test_case_actions_without_csrf_token_are_refused(app, as_user, start_case, Session):
    case = start_case()
    browser = as_user("wg.jianping")
    intake = ready_task(Session, case, "intake")
    for url in (f"/tasks/{intake}/claim", f"/tasks/{intake}", f"/cases/{case}/comments"):
        assert browser.client.post(url, data={**INTAKE_OK, "action": "complete", "body": "x"}).status_code in (400, 403)
    assert ready_task(Session, case, "intake") == intake  # nothing happened


def test_the_api_with_a_bearer_token_needs_no_csrf_token(api):
    assert api("wg.city").post("/api/v1/tokens", {"name": "ci"}).status_code == 201


# -- log-in throttling and audit -----------------------------------------------------------
def _login(client, username, password, ip="10.0.0.1"):
    browser = Browser(client)
    browser.get("/login")
    return browser.post("/login", {"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_every_login_and_failed_login_is_audited(app, Session):
    assert _login(app.test_client(), "wg.city", "wrong").status_code == 401
    assert _login(app.test_client(), "wg.city", "zhitongche").status_code == 302
    assert _login(app.test_client(), "nobody", "x").status_code == 401
    with Session() as s:
        entries = [
            (e.actor, e.action, e.instance_id, e.data["ip"])
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(["login", "login_failed"])).order_by(AuditEntry.id)
            )
        ]
    assert entries == [
        ("wg.city", "login_failed", None, "10.0.0.1"),
        ("wg.city", "login", None, "10.0.0.1"),
        ("nobody", "login_failed", None, "10.0.0.1"),
    ]


def test_failed_logins_are_throttled_per_user_and_address(app, Session, clock):
    client = app.test_client()
    for _ in range(5):
        assert _login(client, "wg.city", "wrong").status_code == 401
    blocked = _login(client, "wg.city", "zhitongche")  # even the right password waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    assert _login(client, "wg.city", "zhitongche", ip="10.0.0.2").status_code == 302  # another address
    assert _login(client, "unit.zrzyj", "zhitongche").status_code == 302  # another user
    clock.advance(minutes=16)
    assert _login(client, "wg.city", "zhitongche").status_code == 302
    with Session() as s:
        throttled = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
        assert any((e.data or {}).get("reason") == "throttled" for e in throttled)


def test_the_throttle_is_shared_by_every_web_process(app, Session, engine, web_settings, tmp_path):
    """A second app on the same database (another gunicorn worker) sees the same counts."""
    from webapp import create_app

    other = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "test-secret",
            "SETTINGS": web_settings,
            "VAR_DIR": str(tmp_path / "var2"),
        }
    )
    for i in range(5):
        assert _login((app if i % 2 else other).test_client(), "wg.city", "wrong").status_code == 401
    assert _login(other.test_client(), "wg.city", "zhitongche").status_code == 429
    assert _login(app.test_client(), "wg.city", "zhitongche").status_code == 429


def test_a_successful_login_forgives_earlier_failures(app, Session):
    client = app.test_client()
    for _ in range(4):
        _login(client, "wg.city", "wrong")
    assert _login(client, "wg.city", "zhitongche").status_code == 302
    for _ in range(4):
        assert _login(client, "wg.city", "wrong").status_code == 401
    assert _login(client, "wg.city", "zhitongche").status_code == 302
    with Session() as s:
        assert s.scalars(select(LoginAttempt)).first() is not None


def test_spraying_many_names_from_one_address_slows_failures_but_not_the_right_password(app):
    """Colleagues behind one address (a NAT, a proxy) cannot lock each other out: once the address
    is over its limit, failures answer 429, but the right password of an unlocked account logs in."""
    app.config["LOGIN_THROTTLE"] = __import__("engine.logins", fromlist=["Throttle"]).Throttle(per_ip=6)
    client = app.test_client()
    for i in range(6):
        assert _login(client, f"user{i}", "wrong").status_code == 401
    assert _login(client, "nobody-else", "wrong").status_code == 429  # an unknown name waits
    failing = _login(client, "wg.city", "wrong")  # so does a wrong password of a real account
    assert failing.status_code == 429 and int(failing.headers["Retry-After"]) > 0
    assert _login(client, "leader.mayor", "zhitongche").status_code == 302  # the right one logs in


# -- headers and cookies -------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/login", "/api/v1/openapi.json", "/api/v1/tasks", "/api/v1/docs", "/nothing"])
def test_security_headers_everywhere(app, url):
    response = app.test_client().get(url)
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script(app, as_user, start_case):
    import re

    case = start_case()
    browser = as_user("wg.jianping")
    for url in ("/inbox", "/cases", f"/cases/{case}", "/account/tokens", "/api/v1/docs"):
        html = browser.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url


def _session_cookie(client, **kw) -> str:
    browser = Browser(client)
    browser.get("/login", **kw)
    response = browser.post("/login", {"username": "wg.city", "password": "zhitongche"}, **kw)
    assert response.status_code == 302
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("ztc_session="))


def test_cookies_are_httponly_lax_and_secure_over_https(app):
    plain = _session_cookie(app.test_client())
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    https = _session_cookie(
        app.test_client(), base_url="https://localhost", headers={"Referer": "https://localhost/login"}
    )  # Flask-WTF checks it on HTTPS
    assert "Secure" in https and "HttpOnly" in https


def test_secure_cookies_can_be_forced(Session, engine, web_settings, tmp_path, monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("ZHITONGCHE_SECURE_COOKIES", "1")
    forced = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "s",
            "SETTINGS": web_settings,
            "VAR_DIR": str(tmp_path / "v"),
        }
    )
    from engine.names import Directory
    from engine.users import ensure_demo_users

    with Session.begin() as s:
        ensure_demo_users(s, Directory())
    assert "Secure" in _session_cookie(forced.test_client())


def test_passwords_are_hashed_with_argon2(app, Session):
    from engine.models import User

    with Session() as s:
        user = s.scalars(select(User).where(User.username == "wg.city")).one()
    assert user.password_hash.startswith("$argon2id$")

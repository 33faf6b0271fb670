"""Throttling that cannot lock others out: per account, per name and address, per address;
ZHITONGCHE_TRUSTED_PROXIES decides whether X-Forwarded-For names the client."""

from __future__ import annotations

from sqlalchemy import select

from engine.logins import Throttle
from engine.models import AuditEntry, LoginAttempt
from tests.web.conftest import Browser

PROXY = "10.0.0.1"  # every request arrives from the reverse proxy


def _login(client, username, password, ip=PROXY, forwarded_for=None):
    browser = Browser(client)
    browser.get("/login", environ_base={"REMOTE_ADDR": ip})
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return browser.post(
        "/login", {"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip}, headers=headers
    )


def _app(Session, engine, web_settings, tmp_path, **config):
    from webapp import create_app

    return create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "s",
            "SETTINGS": web_settings,
            "VAR_DIR": str(tmp_path / "v"),
            **config,
        }
    )


def test_the_mayor_logs_in_after_fifteen_made_up_names_from_the_same_address(app):
    """The issue's case: a shared address full of failures does not stop a correct password."""
    app.config["LOGIN_THROTTLE"] = Throttle(per_ip=15)
    client = app.test_client()
    for i in range(15):
        assert _login(client, f"made-up-{i}", "guess").status_code == 401
    assert _login(client, "made-up-99", "guess").status_code == 429  # failing attempts are slowed …
    assert _login(client, "leader.mayor", "zhitongche").status_code == 302  # … the mayor is not
    assert _login(client, "wg.city", "zhitongche").status_code == 302


def test_an_account_is_locked_after_failures_from_many_addresses(app, clock):
    app.config["LOGIN_THROTTLE"] = Throttle(per_account=6)
    client = app.test_client()
    for i in range(6):
        assert _login(client, "wg.city", "wrong", ip=f"192.0.2.{i}").status_code == 401
    locked = _login(client, "wg.city", "zhitongche", ip="198.51.100.7")  # even the right password waits
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert _login(client, "leader.mayor", "zhitongche", ip="198.51.100.7").status_code == 302  # others are fine
    clock.advance(minutes=16)
    assert _login(client, "wg.city", "zhitongche", ip="198.51.100.7").status_code == 302


def test_a_locked_account_answers_the_same_whether_or_not_the_password_is_right(app):
    app.config["LOGIN_THROTTLE"] = Throttle(per_user_ip=3)
    client = app.test_client()
    for _ in range(3):
        _login(client, "wg.city", "wrong")
    right, wrong = _login(client, "wg.city", "zhitongche"), _login(client, "wg.city", "wrong")
    assert right.status_code == wrong.status_code == 429
    assert right.headers["Retry-After"] == wrong.headers["Retry-After"]
    assert all("登录失败次数过多" in r.get_data(as_text=True) for r in (right, wrong))


def test_x_forwarded_for_is_ignored_without_trusted_proxies(Session, engine, web_settings, tmp_path, app):
    plain = _app(Session, engine, web_settings, tmp_path)
    assert _login(plain.test_client(), "wg.city", "wrong", forwarded_for="203.0.113.9").status_code == 401
    with Session() as s:
        assert s.scalars(select(LoginAttempt.ip)).all() == [PROXY]
        assert [e.data["ip"] for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed"))] == [
            PROXY
        ]


def test_x_forwarded_for_names_the_client_behind_trusted_proxies(Session, engine, web_settings, tmp_path, app):
    """Behind one proxy, each client has its own count: one client's failures do not lock another."""
    proxied = _app(Session, engine, web_settings, tmp_path, TRUSTED_PROXIES=1)
    proxied.config["LOGIN_THROTTLE"] = Throttle(per_user_ip=3)
    client = proxied.test_client()
    for _ in range(3):
        assert _login(client, "wg.city", "wrong", forwarded_for="203.0.113.9").status_code == 401
    assert _login(client, "wg.city", "zhitongche", forwarded_for="203.0.113.9").status_code == 429
    assert _login(client, "wg.city", "zhitongche", forwarded_for="198.51.100.4").status_code == 302
    with Session() as s:
        assert set(s.scalars(select(LoginAttempt.ip))) == {"203.0.113.9", "198.51.100.4"}


def test_trusted_proxies_comes_from_the_environment(monkeypatch):
    from engine.config import Settings

    assert Settings().trusted_proxies == 0
    monkeypatch.setenv("ZHITONGCHE_TRUSTED_PROXIES", "2")
    assert Settings().trusted_proxies == 2


def test_failed_current_passwords_on_the_password_page_count_as_failed_log_ins(app, as_user):
    app.config["LOGIN_THROTTLE"] = Throttle(per_user_ip=3)
    browser = as_user("wg.city")
    browser.get("/account/password")
    form = {"new": "plum rain over chaoyang", "new2": "plum rain over chaoyang"}
    for _ in range(3):
        response = browser.post("/account/password", {**form, "current": "guess"})
        assert response.status_code == 422 and "当前密码不正确" in response.get_data(as_text=True)
    response = browser.post("/account/password", {**form, "current": "zhitongche"})
    assert response.status_code == 429 and "登录失败次数过多" in response.get_data(as_text=True)


def test_a_busy_address_audits_its_failures_as_busy_and_its_log_ins_as_log_ins(app, Session):
    """The audit says what happened at the log-in, also when the answer is a 429 from a busy address."""
    app.config["LOGIN_THROTTLE"] = Throttle(per_ip=2)
    client = app.test_client()
    assert [_login(client, f"made-up-{i}", "guess").status_code for i in range(2)] == [401, 401]
    assert _login(client, "made-up-3", "guess").status_code == 429
    assert _login(client, "wg.city", "zhitongche").status_code == 302
    with Session() as s:
        entries = [
            (e.actor, e.action, (e.data or {}).get("reason"))
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(["login", "login_failed"])).order_by(AuditEntry.id)
            )
        ]
    assert entries == [
        ("made-up-0", "login_failed", None),
        ("made-up-1", "login_failed", None),
        ("made-up-3", "login_failed", "busy"),
        ("wg.city", "login", None),
    ]

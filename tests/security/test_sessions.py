"""Sessions that end: logout, deactivation and password change end them at once (a copied cookie
is refused), idle timeout and absolute limit, nothing of the password in the cookie."""

from __future__ import annotations

import base64
import json
import zlib

from sqlalchemy import select

from engine.models import User, UserSession
from tests.web.conftest import Browser

COOKIE = "ztc_session"


def _cookie(browser: Browser) -> str:
    return browser.client.get_cookie(COOKIE).value


def _replay(app, cookie: str):
    """A new browser that only has the copied cookie: what does /inbox answer?"""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client.get("/inbox")


def _logged_in(response) -> bool:
    return response.status_code == 200 and "/login" not in response.headers.get("Location", "")


def _payload(cookie: str) -> dict:
    """What a signed (not encrypted) Flask cookie says to anyone who reads it."""
    compressed = cookie.startswith(".")
    data = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def test_a_copied_cookie_is_refused_after_logout(app, as_user):
    browser = as_user("wg.city")
    cookie = _cookie(browser)
    assert _logged_in(_replay(app, cookie))  # the copy works while the session lives
    assert browser.post("/logout").status_code == 302
    replayed = _replay(app, cookie)
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]


def test_the_cookie_carries_no_part_of_the_password_hash(app, as_user, Session):
    browser = as_user("wg.city")
    cookie = _cookie(browser)
    with Session() as s:
        password_hash = s.scalars(select(User.password_hash).where(User.username == "wg.city")).one()
    payload = _payload(cookie)
    assert set(payload) <= {"sid", "lang", "csrf_token", "_permanent", "_fresh"}, payload
    text = json.dumps(payload)
    for i in range(0, len(password_hash) - 8):
        assert password_hash[i : i + 8] not in text
    with Session() as s:  # the database keeps a hash of the session secret, never the secret
        ids = set(s.scalars(select(UserSession.id)))
    assert payload["sid"] not in ids and len(ids) == 1


def test_an_idle_session_ends_after_the_idle_timeout(app, as_user, clock):
    app.config["SESSION_IDLE_MINUTES"] = 30
    browser = as_user("wg.city")
    clock.advance(minutes=29)
    assert _logged_in(browser.get("/inbox"))  # activity keeps it alive …
    clock.advance(minutes=29)
    assert _logged_in(browser.get("/inbox"))
    clock.advance(minutes=31)  # … 31 minutes without a request end it
    response = browser.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    clock.advance(minutes=-31)  # and it stays ended, even if the clock were turned back
    assert browser.get("/inbox").status_code == 302


def test_the_idle_timeout_is_configurable(app, as_user, clock):
    app.config["SESSION_IDLE_MINUTES"] = 5
    browser = as_user("wg.city")
    clock.advance(minutes=6)
    assert browser.get("/inbox").status_code == 302


def test_a_session_ends_after_the_absolute_limit_even_when_active(app, as_user, clock):
    app.config["SESSION_MAX_HOURS"] = 8
    browser = as_user("wg.city")
    for _ in range(16):  # a request every 29 minutes for 7 h 44 min
        clock.advance(minutes=29)
        assert _logged_in(browser.get("/inbox"))
    clock.advance(minutes=20)  # 8 h 04 min after the log-in
    assert browser.get("/inbox").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, as_user, clock, Session):
    browser = as_user("wg.city")

    def last_seen():
        with Session() as s:
            return s.scalars(select(UserSession.last_seen_at)).one()

    first = last_seen()
    clock.advance(seconds=30)
    browser.get("/inbox")
    assert last_seen() == first  # no write for this request
    clock.advance(seconds=31)
    browser.get("/inbox")
    assert last_seen() > first


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, as_user):
    here = as_user("wg.city")
    elsewhere = as_user("wg.city")
    other_cookie = _cookie(elsewhere)
    here.get("/account/password")
    response = here.post(
        "/account/password",
        {"current": "zhitongche", "new": "plum rain over chaoyang", "new2": "plum rain over chaoyang"},
    )
    assert response.status_code == 302
    assert _logged_in(here.get("/inbox"))
    assert elsewhere.get("/inbox").status_code == 302
    assert _replay(app, other_cookie).status_code == 302
    fresh = Browser(app.test_client())
    fresh.get("/login")
    assert fresh.post("/login", {"username": "wg.city", "password": "zhitongche"}).status_code == 401
    assert fresh.post("/login", {"username": "wg.city", "password": "plum rain over chaoyang"}).status_code == 302


def test_deactivation_ends_sessions_and_refuses_tokens_and_log_in(app, as_user, api, Session):
    victim = as_user("unit.zrzyj")
    token_client = api("unit.zrzyj")
    assert token_client.get("/api/v1/tasks").status_code == 200
    admin = as_user("admin")
    with Session() as s:
        user_id = s.scalars(select(User.id).where(User.username == "unit.zrzyj")).one()
    admin.get(f"/admin/users/{user_id}")
    assert admin.post(f"/admin/users/{user_id}/active", {"active": "0"}).status_code == 302
    assert victim.get("/inbox").status_code == 302
    assert token_client.get("/api/v1/tasks").status_code == 401
    fresh = Browser(app.test_client())
    fresh.get("/login")
    assert fresh.post("/login", {"username": "unit.zrzyj", "password": "zhitongche"}).status_code == 401


def test_an_admin_password_reset_ends_every_session_of_the_user(app, as_user, Session):
    victim = as_user("wg.city")
    admin = as_user("admin")
    with Session() as s:
        user_id = s.scalars(select(User.id).where(User.username == "wg.city")).one()
    assert '<dd id="live-sessions">1</dd>' in admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    response = admin.post(f"/admin/users/{user_id}/password", {"generate": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="new-password"' in html and '<dd id="live-sessions">0</dd>' in html
    assert victim.get("/inbox").status_code == 302


def test_a_cookie_from_before_server_sessions_is_not_accepted(app, as_user, Session):
    """The old cookie named the user by id (``uid``): such a cookie no longer logs anyone in."""
    from flask.sessions import SecureCookieSessionInterface

    with Session() as s:
        user = s.scalars(select(User).where(User.username == "wg.city")).one()
        forged = {"uid": user.id, "pwv": user.password_hash[-16:]}
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    client = app.test_client()
    client.set_cookie(COOKIE, serializer.dumps(forged))
    assert client.get("/inbox").status_code == 302

"""API tokens: bearer only, hashed, revocable; the session cookie never authenticates the API."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from engine.models import ApiToken
from tests.api.conftest import assert_error, make_token


def test_no_token_is_401_with_a_bearer_challenge(app):
    response = app.test_client().get("/api/v1/tasks")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_401(app):
    for header in ("Bearer ztc_nope", "Basic d2cuY2l0eTp6aGl0b25nY2hl", "Bearer", "ztc_x", "Bearer " + "x" * 5000):
        assert_error(app.test_client().get("/api/v1/tasks", headers={"Authorization": header}), 401)


def test_only_the_hash_is_stored(app, Session):
    secret = make_token(Session, "wg.city")
    with Session() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def test_a_revoked_token_stops_working(api):
    client = api("wg.city")
    assert client.get("/api/v1/tasks").status_code == 200
    mine = client.get("/api/v1/tokens").get_json()["items"]
    assert len(mine) == 1 and mine[0]["revoked_at"] is None
    assert client.delete(f"/api/v1/tokens/{mine[0]['id']}").status_code == 200
    assert_error(client.get("/api/v1/tasks"), 401)


def test_tokens_are_created_through_the_api_and_revoked_only_by_their_owner(api, app):
    wg = api("wg.city")
    created = wg.post("/api/v1/tokens", {"name": "hotline 12345"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["token"].startswith("ztc_") and body["name"] == "hotline 12345"
    other = api("unit.zrzyj")
    assert_error(other.delete(f"/api/v1/tokens/{body['id']}"), 404)
    assert (
        app.test_client().get("/api/v1/statistics", headers={"Authorization": f"Bearer {body['token']}"}).status_code
        == 200
    )


def test_an_inactive_user_s_token_stops_working(api, Session):
    from engine.models import User

    client = api("unit.zrzyj")
    with Session.begin() as s:
        s.scalars(select(User).where(User.username == "unit.zrzyj")).one().active = False
    assert_error(client.get("/api/v1/tasks"), 401)


def test_the_session_cookie_does_not_authenticate_the_api(as_user):
    browser = as_user("wg.city")  # logged in on the pages
    assert_error(browser.client.get("/api/v1/tasks"), 401)
    # and a bearer call needs no CSRF token
    assert_error(browser.client.post("/api/v1/tokens", json={}), 401)


def test_the_token_page_creates_shows_once_and_revokes(as_user, Session):
    browser = as_user("unit.zrzyj")
    page = browser.get("/account/tokens")
    assert page.status_code == 200
    response = browser.post("/account/tokens", {"name": "脚本"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "ztc_" in html
    with Session() as s:
        row = s.scalars(select(ApiToken)).one()
    assert browser.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    with Session() as s:
        assert s.get(ApiToken, row.id).revoked_at is not None
    # without the CSRF token the page refuses
    assert browser.client.post("/account/tokens", data={"name": "x"}).status_code in (400, 403)


def test_the_token_page_needs_a_login(app):
    assert app.test_client().get("/account/tokens").status_code == 302

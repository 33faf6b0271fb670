"""API fixtures: the web app of tests/web (test process ``webcase``, demo users) and
clients that call it with a bearer token."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import tokens
from engine.models import User
from tests.web.conftest import (  # noqa: F401
    ENT1,
    ENT2,
    INTAKE_OK,
    SUBMISSION,
    app,
    as_user,
    case_process,
    ready_task,
    start_case,
    web_settings,
)

INTAKE_JSON = {
    "decision": "受理",
    "category": "土地批复",
    "mode": "快速办",
    "lead_unit": "zrzyj",
    "coop_units": ["fgw", "zjj"],
    "deadline": "2026-03-11",
    "opinion": "请市自然资源局牵头办理",
    "actions": [{"unit": "zrzyj", "item": "完成用地预审", "due": "2026-03-09"}],
}


def make_token(Session, username: str, name: str = "test") -> str:
    with Session.begin() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return tokens.create_token(session, user, name)[1]


class ApiClient:
    """A test client that sends ``Authorization: Bearer`` and speaks JSON."""

    def __init__(self, client, secret: str):
        self.client = client
        self.secret = secret

    def _headers(self, kw):
        return {"Authorization": f"Bearer {self.secret}", **kw.pop("headers", {})}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw), **kw)

    def post(self, url, json=None, **kw):
        if json is None and "data" not in kw:
            json = {}
        return self.client.post(url, json=json, headers=self._headers(kw), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(kw), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw), **kw)


@pytest.fixture
def api(app, Session):
    """api(username) → an ApiClient with a fresh token of that user."""

    def make(username: str) -> ApiClient:
        return ApiClient(app.test_client(), make_token(Session, username))

    return make


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]

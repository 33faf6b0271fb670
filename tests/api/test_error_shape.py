"""The API answers every failure in its one JSON error shape — also one raised after the view,
when the request's transaction is committed (handled by the app, not the API blueprint)."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tests.api.conftest import assert_error
from webapp import dbmode


def test_a_failure_at_commit_is_the_apis_json_error_not_a_page(api, app, monkeypatch):
    client = api("wg.city")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production

    def failing_commit(db, keep):
        db.rollback()
        db.close()
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    monkeypatch.setattr(dbmode, "finish", failing_commit)
    response = client.post("/api/v1/office/phrases", json={"text": "请尽快办理"})
    assert response.content_type.startswith("application/json")
    assert_error(response, 500, "internal_error")

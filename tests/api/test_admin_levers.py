"""Issue 5 in the API: suspend, resume and terminate an instance (admins), each audited, in
the API's one error shape."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEntry

from .conftest import assert_error


def _actions(Session, instance_id):
    with Session() as session:
        return [
            (e.action, e.actor, e.data)
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.instance_id == instance_id, AuditEntry.action.in_(("suspend", "resume", "terminate")))
                .order_by(AuditEntry.id)
            )
        ]


def test_admins_suspend_resume_and_terminate(api, start_case, Session):
    case = start_case()
    admin = api("admin")
    response = admin.post(f"/api/v1/instances/{case}/suspend", {"reason": "核查"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    error = assert_error(admin.post(f"/api/v1/instances/{case}/suspend"), 400, "invalid")
    assert error["details"]["status"] == "suspended"
    assert admin.post(f"/api/v1/instances/{case}/resume").get_json()["status"] == "running"
    body = admin.post(f"/api/v1/instances/{case}/terminate", {"reason": "重复"}).get_json()
    assert body["status"] == "terminated" and body["ready_tasks"] == []
    assert_error(admin.post(f"/api/v1/instances/{case}/resume"), 400, "invalid")
    assert _actions(Session, case) == [
        ("suspend", "admin", {"reason": "核查"}),
        ("resume", "admin", None),
        ("terminate", "admin", {"reason": "重复"}),
    ]


def test_only_admins_and_one_error_shape(api, start_case, Session):
    case = start_case()
    for user in ("wg.city", "designer", "ent.demo1"):
        for lever in ("suspend", "resume", "terminate"):
            assert_error(api(user).post(f"/api/v1/instances/{case}/{lever}"), 403, "forbidden")
    admin = api("admin")
    assert_error(admin.post("/api/v1/instances/999999/suspend"), 404, "not_found")
    assert_error(admin.post(f"/api/v1/instances/{case}/suspend", {"reason": "x" * 1001}), 422, "validation_error")
    assert _actions(Session, case) == []


def test_the_levers_are_documented(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for lever in ("suspend", "resume", "terminate"):
        assert "post" in paths[f"/api/v1/instances/{{instance_id}}/{lever}"]

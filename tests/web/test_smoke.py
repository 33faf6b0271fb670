from tests.web.conftest import INTAKE_OK, ready_task


def test_login_inbox_task_case(app, as_user, start_case, Session):
    case_id = start_case()
    wg = as_user("wg.jianping")
    r = wg.get("/inbox")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "受理交办" in r.get_data(as_text=True)
    task_id = ready_task(Session, case_id, "intake")
    r = wg.get(f"/tasks/{task_id}")
    assert r.status_code == 200, r.get_data(as_text=True)
    r = wg.post(f"/tasks/{task_id}", {**INTAKE_OK, "action": "complete"})
    assert r.status_code == 302, r.get_data(as_text=True)
    r = wg.get(f"/cases/{case_id}")
    assert r.status_code == 200
    r = wg.get(f"/cases/{case_id}/diagram.json")
    assert r.json["completed"] and r.json["current"] == ["handle"]

"""催办, 抄送 and 常用意见 as engine operations and on the JSON API: who may, what is
audited, which notification is written, what a copy lets its reader do (read only)."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEntry, Notification
from tests.api.conftest import api, assert_error, make_token  # noqa: F401
from tests.web.conftest import app, as_user, ready_task, start_case, web_settings  # noqa: F401


def _rows(Session, model, *where):
    with Session() as s:
        return s.scalars(select(model).where(*where)).all()


def test_urge_notifies_the_holder_marks_the_task_and_is_audited(api, as_user, start_case, Session):
    case = start_case()
    task_id = ready_task(Session, case, "intake")
    wg = api("wg.jianping")
    wg.post(f"/api/v1/tasks/{task_id}/claim")
    assert_error(api("unit.fgw").post(f"/api/v1/office/tasks/{task_id}/urge", json={}), 404)  # may not see the case
    leader = api("leader.mayor")
    urged = leader.post(f"/api/v1/office/tasks/{task_id}/urge", json={"message": "请今天内受理"})
    assert urged.status_code == 200, urged.get_data(as_text=True)
    assert urged.get_json()["urged_by"] == "leader.mayor"
    sent = _rows(Session, Notification, Notification.kind == "urge")
    assert {n.recipient for n in sent} == {"wg.jianping"} and "请今天内受理" in sent[0].body
    audit = _rows(Session, AuditEntry, AuditEntry.action == "urge")
    assert [(a.actor, a.data["to"]) for a in audit] == [("leader.mayor", ["wg.jianping"])]
    again = assert_error(leader.post(f"/api/v1/office/tasks/{task_id}/urge", json={}), 409, "conflict")
    assert again["details"]["urged_by"] == "leader.mayor"
    # the case page shows the mark
    page = as_user("wg.city").get(f"/cases/{case}").get_data(as_text=True)
    assert "已催办" in page
    # an enterprise or a handler of another unit may not urge
    assert_error(api("ent.demo1").post(f"/api/v1/office/tasks/{task_id}/urge", json={}), 403)


def test_copy_gives_read_only_access_and_a_notification(api, as_user, start_case, Session):
    case = start_case()
    reader = as_user("unit.fgw")
    assert reader.get(f"/cases/{case}").status_code == 404
    assert_error(api("unit.fgw").post(f"/api/v1/office/cases/{case}/copies", json={"to_user": "unit.fgw"}), 404)
    made = api("wg.jianping").post(
        f"/api/v1/office/cases/{case}/copies", json={"to_user": "unit.fgw", "note": "请阅知"}
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert [n.recipient for n in _rows(Session, Notification, Notification.kind == "copy")] == ["unit.fgw"]
    assert [a.actor for a in _rows(Session, AuditEntry, AuditEntry.action == "copy")] == ["wg.jianping"]
    page = reader.get(f"/cases/{case}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "只能查看" in html and 'class="form comment-form"' not in html
    assert reader.post(f"/cases/{case}/comments", {"body": "看过了"}).status_code == 404
    assert [c["instance_id"] for c in api("unit.fgw").get("/api/v1/office/copied").get_json()] == [case]
    assert "抄送我的" in reader.get("/copied").get_data(as_text=True)
    # copying is for working groups, leaders and heads of the case's units
    assert_error(api("unit.fgw").post(f"/api/v1/office/cases/{case}/copies", json={"to_user": "unit.zjj"}), 403)
    assert_error(api("wg.jianping").post(f"/api/v1/office/cases/{case}/copies", json={"to_user": "ent.demo1"}), 400)
    assert_error(api("wg.jianping").post(f"/api/v1/office/cases/{case}/copies", json={"to_group": "nobody:x"}), 400)


def test_phrases_are_each_persons_own(api):
    mine, other = api("wg.city"), api("wg.city2")
    made = mine.post("/api/v1/office/phrases", json={"text": "同意，请按程序办理。"})
    assert made.status_code == 201
    assert [p["text"] for p in mine.get("/api/v1/office/phrases").get_json()] == ["同意，请按程序办理。"]
    assert other.get("/api/v1/office/phrases").get_json() == []
    assert_error(other.delete(f"/api/v1/office/phrases/{made.get_json()['id']}"), 404)
    assert_error(mine.post("/api/v1/office/phrases", json={"text": "  "}), 400)
    assert mine.delete(f"/api/v1/office/phrases/{made.get_json()['id']}").status_code == 204

"""Issue 5, the admin pages: incidents (list, the failed task's data as JSON, correct, retry)
and the levers on a case (suspend, resume, terminate), each with its audit entry; nobody
but an admin reaches them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import AuditEntry, HumanTask, Instance

from .conftest import DATA

DENIED = (403, 404)


@pytest.fixture
def failing(app, deploy, Session, engine):
    """failing(staff=0) → id of an instance of tests/web/data/failing.bpmn (in error when staff is 0)."""
    deploy({"failing.bpmn": (DATA / "failing.bpmn").read_bytes()})
    counter = {"n": 0}

    def _start(staff=0):
        counter["n"] += 1
        case_no = f"E2026{counter['n']:04d}"
        with Session.begin() as session:
            return engine.start(
                session,
                "failing",
                {
                    "case_no": case_no,
                    "title": "补贴测算",
                    "county": "city",
                    "uscc": "x",
                    "amount": 1000,
                    "staff": staff,
                },
                actor="tester",
                business_key=case_no,
            ).id

    return _start


def audit(Session, instance_id, action):
    with Session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.instance_id == instance_id, AuditEntry.action == action)
            )
        )


def status(Session, instance_id):
    with Session() as session:
        return session.get(Instance, instance_id).status


def test_admins_list_incidents_with_element_message_time_and_case_no(failing, as_user):
    iid = failing()
    failing(staff=5)  # runs fine: not listed
    admin = as_user("admin")
    page = admin.get("/admin/incidents")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="incident-row"') == 1
    assert "E20260001" in html and "计算人均补贴" in html and "ZeroDivisionError" in html
    assert f'href="/admin/incidents/{iid}"' in html
    assert 'id="nav-incidents"' in admin.get("/inbox").get_data(as_text=True)


def test_admin_corrects_the_data_and_retries(failing, as_user, Session):
    iid = failing()
    admin = as_user("admin")
    detail = admin.get(f"/admin/incidents/{iid}").get_data(as_text=True)
    assert 'id="incident-data"' in detail and "&#34;staff&#34;: 0" in detail
    data = {"amount": 1000, "staff": 4, "case_no": "E20260001", "title": "补贴测算", "county": "city", "uscc": "x"}
    response = admin.post(f"/admin/incidents/{iid}/data", {"data": json.dumps(data)})
    assert response.status_code == 302
    [entry] = audit(Session, iid, "update_data")
    assert entry.actor == "admin" and entry.data["set"] == {"staff": 4}
    assert status(Session, iid) == "error"  # not until the retry
    response = admin.post(f"/admin/incidents/{iid}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{iid}")
    assert status(Session, iid) == "running"
    assert len(audit(Session, iid, "retry")) == 1
    with Session() as session:
        assert [t.bpmn_id for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == iid))] == ["check"]
    assert "E20260001" not in admin.get("/admin/incidents").get_data(as_text=True)


def test_removed_keys_are_removed_and_bad_json_is_refused(failing, as_user, Session, engine):
    from engine import incidents

    iid = failing()
    admin = as_user("admin")
    for bad in ("{not json", "[1, 2]"):
        response = admin.post(f"/admin/incidents/{iid}/data", {"data": bad})
        assert response.status_code == 422 and 'id="data-error"' in response.get_data(as_text=True)
    assert audit(Session, iid, "update_data") == []
    with Session() as session:
        data = incidents.failed_task_data(session, engine, iid)
    data.pop("title")
    assert admin.post(f"/admin/incidents/{iid}/data", {"data": json.dumps(data)}).status_code == 302
    [entry] = audit(Session, iid, "update_data")
    assert entry.data["removed"] == ["title"] and entry.data["set"] == {}


def test_a_retry_that_fails_again_stays_an_incident(failing, as_user, Session):
    iid = failing()
    response = as_user("admin").post(f"/admin/incidents/{iid}/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/incidents/{iid}")
    assert status(Session, iid) == "error" and len(audit(Session, iid, "retry")) == 1


def test_suspend_resume_terminate_from_the_case_page(start_case, as_user, Session):
    case = start_case()
    admin = as_user("admin")
    page = admin.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="admin-levers"' in page and 'id="suspend"' in page and 'id="terminate"' in page
    assert "data-confirm=" in page and "onsubmit" not in page
    assert admin.post(f"/admin/instances/{case}/suspend", {"reason": "核查中"}).status_code == 302
    assert status(Session, case) == "suspended"
    assert audit(Session, case, "suspend")[0].data == {"reason": "核查中"}
    page = admin.get(f"/cases/{case}").get_data(as_text=True)
    assert 'id="resume"' in page and 'id="suspend"' not in page
    assert admin.post(f"/admin/instances/{case}/resume").status_code == 302
    assert status(Session, case) == "running" and len(audit(Session, case, "resume")) == 1
    assert admin.post(f"/admin/instances/{case}/terminate", {"reason": "重复提交"}).status_code == 302
    assert status(Session, case) == "terminated"
    assert audit(Session, case, "terminate")[0].data == {"reason": "重复提交"}
    with Session() as session:
        assert {t.state for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == case))} == {
            "cancelled"
        }
    # a lever in the wrong state: a message, no change, no audit entry
    response = admin.post(f"/admin/instances/{case}/resume", follow_redirects=True)
    assert response.status_code == 200 and "flash-error" in response.get_data(as_text=True)
    assert len(audit(Session, case, "resume")) == 1 and status(Session, case) == "terminated"
    timeline = admin.get(f"/cases/{case}").get_data(as_text=True)
    assert "挂起" in timeline and "终止" in timeline


@pytest.mark.parametrize("user", ["wg.city", "unit.zrzyj", "leader.mayor", "ent.demo1"])
def test_nobody_but_admins_reaches_them(user, failing, start_case, as_user, Session):
    iid, case = failing(), start_case()
    browser = as_user(user)
    assert browser.get("/admin/incidents").status_code in DENIED
    assert browser.get(f"/admin/incidents/{iid}").status_code in DENIED
    assert browser.post(f"/admin/incidents/{iid}/data", {"data": "{}"}).status_code in DENIED
    assert browser.post(f"/admin/incidents/{iid}/retry").status_code in DENIED
    for lever in ("suspend", "resume", "terminate"):
        assert browser.post(f"/admin/instances/{case}/{lever}").status_code in DENIED
    assert status(Session, iid) == "error" and status(Session, case) == "running"
    assert audit(Session, iid, "retry") == [] and audit(Session, case, "suspend") == []
    if user != "ent.demo1":
        page = browser.get(f"/cases/{case}").get_data(as_text=True)
        assert 'id="admin-levers"' not in page and 'id="nav-incidents"' not in page


def test_anonymous_visitors_are_sent_to_log_in(failing, app):
    iid = failing()
    response = app.test_client().get(f"/admin/incidents/{iid}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.browser
def test_browser_admin_fixes_the_data_and_the_case_moves_on(failing, live_server, login_page, shots, Session):
    from playwright.sync_api import expect

    iid = failing()
    admin = login_page("admin")
    admin.click("#nav-incidents")
    row = admin.locator("tr.incident-row", has_text="E20260001")
    expect(row).to_contain_text("计算人均补贴")
    expect(row).to_contain_text("ZeroDivisionError")
    shots(admin, "incidents")
    row.locator("a.incident-link").click()
    expect(admin.locator("#incident-message")).to_contain_text("ZeroDivisionError")
    text = admin.input_value("#incident-data")
    assert '"staff": 0' in text
    admin.fill("#incident-data", "{ not json")
    admin.click("#save-data")
    expect(admin.locator("#data-error")).to_be_visible()
    shots(admin, "bad-json")
    admin.fill("#incident-data", text.replace('"staff": 0', '"staff": 4'))
    shots(admin, "data-corrected")
    admin.click("#save-data")
    expect(admin.locator(".flash-ok")).to_contain_text("数据已更正")
    admin.click("#retry")
    expect(admin.locator(".flash-ok")).to_contain_text("已重试")
    expect(admin.locator("#instance-status")).to_have_text("运行中")
    expect(admin.locator("section.card", has_text="当前事项")).to_contain_text("核对补贴")
    expect(admin.locator("#timeline")).to_contain_text("更正数据")
    shots(admin, "case-moves-on")
    assert status(Session, iid) == "running"
    admin.click("#nav-incidents")
    expect(admin.locator("#no-incidents")).to_be_visible()
    # suspend (confirmed in a dialog), resume
    admin.goto(live_server + f"/cases/{iid}")
    admin.once("dialog", lambda d: d.accept())
    admin.fill("#admin-levers input[name=reason]", "核查补贴口径")
    admin.click("#suspend")
    expect(admin.locator("#instance-status")).to_have_text("已挂起")
    shots(admin, "suspended")
    admin.click("#resume")
    expect(admin.locator("#instance-status")).to_have_text("运行中")
    assert admin.js_errors == [] and [m for m in admin.console if "Content Security Policy" in m] == []

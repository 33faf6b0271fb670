"""Provisional deadlines on the pages and the API, the calendar warning and the admin
calendar page (issue 13, item 6). The clock stands at 2026-12-31: the next working day is
in 2027, a year the official calendar does not cover yet."""

from __future__ import annotations

import re

import pytest

from engine.workdays import WorkCalendar
from tests.api.conftest import ApiClient, make_token
from tests.scenarios.driver import beijing, submit

from .conftest import Browser

BADGE = "临时时限"


@pytest.fixture
def new_year_case(real_app, Session, engine, clock):
    clock.set(beijing("2026-12-31", "09:00"))
    case = submit(Session, engine, clock, county="city", category="土地批复")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"})
    case.complete(
        "分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "mode": "快速办", "coop_units": []}
    )
    return case


def browser(app, user: str) -> Browser:
    return Browser(app.test_client()).login(user)


def test_a_provisional_deadline_is_marked_everywhere(real_app, new_year_case, Session):
    case = new_year_case
    task = case.task("拟办办理结果", "unit:zrzyj")
    unit = browser(real_app, "unit.zrzyj")
    inbox = unit.get("/inbox").get_data(as_text=True)
    assert BADGE in inbox
    assert BADGE in unit.get(f"/tasks/{task.id}").get_data(as_text=True)
    case_page = unit.get(f"/cases/{task.instance_id}").get_data(as_text=True)
    assert re.search(r"办理时限</dt><dd>2027-01-\d\d \d\d:\d\d <span class=\"badge yellow provisional\"", case_page)
    api = ApiClient(real_app.test_client(), make_token(Session, "unit.zrzyj"))
    got = api.get(f"/api/v1/tasks/{task.id}").get_json()
    assert got["deadline_provisional"] is True and got["due_at"].startswith("2027-")
    detail = api.get(f"/api/v1/cases/{task.instance_id}").get_json()
    assert detail["deadline_provisional"] is True and detail["summary"]["deadline_provisional"] is True
    assert detail["ready_tasks"][0]["deadline_provisional"] is True


def test_a_deadline_in_an_official_year_has_no_mark(real_app, Session, engine, clock):
    case = submit(Session, engine, clock, county="city", category="土地批复")  # 2026-03-02
    wg = browser(real_app, "wg.city")
    assert BADGE not in wg.get(f"/tasks/{case.task('受理审查', 'wg:city').id}").get_data(as_text=True)
    assert BADGE not in wg.get("/inbox").get_data(as_text=True)


def _second_process(real_app, Session, clock):
    """Another web process on the same database: its own engine, its own calendar object."""
    from engine.runtime import Engine
    from webapp import create_app

    config = {k: real_app.config[k] for k in ("SETTINGS", "VAR_DIR", "DIRECTORY", "UPLOAD_DIR", "SECRET_KEY")}
    other = Engine(clock=clock, calendar=WorkCalendar())
    return create_app({**config, "TESTING": True, "SESSIONMAKER": Session, "ENGINE": other})


def test_admins_enter_the_calendar_and_every_process_uses_it(real_app, Session, clock):
    clock.set(beijing("2026-12-05", "10:00"))
    other = _second_process(real_app, Session, clock)
    health = other.test_client().get("/healthz").get_json()
    assert health["calendar"] == {"state": "warning", "missing_years": [2027], "message": health["calendar"]["message"]}
    admin = browser(real_app, "admin")
    page = admin.get("/admin/calendar").get_data(as_text=True)
    assert 'id="calendar-warning"' in page and "2027 年尚无官方工作日历" in page
    assert 'id="calendar-warning"' in admin.get("/admin/incidents").get_data(as_text=True)

    # a wrong line is refused with its number; what was typed stays
    typed = "2027-01-01 元旦\n\n2027-02-30\n2027-02-11"
    r = admin.post("/admin/calendar/2027", {"holidays": typed, "workdays": "2027-02-08"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "第 3 行：“2027-02-30” 不是有效日期" in page and "第 1 行：“2027-02-08” 是周一至周五" in page
    assert "2027-01-01 元旦\n\n2027-02-30\n2027-02-11</textarea>" in page
    assert other.test_client().get("/healthz").get_json()["calendar"]["state"] == "warning"  # nothing saved

    r = admin.post(
        "/admin/calendar/2027",
        {"holidays": "2027-01-01 元旦\n2027-02-11\n2027-02-12", "workdays": "2027-02-06  # 周六上班"},
    )
    assert r.status_code == 302
    # the other process picks it up at its next request, without a restart
    assert other.test_client().get("/healthz").get_json()["calendar"] == {"state": "ok"}
    assert other.config["ENGINE"].calendar.source(2027) == "database"
    assert other.config["ENGINE"].calendar.is_workday(beijing("2027-02-06").date())
    page = admin.get("/admin/calendar").get_data(as_text=True)
    assert 'id="calendar-warning"' not in page and "管理员录入" in page
    case_page_history = admin.get("/admin/calendar/2027").get_data(as_text=True)
    assert "2027-02-06</textarea>" in case_page_history

    # only administrators
    assert browser(real_app, "wg.city").get("/admin/calendar").status_code == 403

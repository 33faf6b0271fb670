"""议定事项 board (issue 19, item 4): each decision item with unit, deadline, status, report and
overdue mark, per case and across cases; filters by unit, leader and status; the access rules
of cases; the same on GET /api/v1/decision-items."""

from __future__ import annotations

import pytest

from engine import access, decision_items
from engine.models import Instance, User
from tests.api.conftest import api, assert_error  # noqa: F401
from tests.web.conftest import as_user, real_app  # noqa: F401

from .decisions_journey import two_meetings


@pytest.fixture
def app(real_app):
    return real_app


@pytest.fixture
def journey(real_app, new_case):
    return two_meetings(new_case)


def _board(Session, username, clock, **filters):
    with Session() as s:
        user = s.query(User).filter_by(username=username).one()
        return decision_items.board(s, access.Principal.of(user), decision_items.ItemQuery(**filters), clock.now())


def test_each_item_has_its_unit_deadline_status_report_and_overdue_mark(journey, Session, clock):
    meeting, onsite = journey
    with Session() as s:
        items = decision_items.of_case(s, s.get(Instance, meeting.instance().id), clock.now())
    assert [(i.content, i.unit, i.deadline, i.status, i.overdue, i.leader, i.meeting) for i in items] == [
        ("下达用地批复", "zrzyj", "2026-03-13", "done", False, "leader.mayor", "专题会议纪要"),
        ("保障施工用电", "gdgs", "2026-03-16", "open", True, "leader.mayor", "专题会议纪要"),
    ]
    assert items[0].report == "用地批复已于3月12日下达" and items[0].completed_by == "unit.zrzyj"
    assert items[1].report is None and items[1].task_id is not None
    assert {i.meeting_date for i in items} == {"2026-03-11"}

    board = _board(Session, "wg.city", clock)
    # open overdue first, then open by due time, done last
    assert [i.content for i in board.items] == ["保障施工用电", "三日内完成施工图审查", "下达用地批复"]
    assert board.leaders == ["leader.mayor", "leader.vice"] and board.units == ["gdgs", "zjj", "zrzyj"]


def test_the_board_filters_by_unit_leader_and_status(journey, Session, clock):
    def contents(**filters):
        return [i.content for i in _board(Session, "leader.mayor", clock, **filters).items]

    assert contents(unit="zjj") == ["三日内完成施工图审查"]
    assert contents(leader="leader.mayor") == ["保障施工用电", "下达用地批复"]
    assert contents(leader="leader.vice", unit="zrzyj") == []
    assert contents(status="overdue") == ["保障施工用电"]
    assert contents(status="done") == ["下达用地批复"]
    assert contents(status="open") == ["保障施工用电", "三日内完成施工图审查"]


def test_a_unit_sees_the_items_of_the_cases_it_may_see_only(journey, Session, clock):
    # 朝阳供电公司 holds an item of the meeting case, nothing of the on-site case
    assert [i.content for i in _board(Session, "unit.gdgs", clock).items] == ["保障施工用电", "下达用地批复"]
    assert [i.content for i in _board(Session, "unit.zjj", clock).items] == ["三日内完成施工图审查"]
    assert _board(Session, "unit.fgw", clock).items == []


def test_the_api_lists_the_items_with_the_same_filters(journey, api):
    wg = api("wg.city")
    body = wg.get("/api/v1/decision-items").get_json()
    assert body["page"]["total"] == 3
    first = body["items"][0]
    assert (first["content"], first["unit"], first["status"], first["overdue"], first["leader"]) == (
        "保障施工用电",
        "gdgs",
        "open",
        True,
        "leader.mayor",
    )
    done = wg.get("/api/v1/decision-items?status=done").get_json()["items"]
    assert [(i["content"], i["report"]) for i in done] == [("下达用地批复", "用地批复已于3月12日下达")]
    assert [i["content"] for i in wg.get("/api/v1/decision-items?leader=leader.vice").get_json()["items"]] == [
        "三日内完成施工图审查"
    ]
    assert wg.get("/api/v1/decision-items?unit=zrzyj&per_page=1").get_json()["page"]["total"] == 1
    assert [i["content"] for i in api("unit.zjj").get("/api/v1/decision-items").get_json()["items"]] == [
        "三日内完成施工图审查"
    ]
    assert_error(wg.get("/api/v1/decision-items?status=late"), 422)
    assert_error(api("ent.demo1").get("/api/v1/decision-items"), 403)


def test_the_board_page_and_the_case_page_show_the_items(journey, as_user):
    meeting, _onsite = journey
    wg = as_user("wg.city")
    home = wg.get("/inbox").get_data(as_text=True)
    assert 'id="nav-decisions"' in home
    page = wg.get("/decision-items?unit=gdgs").get_data(as_text=True)
    assert "保障施工用电" in page and "朝阳供电公司" in page and "超期" in page and "市长" in page
    assert "下达用地批复" not in page
    case_page = wg.get(f"/cases/{meeting.instance().id}").get_data(as_text=True)
    assert 'id="case-decision-items"' in case_page
    assert "用地批复已于3月12日下达" in case_page and "保障施工用电" in case_page
    unit = as_user("unit.zjj")
    assert 'id="nav-decisions"' not in unit.get("/inbox").get_data(as_text=True)
    assert "保障施工用电" not in unit.get("/decision-items").get_data(as_text=True)

"""In the browser: the 议定事项 board from the navigation — every item with its unit, deadline,
status, report and overdue mark, filtered by leader and by unit — and the items on the case page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import browser_type_launch_args, login_page, real_app, real_server, shots  # noqa: F401

from .decisions_journey import two_meetings

pytestmark = pytest.mark.browser


def test_the_board_tracks_each_item_and_filters_by_leader_and_unit(real_server, login_page, shots, new_case):
    meeting, _onsite = two_meetings(new_case)
    mayor = login_page("leader.mayor")
    mayor.click("#nav-decisions")
    table = mayor.locator("#decision-items")
    expect(table.locator("tbody tr")).to_have_count(3)
    overdue = table.locator("tbody tr").first  # open and overdue first
    expect(overdue).to_contain_text("保障施工用电")
    expect(overdue).to_contain_text("朝阳供电公司")
    expect(overdue).to_contain_text("2026-03-16")
    expect(overdue.locator(".overdue-mark")).to_have_text("超期")
    done = table.locator("tbody tr", has_text="下达用地批复")
    expect(done.locator(".item-status")).to_contain_text("已落实")
    expect(done.locator(".item-report")).to_have_text("用地批复已于3月12日下达")
    expect(done.locator(".overdue-mark")).to_have_count(0)
    shots(mayor, "board")

    mayor.select_option("#filter-leader", label="市长")
    mayor.click("#decision-filters button[type=submit]")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).not_to_contain_text("三日内完成施工图审查")
    shots(mayor, "board-mayor")
    mayor.select_option("#filter-leader", "")
    mayor.select_option("#filter-unit", label="市住房和城乡建设局")
    mayor.click("#decision-filters button[type=submit]")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("三日内完成施工图审查")
    expect(table).to_contain_text("分管副市长")
    shots(mayor, "board-unit")

    mayor.goto(real_server + "/decision-items")
    table.locator("a.case-link", has_text=meeting.case_no).first.click()
    case_items = mayor.locator("#case-decision-items")
    expect(case_items.locator("tbody tr")).to_have_count(2)
    expect(case_items).to_contain_text("用地批复已于3月12日下达")
    expect(case_items.locator(".overdue-mark")).to_have_count(1)
    shots(mayor, "case-page")
    assert mayor.js_errors == []


def test_a_unit_sees_only_its_cases_items(real_server, login_page, shots, new_case):
    two_meetings(new_case)
    unit = login_page("unit.zjj")
    expect(unit.locator("#nav-decisions")).to_have_count(0)  # the link is for working groups and leaders
    unit.goto(real_server + "/decision-items")
    expect(unit.locator("#decision-items tbody tr")).to_have_count(1)
    expect(unit.locator("#decision-items")).to_contain_text("三日内完成施工图审查")
    shots(unit, "unit-board")

"""In the browser (real processes): the inbox search finds a case by a word of its description;
a working group member ticks 10 tasks and assigns them to a colleague at once (each audited);
a saved filter comes back from the 常用筛选 list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.models import AuditEntry, HumanTask
from tests.scenarios.driver import make_uscc, submit
from tests.web.conftest import browser_type_launch_args, login_page, real_app, real_server  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def cases(real_app, Session, engine, clock):
    """Ten city cases waiting for 受理审查 by wg:city; the fourth one's description mentions 积水."""
    made = []
    for n in range(10):
        description = "厂区门前道路积水，货车无法通行" if n == 3 else f"第{n}号企业反映用地手续办理缓慢"
        made.append(
            submit(
                Session, engine, clock, uscc=make_uscc(f"91211300MA0Q1{n:03d}1"), county="city", description=description
            )
        )
    return made


def test_inbox_search_finds_a_case_by_a_word_of_its_description(real_server, login_page, cases):
    wg = login_page("wg.city")
    wg.goto(wg.base + "/inbox")
    expect(wg.locator("tr.task-row")).to_have_count(10)
    wg.fill("#inbox-q", "积水")
    wg.click("#inbox-filters button[type=submit]")
    expect(wg.locator("tr.task-row")).to_have_count(1)
    expect(wg.locator("tr.task-row")).to_contain_text(cases[3].case_no)
    # the case list finds it by the same word
    wg.goto(wg.base + "/cases?q=积水")
    expect(wg.locator("#case-table tbody tr")).to_have_count(1)
    expect(wg.locator("#case-table")).to_contain_text(cases[3].case_no)
    # saved, it comes back from the list
    wg.goto(wg.base + "/inbox?q=积水")
    wg.click("#saved-filters summary")
    wg.fill("#save-filter input[name=name]", "积水的案件")
    wg.click("#save-filter button[type=submit]")
    expect(wg.locator(".flash-ok")).to_contain_text("筛选条件已保存")
    wg.goto(wg.base + "/inbox")
    wg.click("#saved-filters summary")
    wg.click("a.saved-filter:has-text('积水的案件')")
    expect(wg.locator("tr.task-row")).to_have_count(1)
    assert wg.js_errors == []


def test_bulk_assign_ten_tasks(real_server, login_page, cases, Session):
    wg = login_page("wg.city")
    wg.goto(wg.base + "/inbox")
    expect(wg.locator("tr.task-row")).to_have_count(10)
    wg.check("#select-all")
    expect(wg.locator(".select-task:checked")).to_have_count(10)
    wg.select_option("#bulk-action", "assign")
    wg.select_option("#bulk-to", "wg.city2")
    wg.click("#bulk-form button[type=submit]")
    expect(wg.locator(".flash-ok")).to_contain_text("已批量处理 10 个事项")
    with Session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.state == "ready", HumanTask.assignee == "wg.city2")
            )
            == 10
        )
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "assign")).all()
        assert len(audits) == 10 and {a.actor for a in audits} == {"wg.city"}
        assert len({a.instance_id for a in audits}) == 10 and all(a.data == {"to": "wg.city2"} for a in audits)
    other = login_page("wg.city2")
    other.goto(other.base + "/inbox?tab=mine")
    expect(other.locator("tr.task-row")).to_have_count(10)
    # nothing ticked: a clear message, nothing changed
    wg.goto(wg.base + "/inbox")
    wg.click("#bulk-form button[type=submit]")
    expect(wg.locator(".flash-error")).to_contain_text("请至少选择一个事项")

"""In the browser (real processes): 撤回 from the case page while the next task is unclaimed;
a stale 撤回 after a colleague claimed the next task is refused with who claimed it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import make_uscc, submit
from tests.web.conftest import browser_type_launch_args, login_page, real_app, real_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_recall_before_the_next_claim_and_refused_after(real_server, login_page, real_app, Session, engine, clock):
    case = submit(Session, engine, clock, uscc=make_uscc("91211300MA0Q1AAA1"), county="city")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept", "intake_reason": "符合条件"}, actor="wg.city")
    wg = login_page("wg.city")
    wg.goto(wg.base + f"/cases/{case.instance().id}")
    expect(wg.locator("#recall-form")).to_contain_text("受理审查")
    wg.click("#recall-form button[type=submit]")
    expect(wg.locator(".flash-ok")).to_contain_text("已撤回")
    assert f"/tasks/{case.task('受理审查').id}" in wg.url
    assert [t.name for t in case.tasks()] == ["受理审查"]
    # done again; the page still offers 撤回, but a colleague claims the next task first
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    wg.goto(wg.base + f"/cases/{case.instance().id}")
    expect(wg.locator("#recall-form")).to_be_visible()
    other = login_page("wg.city2")
    other.goto(other.base + "/inbox")
    other.click(f"tr[data-task='{case.task('分级交办').id}'] button:has-text('认领')")
    expect(other.locator(".flash-ok")).to_contain_text("已认领")
    wg.click("#recall-form button[type=submit]")
    expect(wg.locator(".flash-error")).to_contain_text("下一环节已由 wg.city2 认领，不能撤回")
    expect(wg.locator("#recall-form")).to_have_count(0)
    assert [t.name for t in case.tasks()] == ["分级交办"]

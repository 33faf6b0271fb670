"""The notification centre in a real browser: the header shows the unread count, the list leads to
the task, marking all read clears the badge. Screenshots in test-artifacts/web/<test>/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import notify

pytestmark = pytest.mark.browser


def test_the_header_counts_unread_notices_and_the_centre_leads_to_the_task(
    live_server, login_page, start_case, shots, Session, clock
):
    start_case(title="厂房用地手续办理")
    start_case(title="供电增容")
    notify.expand_due(Session, clock.now())  # the worker's pass: a group's members are told at send time
    page = login_page("wg.jianping")
    expect(page.locator("#unread-count")).to_have_text("2")
    page.click("#nav-notices")
    expect(page.locator("#notices li.notice.unread")).to_have_count(2)
    expect(page.locator("#notices")).to_contain_text("供电增容")
    shots(page, "notification-centre")
    page.locator("#notices li.notice", has_text="供电增容").locator("a.notice-subject").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.locator("#unread-count")).to_have_text("1")
    page.click("#nav-notices")
    page.click("#notices-read-all")
    expect(page.locator("#unread-count")).to_have_count(0)
    expect(page.locator("#notices li.notice.unread")).to_have_count(0)
    expect(page.locator("#notices-unread")).to_contain_text("0")
    shots(page, "all-read")
    assert page.js_errors == []

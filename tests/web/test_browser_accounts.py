"""Accounts in a real browser: an administrator creates an official on /admin/users/new (the
policy's message at the field, what was typed kept), who then logs in and changes the password.
Screenshots in test-artifacts/web/<test>/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
GOOD = "tall pines by the river"


def test_an_admin_creates_an_official_who_logs_in_and_changes_the_password(live_server, login_page, browser, shots):
    admin = login_page("admin")
    admin.click("#nav-users")
    expect(admin.locator("#user-table")).to_contain_text("wg.city")
    admin.click("#new-user")
    admin.fill("#f-username", "unit.fgw.sun")
    admin.fill("#f-display_name", "孙经办")
    admin.select_option("#f-groups", ["unit:fgw", "head:fgw"])
    admin.select_option("#f-county", "city")
    admin.fill("#f-password", "zhitongche")
    admin.fill("#f-password2", "zhitongche")
    admin.click("#create-user")
    expect(admin.locator("#f-password-error")).to_contain_text("密码至少12位")
    expect(admin.locator("#f-username")).to_have_value("unit.fgw.sun")  # typed input kept
    expect(admin.locator("#f-display_name")).to_have_value("孙经办")
    assert admin.eval_on_selector("#f-groups", "s => [...s.selectedOptions].map(o => o.value)") == [
        "unit:fgw",
        "head:fgw",
    ]
    shots(admin, "policy-message")
    admin.fill("#f-password", GOOD)
    admin.fill("#f-password2", GOOD)
    admin.click("#create-user")
    expect(admin.locator("#user-message")).to_contain_text("unit.fgw.sun")
    shots(admin, "created")

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "unit.fgw.sun")
    page.fill("#password", GOOD)
    page.click("form.form button[type=submit]")
    page.click("#nav-password")
    page.fill("#f-current", GOOD)
    page.fill("#f-new", "seven quiet lanterns glow")
    page.fill("#f-new2", "seven quiet lanterns glow")
    page.click("#change-password")
    expect(page.locator(".flash-ok")).to_contain_text("密码已修改")
    shots(page, "password-changed")
    page.goto(live_server + "/inbox")
    assert "/login" not in page.url  # this session stays; the others have ended
    assert not admin.js_errors
    context.close()

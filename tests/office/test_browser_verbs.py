"""In the browser (test process): a phrase saved under 常用意见 is inserted into an opinion
field; 催办 from the case page marks the task 已催办 and writes the holder's notification
(the in-app notification centre is another helper's work: the outbox row is asserted);
a case copied (抄送) to a unit handler is listed under 抄送我的 and opens read-only."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.models import Notification
from tests.web.conftest import (  # noqa: F401
    app,
    browser_type_launch_args,
    live_server,
    login_page,
    ready_task,
    start_case,
    web_settings,
)

pytestmark = pytest.mark.browser


def test_a_saved_phrase_is_inserted_into_the_opinion(live_server, login_page, start_case, Session):
    case = start_case()
    wg = login_page("wg.jianping")
    wg.click("#nav-phrases")
    wg.fill("#phrase-text", "同意受理，请牵头单位五个工作日内办结。")
    wg.click("#phrase-form button[type=submit]")
    expect(wg.locator("#phrase-list")).to_contain_text("同意受理，请牵头单位五个工作日内办结。")
    wg.goto(wg.base + f"/tasks/{ready_task(Session, case, 'intake')}")
    wg.fill("#f-opinion", "经审查，")
    wg.locator("#f-opinion").evaluate("el => el.setSelectionRange(el.value.length, el.value.length)")
    pick = wg.locator("select.phrase-pick").first
    pick.select_option(label="同意受理，请牵头单位五个工作日内办结。")
    expect(wg.locator("#f-opinion")).to_have_value("经审查，同意受理，请牵头单位五个工作日内办结。")
    assert wg.js_errors == []


def test_urge_marks_the_task_and_notifies_its_holder(live_server, login_page, start_case, Session):
    case = start_case()
    task_id = ready_task(Session, case, "intake")
    holder = login_page("wg.jianping")
    holder.goto(holder.base + "/inbox")
    holder.click(f"tr[data-task='{task_id}'] button:has-text('认领')")
    mayor = login_page("leader.mayor")
    mayor.goto(mayor.base + f"/cases/{case}")
    mayor.fill(f"#urge-{task_id}", "企业反映强烈，请今日受理")
    mayor.click(f"form.urge-form[data-task='{task_id}'] button[type=submit]")
    expect(mayor.locator(".flash-ok")).to_contain_text("已催办")
    expect(mayor.locator(f"form.urge-form[data-task='{task_id}'] .urged")).to_have_text("已催办")
    with Session() as s:
        rows = s.scalars(select(Notification).where(Notification.kind == "urge")).all()
        assert {r.recipient for r in rows} == {"wg.jianping"} and "企业反映强烈" in rows[0].body
    # a second urge right away is refused with who urged
    mayor.click(f"form.urge-form[data-task='{task_id}'] button[type=submit]")
    expect(mayor.locator(".flash-error")).to_contain_text("leader.mayor")


def test_copy_gives_read_only_access(live_server, login_page, start_case):
    case = start_case()
    reader = login_page("unit.fgw")
    assert reader.goto(reader.base + f"/cases/{case}").status == 404
    wg = login_page("wg.jianping")
    wg.goto(wg.base + f"/cases/{case}")
    wg.fill("#copy-to", "unit.fgw")
    wg.fill("#copy-note", "请配合了解情况")
    wg.click("#copy-form button[type=submit]")
    expect(wg.locator(".flash-ok")).to_contain_text("已抄送给 unit.fgw")
    expect(wg.locator("#copies")).to_contain_text("unit.fgw")
    reader.click("#nav-copied")
    expect(reader.locator("#copied-table")).to_contain_text("请配合了解情况")
    reader.click("#copied-table a.case-link")
    expect(reader.locator("#read-only-notice")).to_be_visible()
    expect(reader.locator("form.comment-form")).to_have_count(0)
    expect(reader.locator("#copy-form")).to_have_count(0)
    expect(reader.locator("#urge")).to_have_count(0)

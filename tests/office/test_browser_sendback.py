"""In the browser (real processes): the working group returns a case from 结果审核 to 拟办办理结果
with a reason the unit sees on its task page; the unit takes back its own 拟办办理结果 inside the
handling sub-process before the head claims the next step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import make_uscc, submit
from tests.web.conftest import browser_type_launch_args, login_page, real_app, real_server  # noqa: F401

from .test_sendback import DISPATCH

pytestmark = pytest.mark.browser


def test_send_back_to_the_unit_with_a_reason_and_recall_in_the_sub_process(
    real_server, login_page, real_app, Session, engine, clock
):
    case = submit(Session, engine, clock, uscc=make_uscc("91211300MA0Q1AAA1"), county="city")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.complete("分级交办", "wg:city", DISPATCH, actor="wg.city")
    case.complete("配合单位意见", "unit:fgw", {"coop_agree": True, "coop_opinion_text": "同意"}, actor="unit.fgw")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "初稿", "solved": True}, actor="unit.zrzyj")
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    wg = login_page("wg.city")
    wg.goto(wg.base + f"/tasks/{case.task('结果审核').id}")
    wg.click("#send-back summary")
    wg.select_option("#send-back-target", label="拟办办理结果（unit.zrzyj）")
    wg.fill("#send-back-reason", "办理结果缺少整改时间表，请补充")
    wg.click("#send-back-form button[type=submit]")
    expect(wg.locator(".flash-ok")).to_contain_text("已退回到「拟办办理结果」")
    assert [t.name for t in case.tasks()] == ["拟办办理结果"]
    # the unit's handler finds it in the inbox, with the reason on the task page and the former answer as draft
    unit = login_page("unit.zrzyj")
    unit.goto(unit.base + "/inbox")
    unit.click(f"tr[data-task='{case.task('拟办办理结果').id}'] a")
    expect(unit.locator("#returned")).to_contain_text("办理结果缺少整改时间表，请补充")
    expect(unit.locator("#returned")).to_contain_text("结果审核")
    expect(unit.locator("#send-back")).to_have_count(0)
    # redone inside the sub-process, then taken back from the case page before the head claims
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "附整改时间表", "solved": True}, actor="unit.zrzyj")
    unit.goto(unit.base + f"/cases/{case.instance().id}")
    expect(unit.locator("#recall-form")).to_contain_text("拟办办理结果")
    unit.click("#recall-form button[type=submit]")
    expect(unit.locator(".flash-ok")).to_contain_text("已撤回")
    assert [t.name for t in case.tasks()] == ["拟办办理结果"]
    assert case.task("拟办办理结果").draft["handling_result"] == "附整改时间表"

"""退回 on the JSON API and the task page (real processes): the targets offered, the return,
who may, and the reason on the receiver's page."""

from __future__ import annotations

from tests.api.conftest import ApiClient, assert_error, make_token
from tests.scenarios.driver import make_uscc, submit
from tests.web.conftest import Browser, real_app  # noqa: F401

from .test_sendback import DISPATCH


def test_send_back_on_the_api_and_the_receivers_page(real_app, Session, engine, clock):
    case = submit(Session, engine, clock, uscc=make_uscc("91211300MA0Q1AAA1"), county="city")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.complete("分级交办", "wg:city", DISPATCH, actor="wg.city")
    case.complete("配合单位意见", "unit:fgw", {"coop_agree": True, "coop_opinion_text": "同意"}, actor="unit.fgw")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "初稿", "solved": True}, actor="unit.zrzyj")
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    review = case.task("结果审核").id
    wg = ApiClient(real_app.test_client(), make_token(Session, "wg.city"))
    offered = wg.get(f"/api/v1/office/tasks/{review}/send-back-targets")
    assert offered.status_code == 200, offered.get_data(as_text=True)
    names = {t["name"]: t["task_id"] for t in offered.get_json()}
    assert list(names) == ["负责人审核", "拟办办理结果", "分级交办"]
    unit = ApiClient(real_app.test_client(), make_token(Session, "unit.zrzyj"))
    assert_error(
        unit.post(
            f"/api/v1/office/tasks/{review}/send-back", json={"target_task_id": names["拟办办理结果"], "reason": "x"}
        ),
        403,
    )
    assert_error(
        wg.post(f"/api/v1/office/tasks/{review}/send-back", json={"target_task_id": names["拟办办理结果"]}), 422
    )
    done = wg.post(
        f"/api/v1/office/tasks/{review}/send-back",
        json={"target_task_id": names["拟办办理结果"], "reason": "缺少整改时间表"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["name"], done.get_json()["assignee"]) == ("拟办办理结果", "unit.zrzyj")
    assert_error(
        wg.post(
            f"/api/v1/office/tasks/{review}/send-back",
            json={"target_task_id": names["拟办办理结果"], "reason": "again"},
        ),
        409,
        "conflict",
    )
    # the receiver's task page shows the reason; the timeline has the entry
    browser = Browser(real_app.test_client())
    browser.login("unit.zrzyj")
    html = browser.get(f"/tasks/{names['拟办办理结果']}").get_data(as_text=True)
    assert "退回理由" in html and "缺少整改时间表" in html and "结果审核" in html
    assert 'id="send-back-form"' not in html  # a handler may not return it

"""Warnings reach people: a whole journey through the shipped processes tells the right people
at every event (docs/CONVENTIONS.md "Notifications"), in their in-app notification centre."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict

import pytest
from sqlalchemy import select

from engine import notify
from engine.models import User, UserNotice

from .driver import beijing, make_uscc

CITY_WG, LEADERS = "wg:city", "leader:city"
PEOPLE = {
    "wg.city": ["wg:city"],
    "leader.city": ["leader:city"],
    "unit.zrzyj": ["unit:zrzyj"],
    "head.zrzyj": ["head:zrzyj"],
    "unit.fgw": ["unit:fgw"],
    "head.fgw": ["head:fgw"],
    "leader.beipiao": ["leader:beipiao"],
}


@pytest.fixture(autouse=True)
def people(Session, monkeypatch):
    monkeypatch.setenv("ZHITONGCHE_NOTIFY_CHANNELS", "inapp")
    with Session.begin() as s:
        for username, groups in PEOPLE.items():
            s.add(User(username=username, password_hash="x", display_name=username, kind="official", groups=groups))
        s.add(
            User(
                username="ent",
                password_hash="x",
                display_name="企业",
                kind="enterprise",
                groups=[f"enterprise:{make_uscc()}"],
                uscc=make_uscc(),
            )
        )
        s.add(
            User(
                username="other.ent",
                password_hash="x",
                display_name="别的企业",
                kind="enterprise",
                groups=["enterprise:X"],
                uscc="X",
            )
        )


def sent(Session) -> None:
    """The worker's pass over the outbox: groups rows become their members' notices (issue 18)."""
    notify.expand_due(Session, _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=3650))


def warnings(Session) -> dict[str, list[str]]:
    """Subject → recipients of every notice that is not a new-task notice, in order of sending."""
    sent(Session)
    seen: dict[str, list[str]] = defaultdict(list)
    with Session() as s:
        for notice in s.scalars(select(UserNotice).where(UserNotice.kind != "assignment").order_by(UserNotice.id)):
            seen[notice.subject.removeprefix("【直通车】")].append(notice.username)
    return {subject: sorted(users) for subject, users in seen.items()}


def bodies(Session, subject: str) -> list[str]:
    sent(Session)
    with Session() as s:
        return list(s.scalars(select(UserNotice.body).where(UserNotice.subject == "【直通车】" + subject)))


def test_a_whole_journey_warns_the_right_people(new_case, Session):
    case = new_case()
    case.complete("受理审查", CITY_WG, {"intake_decision": "need_material", "material_request": "用地规划许可证"})
    assert warnings(Session) == {"请补充材料": ["ent"]}
    (body,) = bodies(Session, "请补充材料")
    assert "2026-03-09" in body and "用地规划许可证" in body and "视为撤回" in body  # 5 working days
    case.message("material_supplied", {"files": ["许可证.pdf"]})
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    case.complete(
        "分级交办", CITY_WG, {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "马上办"}
    )  # deadline Thursday 03-05 17:30
    sent(Session)
    with Session() as s:  # the new task told its candidates (unit.fgw is not one of them)
        assert list(
            s.scalars(
                select(UserNotice.username).where(
                    UserNotice.kind == "assignment", UserNotice.subject.contains("拟办办理结果")
                )
            )
        ) == ["unit.zrzyj"]
    case.move_to(beijing("2026-03-04", "17:31"))
    assert warnings(Session)["黄牌预警"] == ["head.zrzyj", "unit.zrzyj"]
    case.move_to(beijing("2026-03-05", "17:31"))
    assert warnings(Session)["红牌督办"] == ["head.zrzyj", "leader.city", "wg.city"]
    case.complete(
        "签发督办单", CITY_WG, {"supervision_notice_no": "督字〔2026〕7号", "supervision_content": "限期两日办结"}
    )
    assert warnings(Session)["督办通知 督字〔2026〕7号"] == ["head.zrzyj", "leader.city", "wg.city"]
    assert "限期两日办结" in bodies(Session, "督办通知 督字〔2026〕7号")[0]
    case.move_to(beijing("2026-03-10", "17:31"))  # three working days after the deadline
    assert warnings(Session)["超期自动提级"] == ["leader.city"]
    case.complete(
        "领导批示", LEADERS, {"leader_mode": "签批督办", "instruction": "限期解决", "leader_deadline_days": 5}
    )
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "已核发用地批复", "solved": True})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"})
    case.complete("结果审核", CITY_WG, {"review_decision": "accept"})
    assert "已核发用地批复" in bodies(Session, "办理结果")[0]
    case.complete("回访评价", CITY_WG, {"satisfaction": "满意", "visit_comment": "好"})
    assert case.status == "completed"
    assert warnings(Session) == {
        "请补充材料": ["ent"],
        "黄牌预警": ["head.zrzyj", "unit.zrzyj"],
        "红牌督办": ["head.zrzyj", "leader.city", "wg.city"],
        "督办通知 督字〔2026〕7号": ["head.zrzyj", "leader.city", "wg.city"],
        "超期自动提级": ["leader.city"],
        "办理结果": ["ent"],
        "回访已记录": ["ent"],
    }


def test_yellow_card_after_the_deadline_and_a_repeated_red_card_warn_nobody_again(new_case, Session):
    case = new_case()
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    case.complete(
        "分级交办", CITY_WG, {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "马上办"}
    )
    case.move_to(beijing("2026-03-05", "17:31"))  # both timers fire at once: the yellow one is too late
    assert "黄牌预警" not in warnings(Session)
    assert warnings(Session)["红牌督办"] == ["head.zrzyj", "leader.city", "wg.city"]


def test_rejection_tells_the_enterprise_why(new_case, Session):
    case = new_case()
    case.complete("受理审查", CITY_WG, {"intake_decision": "reject", "intake_reason": "不属于受理范围"})
    assert warnings(Session) == {"不予受理": ["ent"]}
    assert "不属于受理范围" in bodies(Session, "不予受理")[0]

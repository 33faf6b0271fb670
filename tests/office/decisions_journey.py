"""Two escalated cases driven through the real processes to their decision items (议定事项):
a 专题会议 called by the mayor (two items: 市自然资源局 and 朝阳供电公司) and a 现场办公 called
by the vice mayor (one item: 市住房和城乡建设局). By 2026-03-17 09:00 (Beijing) the first item
is reported on time, the second is past its deadline (03-16) and open, the third (03-20) is open."""

from __future__ import annotations

from tests.scenarios.driver import beijing

CITY_WG, LEADERS = "wg:city", "leader:city"


def escalate(case, lead_unit: str) -> None:
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"}, actor="wg.city")
    case.complete(
        "分级交办",
        CITY_WG,
        {
            "dispatch_action": "dispatch",
            "lead_unit": lead_unit,
            "coop_units": [],
            "mode": "马上办",
            "dispatch_note": "请三日内办结",
        },
        actor="wg.city",
    )


def supervise(case) -> None:
    case.complete(
        "签发督办单",
        CITY_WG,
        {"supervision_notice_no": "督字〔2026〕7号", "supervision_content": "限期两日办结", "reply_days": 2},
        actor="wg.city",
    )


def two_meetings(new_case):
    meeting = new_case(title="二期厂房用地批复迟迟未下达", enterprise_name="朝阳某新能源科技有限公司")
    onsite = new_case(title="安置房项目施工许可卡在图审", enterprise_name="朝阳某置业有限公司")
    escalate(meeting, "zrzyj")
    escalate(onsite, "zjj")
    meeting.move_to(beijing("2026-03-05", "17:31"))
    supervise(meeting)
    supervise(onsite)
    meeting.move_to(beijing("2026-03-10", "17:31"))
    meeting.complete(
        "领导批示", LEADERS, {"leader_mode": "专题会议", "instruction": "召开专题会议"}, actor="leader.mayor"
    )
    onsite.complete("领导批示", LEADERS, {"leader_mode": "现场办公", "instruction": "到现场解决"}, actor="leader.vice")
    meeting.complete(
        "专题会议纪要",
        CITY_WG,
        {
            "meeting_date": "2026-03-11",
            "attendees": ["市长"],
            "minutes": "议定两项事项",
            "decision_items": [
                {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
                {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
            ],
        },
        actor="wg.city",
    )
    onsite.complete(
        "现场办公记录",
        CITY_WG,
        {
            "visit_date": "2026-03-11",
            "location": "项目现场",
            "attendees": ["分管副市长"],
            "onsite_record": "现场议定",
            "decision_items": [{"content": "三日内完成施工图审查", "unit": "zjj", "deadline": "2026-03-20"}],
        },
        actor="wg.city",
    )
    meeting.move_to(beijing("2026-03-12", "10:00"))
    meeting.complete("落实议定事项", "unit:zrzyj", {"item_report": "用地批复已于3月12日下达"}, actor="unit.zrzyj")
    meeting.move_to(beijing("2026-03-17", "09:00"))
    return meeting, onsite

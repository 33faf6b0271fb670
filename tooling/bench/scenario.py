"""The data the benchmark drives the 直通车 case process with.

Every step names the user task (its BPMN name), the candidate group that works on it and
valid form data (read from ``forms/*.schema.json``; the same data the scenario tests use).
"""

from __future__ import annotations

from engine.forms import uscc_check_digit

WG, UNIT, HEAD = "wg:city", "unit:zrzyj", "head:zrzyj"
#: one user that may work on every task of the happy path (for the HTTP clients)
BENCH_GROUPS = [WG, UNIT, HEAD, "leader:city"]


def submission(i: int = 0) -> dict:
    body = f"91211300MA{i % 10_000_000:07d}"[:17]
    return {
        "enterprise_name": f"朝阳某新能源科技有限公司{i}",
        "uscc": body + uscc_check_digit(body),
        "contact": "张经理",
        "mobile": "13904210000",
        "county": "city",
        "project": "年产5万吨新材料项目",
        "category": "土地批复",
        "title": "项目用地批复迟迟未下达",
        "description": "项目已完成招拍挂，用地批复三个月未下达，影响开工。",
        "help_wanted": "尽快下达用地批复",
        "urgency": "特急",
    }


#: intake → dispatch → handling → head review → result review → return visit → closed
HAPPY_PATH: list[tuple[str, str, dict]] = [
    ("受理审查", WG, {"intake_decision": "accept"}),
    ("分级交办", WG, {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "马上办"}),
    ("拟办办理结果", UNIT, {"handling_result": "已办理完毕", "solved": True}),
    ("负责人审核", HEAD, {"head_decision": "submit"}),
    ("结果审核", WG, {"review_decision": "accept"}),
    ("回访评价", WG, {"satisfaction": "满意", "visit_comment": "满意"}),
]
HAPPY_STEPS = len(HAPPY_PATH)

#: one loop: the unit reports, its head submits, the working group sends it back
LOOP: list[tuple[str, str, dict]] = [
    ("拟办办理结果", UNIT, {"handling_result": "第N次办理", "solved": False}),
    ("负责人审核", HEAD, {"head_decision": "submit"}),
    ("结果审核", WG, {"review_decision": "send_back", "review_reason": "未解决"}),
]
#: into the loop, and out of it to the end
BEFORE_LOOP = HAPPY_PATH[:2]
AFTER_LOOP = HAPPY_PATH[2:]

#: a case waiting on a timer: material requested; 5 working days later it is withdrawn
TO_TIMER = [("受理审查", WG, {"intake_decision": "need_material", "material_request": "用地规划许可证"})]

"""A parsed spec is shared by every case of its version in a process and re-parsed in every
other process: running cases must never change it, or the next case (or the same case in
another process) behaves differently. The whole mechanism runs here on one engine, and the
structure of every spec it used is compared with a fresh parse afterwards."""

from __future__ import annotations

from engine import cases
from engine.runtime import Engine
from tests.fresh import fingerprint
from tests.scenarios.driver import project_files, submit
from tests.scenarios.test_case_paths import LEADERS, accept_and_dispatch, review_and_visit


def test_running_every_kind_of_step_leaves_the_parsed_spec_unchanged(Session, engine, clock, deploy):
    deploy(project_files())
    case = submit(Session, engine, clock)
    # cooperating units (multi-instance), a leader's meeting with decision items (multi-instance
    # in a called process), a withdrawal (message-started event subprocess)
    accept_and_dispatch(case, lead="fgw", coop=["gdgs", "zrzyj"], mode="快速办")
    case.complete("拟办办理结果", "unit:fgw", {"handling_result": "需协调", "solved": False})
    for unit in ("gdgs", "zrzyj"):
        case.complete("配合单位意见", f"unit:{unit}", {"coop_agree": True, "coop_opinion_text": "同意"})
    case.complete("负责人审核", "head:fgw", {"head_decision": "escalation", "head_reason": "涉及多部门"})
    case.complete("领导批示", LEADERS, {"leader_mode": "专题会议", "instruction": "召开专题会议研究"})
    items = [
        {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
        {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
    ]
    case.complete(
        "专题会议纪要",
        "wg:city",
        {"meeting_date": "2026-03-11", "attendees": ["市长"], "minutes": "议定两项", "decision_items": items},
    )
    for unit in ("zrzyj", "gdgs"):
        case.complete("落实议定事项", f"unit:{unit}", {"item_report": "已落实"})
    review_and_visit(case)
    other = submit(Session, engine, clock)
    other.message("enterprise_withdraws", {"reason": "已自行解决"})
    assert (case.status, other.status) == ("completed", "completed")
    with Session() as s:  # the specs this engine ran both cases on are what a fresh parse gives
        for done in (case, other):
            instance = cases.find_case(s, done.case_no)
            assert fingerprint(engine.load(instance)[1]) == fingerprint(Engine(clock=clock).load(instance)[1])

"""退回 and 撤回 inside the unit's sub-process, on the real processes with a fresh engine for every
step (tests/fresh.py), on SQLite and PostgreSQL: the returned step is ready again for its former
doer with the reason; the sub-process runs again with its boundary timers armed; the case goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.access import Principal
from engine.errors import Conflict, InvalidRequest, NotAllowed
from engine.models import AuditEntry, HumanTask, Notification
from engine.recall import recall
from engine.sendback import last_return, send_back, targets
from tests.fresh import FreshEngine

from .conftest import make_uscc

WG = Principal("wg.city", groups=frozenset({"wg:city"}))
HEAD = Principal("head.zrzyj", groups=frozenset({"head:zrzyj"}))
UNIT = Principal("unit.zrzyj", groups=frozenset({"unit:zrzyj"}))
DISPATCH = {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": ["fgw"], "mode": "快速办"}


def _row(Session, case, name, state=None) -> HumanTask:
    with Session() as s:
        rows = s.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == case.instance().id, HumanTask.name == name)
            .order_by(HumanTask.id.desc())
        ).all()
        return next(r for r in rows if state is None or r.state == state)


def _to_review(case):
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.complete("分级交办", "wg:city", DISPATCH, actor="wg.city")
    case.complete("配合单位意见", "unit:fgw", {"coop_agree": True, "coop_opinion_text": "同意"}, actor="unit.fgw")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "初稿", "solved": True}, actor="unit.zrzyj")
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    assert [t.name for t in case.tasks()] == ["结果审核"]


def _timers(case) -> set[str]:
    wf = case.workflow()
    from SpiffWorkflow.util.task import TaskState

    return {
        t.task_spec.bpmn_name for t in wf.get_tasks(state=TaskState.WAITING) if t.task_spec.name.startswith("Event_")
    }


def test_send_back_from_result_review_into_the_units_handling(Session, new_case, clock):
    engine = FreshEngine(clock)
    case = new_case(uscc=make_uscc("91211300MA0Q1AAA1"))
    _to_review(case)
    assert _timers(case) == set()  # the sub-process ended: its boundary timers went with it
    review = _row(Session, case, "结果审核", state="ready")
    with Session() as s:
        offered = targets(s, engine, WG, s.get(HumanTask, review.id))
        # 受理审查 is no longer in the compacted tree (engine/compaction.py): not offered, refused
        assert [t.name for t in offered] == ["负责人审核", "拟办办理结果", "分级交办"]
        assert targets(s, engine, UNIT, s.get(HumanTask, review.id)) == []
    with Session.begin() as s, pytest.raises(Conflict) as refused:
        send_back(s, engine, WG, review.id, _row(Session, case, "受理审查").id, "重新受理")
    assert refused.value.details["reason"] == "gone"
    draft = _row(Session, case, "拟办办理结果")
    with Session.begin() as s, pytest.raises(InvalidRequest):
        send_back(s, engine, WG, review.id, draft.id, "  ")
    with Session.begin() as s, pytest.raises(NotAllowed):
        send_back(s, engine, UNIT, review.id, draft.id, "办理结果不完整")
    clock.advance(hours=2)
    with Session.begin() as s:
        row = send_back(s, engine, WG, review.id, draft.id, "办理结果缺少整改时间表")
        assert (row.state, row.assignee, row.draft["handling_result"]) == ("ready", "unit.zrzyj", "初稿")
    assert [t.name for t in case.tasks()] == ["拟办办理结果"]
    assert _row(Session, case, "结果审核").state == "cancelled"
    # the sub-process runs again with 黄牌/红牌/超期 armed; the unit sees the reason
    assert _timers(case) == {"黄牌预警", "红牌督办", "超期自动提级"}
    with Session() as s:
        inst = case.instance()
        assert inst.next_timer_at is not None
        entry = last_return(s, s.get(HumanTask, draft.id))
        assert entry.data["reason"] == "办理结果缺少整改时间表" and entry.actor == "wg.city"
        sent = s.scalars(select(Notification).where(Notification.kind == "send_back")).all()
        assert {n.recipient for n in sent} == {"unit.zrzyj"} and "整改时间表" in sent[0].body
    # redone: the join does not wait for the cooperating unit again; the case goes on
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "附整改时间表", "solved": True}, actor="unit.zrzyj")
    assert [t.name for t in case.tasks()] == ["负责人审核"]
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    assert [t.name for t in case.tasks()] == ["结果审核"]
    assert case.task_data("结果审核")["handling_result"] == "附整改时间表"
    assert _timers(case) == set()
    case.complete("结果审核", "wg:city", {"review_decision": "accept"}, actor="wg.city")
    assert case.summary["status"] == "待回访"


def test_a_head_returns_within_the_unit_only(Session, new_case, clock):
    engine = FreshEngine(clock)
    case = new_case(uscc=make_uscc("91211300MA0Q1AAA1"))
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.complete("分级交办", "wg:city", DISPATCH, actor="wg.city")
    case.complete("配合单位意见", "unit:fgw", {"coop_agree": True, "coop_opinion_text": "同意"}, actor="unit.fgw")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "初稿", "solved": True}, actor="unit.zrzyj")
    head = _row(Session, case, "负责人审核", state="ready")
    with Session() as s:
        assert [t.name for t in targets(s, engine, HEAD, s.get(HumanTask, head.id))] == ["拟办办理结果"]
    with Session.begin() as s, pytest.raises(Conflict) as refused:
        send_back(s, engine, HEAD, head.id, _row(Session, case, "分级交办").id, "不属于本单位")
    assert refused.value.details["reason"] == "not_a_target"
    before = _timers(case)
    with Session.begin() as s:
        send_back(s, engine, HEAD, head.id, _row(Session, case, "拟办办理结果").id, "请补充证明材料")
    assert [t.name for t in case.tasks()] == ["拟办办理结果"]
    assert _timers(case) == before == {"黄牌预警", "红牌督办", "超期自动提级"}  # a running sub-process keeps them
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "补充后", "solved": True}, actor="unit.zrzyj")
    assert [t.name for t in case.tasks()] == ["负责人审核"]
    with Session() as s:
        assert [a.data["reason"] for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "send_back"))] == [
            "请补充证明材料"
        ]


def test_recall_inside_the_sub_process_before_the_next_claim(Session, new_case, clock):
    engine = FreshEngine(clock)
    case = new_case(uscc=make_uscc("91211300MA0Q1AAA1"))
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"})
    case.complete("分级交办", "wg:city", {**DISPATCH, "coop_units": []})
    timers = _timers(case)
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "已办理", "solved": True}, actor="unit.zrzyj")
    with Session.begin() as s:
        row = recall(s, engine, UNIT, _row(Session, case, "拟办办理结果").id)
        assert (row.state, row.draft["handling_result"]) == ("ready", "已办理")
    assert [t.name for t in case.tasks()] == ["拟办办理结果"]
    assert _timers(case) == timers == {"黄牌预警", "红牌督办", "超期自动提级"}
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "改过", "solved": True}, actor="unit.zrzyj")
    # the head's completion ends the sub-process; taken back, the sub-process runs again, timers armed
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    assert _timers(case) == set()
    with Session.begin() as s:
        recall(s, engine, HEAD, _row(Session, case, "负责人审核").id)
    assert [t.name for t in case.tasks()] == ["负责人审核"]
    assert _timers(case) == timers
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"}, actor="head.zrzyj")
    assert [t.name for t in case.tasks()] == ["结果审核"]

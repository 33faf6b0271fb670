"""撤回 on the real processes, with a fresh engine for every step (tests/fresh.py): the doer
takes a completion back while the next task is unclaimed; refused once it is claimed, and
for anyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.access import Principal
from engine.errors import Conflict, NotAllowed
from engine.models import AuditEntry, HumanTask
from engine.recall import recall
from tests.fresh import FreshEngine

from .conftest import make_uscc

WG = Principal("wg.city", groups=frozenset({"wg:city"}))
WG2 = Principal("wg.city2", groups=frozenset({"wg:city"}))
UNIT = Principal("unit.zrzyj", groups=frozenset({"unit:zrzyj"}))


def _row(Session, case, name, state=None) -> HumanTask:
    with Session() as s:
        rows = s.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == case.instance().id, HumanTask.name == name)
            .order_by(HumanTask.id.desc())
        ).all()
        return next(r for r in rows if state is None or r.state == state)


def test_recall_before_the_next_claim_and_refused_after(Session, new_case, clock):
    engine = FreshEngine(clock)
    case = new_case(uscc=make_uscc("91211300MA0Q1AAA1"))
    case.complete(
        "受理审查", "wg:city", {"intake_decision": "accept", "intake_reason": "符合受理条件"}, actor="wg.city"
    )
    done = _row(Session, case, "受理审查")
    assert [t.name for t in case.tasks()] == ["分级交办"]
    with Session.begin() as s, pytest.raises(NotAllowed):
        recall(s, engine, WG2, done.id)
    with Session.begin() as s:
        row = recall(s, engine, WG, done.id)
        assert (row.state, row.assignee, row.draft["intake_reason"]) == ("ready", "wg.city", "符合受理条件")
    assert [t.name for t in case.tasks()] == ["受理审查"]
    assert _row(Session, case, "分级交办").state == "cancelled"
    with Session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "recall")).all()
        assert [(a.actor, a.task_name, a.data["cancelled"]) for a in audit] == [("wg.city", "受理审查", ["分级交办"])]
    # done again, and this time the next person claims first: too late
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    nxt = _row(Session, case, "分级交办", state="ready")
    with Session.begin() as s:
        from engine.inbox import claim

        claim(s, WG2, nxt.id)
    with Session.begin() as s, pytest.raises(Conflict) as refused:
        recall(s, engine, WG, _row(Session, case, "受理审查", state="completed").id)
    assert refused.value.details["assignee"] == "wg.city2"
    # the case goes on as usual after a recall
    case.complete(
        "分级交办",
        "wg:city",
        {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "快速办"},
        actor="wg.city2",
    )
    assert "拟办办理结果" in [t.name for t in case.tasks()]

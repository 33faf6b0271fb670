"""The worker's pass after completions (issue 18): it folds the statistics the steps marked due
(engine/stats/fold.py) and prunes the inbox rows of completed tasks (step.prune_group_rows). A
step racing the fold neither loses nor doubles a count; a task offered again before the prune
keeps its inbox rows. On the real processes, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import access, inbox, stats
from engine.models import CaseUnit, HumanTask, HumanTaskGroup
from engine.recall import recall
from tests.scenarios.conftest import deployed, new_case  # noqa: F401
from tests.stats.conftest import dispatch
from tests.stats.test_projection import MARCH

WG = access.Principal("wg.city", groups=frozenset({"wg:city"}))


def figures(Session, now) -> dict:
    with Session() as s:
        return stats.dashboard(s, MARCH, None, now=now).totals


def group_rows(Session) -> set[tuple[str, str]]:
    """(task name, state) of every task that has inbox rows."""
    with Session() as s:
        rows = s.execute(
            select(HumanTask.name, HumanTask.state).join(HumanTaskGroup, HumanTaskGroup.task_id == HumanTask.id)
        )
        return {tuple(r) for r in rows}


def test_a_worker_pass_folds_the_statistics_and_prunes_inbox_rows(new_case, Session, make_worker, clock):  # noqa: F811
    case = new_case()
    dispatch(case, lead="zrzyj")
    # the case lists read case_record at once; the figures wait for the worker's pass
    with Session() as s:
        assert stats.unfolded(s) == 1
    assert (figures(Session, clock.now())["received"], figures(Session, clock.now())["coordinations"]) == (0, 0)
    # the completed tasks' inbox rows wait for the prune: the group's inbox never shows them
    assert ("受理审查", "completed") in group_rows(Session)
    with Session() as s:
        assert [r.task.name for r in inbox.inbox(s, WG, now=clock.now()).rows] == []  # (拟办办理结果 is the unit's)
    stats_ = make_worker().step()
    assert stats_.folded == 1 and not stats_.idle
    totals = figures(Session, clock.now())
    assert (totals["received"], totals["accepted"], totals["coordinations"]) == (1, 1, 1)
    assert group_rows(Session) == {("拟办办理结果", "ready")}
    with Session() as s:
        assert stats.unfolded(s) == 0
    assert make_worker().step().folded == 0  # folded once


def test_a_step_racing_the_fold_loses_no_count(new_case, Session, engine, db_engine, clock):  # noqa: F811
    """The step loads the record (still due from its last step); the fold takes and clears it
    before the step writes (PostgreSQL; SQLite's one writer orders them): the step's change is
    due again and the next fold counts it, once."""
    case = new_case()
    dispatch(case, lead="zrzyj")
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "已办理完毕", "solved": True})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "submit"})
    case.complete("结果审核", "wg:city", {"review_decision": "accept"})  # … up to the return visit
    with Session() as s:
        (task,) = case.tasks()
    session = Session()
    try:
        with session.begin():
            loaded = access.visible_task(session, WG, task.id)
            assert loaded.instance.case_record.rollup_due is True  # not folded yet
            if db_engine.dialect.name == "postgresql":
                assert stats.fold_due(Session) == 1  # meanwhile, the worker's pass
            engine.complete_task(session, task.id, {"satisfaction": "满意", "visit_comment": "好"}, "wg.city")
    finally:
        session.close()
    assert case.status == "completed"
    stats.fold_due(Session)
    totals = figures(Session, clock.now())
    assert (totals["received"], totals["solved"], totals["open"]) == (1, 1, 0)
    with Session() as s:
        kept = {
            t.name: sorted(tuple(r) for r in s.execute(select(t))) for t in (m.__table__ for m in stats.ROLLUP_TABLES)
        }
        stats.rebuild_rollups(s)
        rebuilt = {
            t.name: sorted(tuple(r) for r in s.execute(select(t))) for t in (m.__table__ for m in stats.ROLLUP_TABLES)
        }
        s.rollback()
    assert kept == rebuilt


def test_a_task_taken_back_before_the_prune_keeps_its_inbox_rows(new_case, Session, engine, make_worker):  # noqa: F811
    case = new_case()
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    with Session() as s:
        done = s.scalars(select(HumanTask).where(HumanTask.name == "受理审查")).one()
    with Session.begin() as s:  # 撤回 while the completed task's rows still wait for the prune
        recall(s, engine, WG, done.id)
    make_worker().prune_group_rows(force=True)
    assert group_rows(Session) == {("受理审查", "ready")}
    with Session() as s:
        assert [r.task.name for r in inbox.inbox(s, WG, inbox.InboxFilter(tab="all")).rows] == ["受理审查"]


@pytest.mark.postgresql_only
def test_the_fold_never_waits_for_a_unit_row_a_step_holds(new_case, Session, db_engine, clock):  # noqa: F811
    """PostgreSQL (SQLite has one writer: no interleaving): a step holds a case_unit row (its
    upsert) and would next update the record; the fold holding the record skips that row instead
    of waiting (no deadlock), keeps the record due, and counts the unit on a later pass, once."""
    assert db_engine.dialect.name == "postgresql"
    case = new_case()
    dispatch(case, lead="zrzyj")
    step = Session()
    try:
        with step.begin():
            step.execute(select(CaseUnit).where(CaseUnit.unit == "zrzyj").with_for_update()).all()
            assert stats.fold_due(Session) == 1  # does not wait for the row the step holds
            with Session() as s:
                assert stats.unfolded(s) == 1  # the unit is not counted yet: the record stays due
            step.rollback()  # (the step failed: nothing else marks the record due)
    finally:
        step.close()
    assert figures(Session, clock.now())["coordinations"] == 0
    stats.fold_due(Session)
    assert figures(Session, clock.now())["coordinations"] == 1
    with Session() as s:
        assert stats.unfolded(s) == 0

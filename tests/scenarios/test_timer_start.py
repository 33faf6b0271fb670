"""Timer start events start instances by themselves (issue 15 item 5): the weekly “1+7” report
is one instance per Friday, downtime gives one instance (not a flood), a monthly 专报 process
written from files only starts on the 1st of every month, dates and durations fire once."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from sqlalchemy import func, select

from engine import timerstart
from engine.models import AuditEntry, Instance, TimerStart, TimerStartFire

from .driver import beijing

DATA = Path(__file__).parent / "data"
GROUPS = [
    "wg:beipiao",
    "wg:chaoyangxian",
    "wg:city",
    "wg:jianping",
    "wg:kazuo",
    "wg:lingyuan",
    "wg:longcheng",
    "wg:shuangta",
]


def instances(Session, process_id: str) -> list[Instance]:
    with Session() as s:
        return list(s.scalars(select(Instance).where(Instance.process_id == process_id).order_by(Instance.id)))


def next_fire(Session, process_id: str) -> _dt.datetime | None:
    with Session() as s:
        return s.get(TimerStart, process_id).next_fire_at


def publish_week(Session, engine, instance_id: int, issue_no: int) -> None:
    with Session.begin() as s:
        tasks = engine.ready_tasks(s, instance_id)
        assert sorted(g for t in tasks for g in t.candidate_groups) == GROUPS
        for i, task in enumerate(tasks):
            engine.complete_task(
                s,
                task.id,
                {
                    "enterprises_contacted": 3,
                    "coordinations": 2,
                    "problems_solved": 1,
                    "projects_signed": i % 2,
                    "investment_wan_yuan": 100.0,
                },
                task.candidate_groups[0],
            )
    with Session.begin() as s:
        (publish,) = engine.ready_tasks(s, instance_id)
        assert (publish.name, publish.candidate_groups) == ("审定发布周报", ["wg:city"])
        engine.complete_task(s, publish.id, {"issue_no": issue_no, "compile_summary": "本周综述"}, "wg:city")
        inst = engine.get_instance(s, instance_id)
        assert inst.summary["issue_no"] == issue_no
        assert inst.summary["totals"]["enterprises_contacted"] == 24
        assert inst.summary["totals"]["projects_signed"] == 4
        assert inst.status == "completed"  # one report, one instance


def test_weekly_report_is_one_instance_per_friday(Session, engine, clock, deployed):
    assert timerstart.start_all_due(Session, engine) == []  # Monday 03-02: nothing yet
    assert instances(Session, "ztc_weekly_report") == []
    assert next_fire(Session, "ztc_weekly_report") == beijing("2026-03-06", "09:00")
    for week, day in enumerate(["2026-03-06", "2026-03-13"], start=1):
        clock.set(beijing(day, "09:01"))
        (started,) = timerstart.start_all_due(Session, engine)
        assert timerstart.start_all_due(Session, engine) == []  # again at the same time: nothing more
        assert [i.id for i in instances(Session, "ztc_weekly_report")][-1] == started
        assert len(instances(Session, "ztc_weekly_report")) == week
        publish_week(Session, engine, started, 33 + week)
        assert next_fire(Session, "ztc_weekly_report") == beijing(day, "09:00") + _dt.timedelta(days=7)
    with Session() as s:
        fires = s.scalars(select(TimerStartFire).order_by(TimerStartFire.fire_at)).all()
        assert [f.fire_at for f in fires] == [beijing("2026-03-06", "09:00"), beijing("2026-03-13", "09:00")]
        assert [f.missed for f in fires] == [0, 0]


def test_a_week_of_downtime_gives_one_report_not_a_flood(Session, engine, clock, deployed):
    timerstart.start_all_due(Session, engine)
    clock.set(beijing("2026-04-09", "15:00"))  # no worker ran from Monday 03-02 until Thursday 04-09
    (started,) = timerstart.start_all_due(Session, engine)
    assert timerstart.start_all_due(Session, engine) == []
    with Session() as s:
        (fire,) = s.scalars(select(TimerStartFire)).all()
        assert (fire.instance_id, fire.fire_at, fire.missed) == (started, beijing("2026-04-03", "09:00"), 4)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "timer_start")) == 1
    assert next_fire(Session, "ztc_weekly_report") == beijing("2026-04-10", "09:00")


def test_started_by_hand_a_timer_started_process_runs_at_once(Session, engine, clock, deployed):
    with Session.begin() as s:
        instance_id = engine.start(s, "ztc_weekly_report", {}, actor="wg.city").id
    with Session() as s:
        assert len(engine.ready_tasks(s, instance_id)) == 8  # not waiting for Friday


def test_monthly_bulletin_from_files_only(Session, engine, clock, deploy):
    deploy([DATA / "monthly_bulletin.bpmn"])
    timerstart.start_all_due(Session, engine)
    assert next_fire(Session, "ztc_monthly_bulletin") == beijing("2026-04-01", "09:00")
    for day in ("2026-04-01", "2026-05-01", "2026-06-01"):  # calendar months, not 30 days
        clock.set(beijing(day, "08:59"))
        assert timerstart.start_all_due(Session, engine) == []
        clock.set(beijing(day, "09:00"))
        (started,) = timerstart.start_all_due(Session, engine)
        with Session() as s:
            (task,) = engine.ready_tasks(s, started)
            assert (task.name, task.candidate_groups) == ("汇编本月专报", ["wg:city"])
    assert next_fire(Session, "ztc_monthly_bulletin") == beijing("2026-07-01", "09:00")


def _one_shot(kind: str, expression: str) -> bytes:
    return (
        (DATA / "monthly_bulletin.bpmn")
        .read_bytes()
        .replace(
            b"<bpmn:timeCycle xsi:type=\"bpmn:tFormalExpression\">'R/2026-04-01T09:00:00+08:00/P1M'</bpmn:timeCycle>",
            f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{expression}</bpmn:{kind}>'.encode(),
        )
    )


def test_a_date_and_a_duration_start_fire_once(Session, engine, clock, deploy):
    deploy({"monthly_bulletin.bpmn": _one_shot("timeDate", "'2026-03-10T09:00:00+08:00'")})
    timerstart.start_all_due(Session, engine)
    assert next_fire(Session, "ztc_monthly_bulletin") == beijing("2026-03-10", "09:00")
    clock.set(beijing("2026-03-20"))
    assert len(timerstart.start_all_due(Session, engine)) == 1
    assert next_fire(Session, "ztc_monthly_bulletin") is None
    clock.set(beijing("2026-05-20"))
    assert timerstart.start_all_due(Session, engine) == []
    # a new version with a duration: two days after the worker first sees it
    deploy({"monthly_bulletin.bpmn": _one_shot("timeDuration", "'P2D'")})
    timerstart.start_all_due(Session, engine)
    assert next_fire(Session, "ztc_monthly_bulletin") == beijing("2026-05-22")
    clock.set(beijing("2026-05-22", "09:01"))
    assert len(timerstart.start_all_due(Session, engine)) == 1
    clock.set(beijing("2026-07-22"))
    assert timerstart.start_all_due(Session, engine) == []
    assert len(instances(Session, "ztc_monthly_bulletin")) == 2

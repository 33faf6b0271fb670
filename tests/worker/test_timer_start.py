"""Timer start events with real worker processes (issue 15 item 5): four ``python -m webapp.cli
worker`` processes start exactly one instance per period of a cycle, and one — not one per
missed day — after a week in which no worker ran."""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import func, select

from engine.models import AuditEntry, Instance, TimerStart, TimerStartFire, WorkerHeartbeat

from .test_processes import spawn, stop, wait_for

UTC = _dt.UTC


def cycle_process(cycle: str) -> dict[str, bytes]:
    return {
        "cycle_start.bpmn": f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_cycle_start" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="cycle_start" name="定时启动测试" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="start_timer">
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">'{cycle}'</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="本期审阅">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="candidateGroups" value="'wg:city'" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
""".encode()
    }


def fires(Session) -> list[TimerStartFire]:
    with Session() as session:
        return list(session.scalars(select(TimerStartFire).order_by(TimerStartFire.fire_at)))


def all_passed_after(Session, names: list[str], when: _dt.datetime) -> bool:
    """Every worker began a pass after ``when`` (so each had its chance at what was due)."""
    with Session() as session:
        seen = {h.worker_id: h.last_seen for h in session.scalars(select(WorkerHeartbeat))}
    return all(name in seen and seen[name] > when for name in names)


def assert_one_instance_per_fire(Session) -> None:
    with Session() as session:
        instances = session.scalars(select(Instance).where(Instance.process_id == "cycle_start")).all()
        starts = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "timer_start"))
        rows = session.scalars(select(TimerStartFire)).all()
        assert len(instances) == len(rows) == starts
        assert sorted(r.instance_id for r in rows) == sorted(i.id for i in instances)
        assert len({r.fire_at for r in rows}) == len(rows)


def test_four_workers_start_one_instance_per_period(db_engine, Session, deploy, tmp_path):
    period = 2
    first = (_dt.datetime.now(UTC) + _dt.timedelta(seconds=3)).replace(microsecond=0)
    deploy(cycle_process(f"R/{first.isoformat()}/PT{period}S"))
    names = [f"t{i}" for i in range(4)]
    procs = [spawn(db_engine, tmp_path, name, "--poll", "0.2") for name in names]
    try:
        wait_for(lambda: len(fires(Session)) >= 4, 120, "four periods")
        last = fires(Session)[-1].started_at
        wait_for(lambda: all_passed_after(Session, names, last), 60, "every worker to pass again")
    finally:
        codes = stop(procs)
    assert codes == [0, 0, 0, 0]
    assert_one_instance_per_fire(Session)
    rows = fires(Session)
    # every period since the first is accounted for: one instance each, or counted as missed
    # when no worker came round within the period (a busy machine), never two
    offsets = [(r.fire_at - first).total_seconds() / period for r in rows]
    assert offsets == [int(o) for o in offsets] and offsets[0] >= 0
    assert int(offsets[-1]) + 1 - int(offsets[0]) == len(rows) + sum(r.missed for r in rows) - rows[0].missed
    with Session() as session:
        assert session.get(TimerStart, "cycle_start").next_fire_at > rows[-1].fire_at
        assert session.scalar(select(func.count()).select_from(Instance).where(Instance.status == "running")) == len(
            rows
        )  # each waits at its review task


def test_after_a_week_of_downtime_four_workers_start_one_instance(db_engine, Session, engine, deploy, tmp_path):
    now = _dt.datetime.now(UTC).replace(microsecond=0)
    first = now - _dt.timedelta(days=7, hours=1)  # daily; the workers were down for a week
    deploy(cycle_process(f"R/{first.isoformat()}/P1D"))
    names = [f"d{i}" for i in range(4)]
    procs = [spawn(db_engine, tmp_path, name, "--poll", "0.2") for name in names]
    try:
        wait_for(lambda: len(fires(Session)) >= 1, 90, "the catch-up instance")
        started = fires(Session)[0].started_at
        wait_for(lambda: all_passed_after(Session, names, started), 60, "every worker to pass again")
    finally:
        codes = stop(procs)
    assert codes == [0, 0, 0, 0]
    assert_one_instance_per_fire(Session)
    (row,) = fires(Session)
    assert (row.fire_at, row.missed) == (first + _dt.timedelta(days=7), 7)
    with Session() as session:
        assert session.get(TimerStart, "cycle_start").next_fire_at == first + _dt.timedelta(days=8)
        (instance,) = session.scalars(select(Instance)).all()
        assert [t.name for t in engine.ready_tasks(session, instance.id)] == ["本期审阅"]

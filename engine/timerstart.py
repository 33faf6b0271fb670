"""Timer start events start instances by themselves (issue 15 item 5).

A process whose start event has a timer (``timeDate``, ``timeDuration`` or ``timeCycle``) is
started by the worker, not by a person:

- ``sync`` keeps one ``timer_start`` row per process, made from its *latest* version: the timer
  expression is evaluated once (it may use ``today()`` …) into a date, a duration from the
  moment the version is first seen, or an ISO 8601 cycle ``R[n]/start/period``. A new version
  replaces the schedule (fire times already used are never used again, see below).
- ``start_next_due`` takes one due row with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL;
  SQLite serializes writers), starts an instance of that version, writes a
  ``timer_start_fire`` row — unique per (process, fire time), so two workers can never start
  the same period twice even if a lock were lost — and moves the schedule on, all in one
  transaction.
- Catch-up after downtime: when several fire times of a cycle were missed, *one* instance is
  started for the latest of them (``missed`` counts the others), and the next fire time is
  the first one after now. Missed times count against a bounded cycle's repetitions.

An instance of such a process (started by the timer or by hand) runs at once: its start
event is the reason it exists, so it does not wait for the timer again (``fire_start_timers``).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .models import Instance, ProcessVersion, TimerStart, TimerStartFire

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from .runtime import Engine

log = logging.getLogger("zhitongche.timerstart")

KINDS = {TimeDateEventDefinition: "date", DurationTimerEventDefinition: "duration", CycleTimerEventDefinition: "cycle"}


@dataclass
class Plan:
    kind: str
    value: str
    next_fire_at: _dt.datetime | None
    cycles_left: int = 0
    period_seconds: float = 0.0


def timer_start_event(spec: Any) -> Any:
    """The timer start event of a process spec, or None."""
    for task_spec in getattr(spec.start, "outputs", None) or []:
        if isinstance(task_spec, StartEvent) and isinstance(task_spec.event_definition, TimerEventDefinition):
            return task_spec
    return None


def fire_start_timers(workflow: BpmnWorkflow) -> None:
    """Mark the timer start event of a new instance as fired, so the instance runs at once."""
    start = timer_start_event(workflow.spec)
    if start is None:
        return
    for task in workflow.get_tasks(spec_name=start.name):
        task._set_internal_data(event_fired=True)
        if isinstance(start.event_definition, CycleTimerEventDefinition) and not task.children:
            # the library predicts no path after a cycle start (it adds one per cycle as the
            # cycle comes round); this instance is one turn of the cycle, so its path is added
            for output in start.outputs:
                child = task._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)


def plan_for(engine: Engine, version: ProcessVersion, now: _dt.datetime) -> Plan:
    """The schedule of a version: evaluate its timer start expression (``none`` without one)."""
    loaded = engine.specs.get(version)
    start = timer_start_event(loaded.spec) if loaded.spec is not None else None
    if start is None:
        return Plan("none", "", None)
    definition = start.event_definition
    kind = next((name for cls, name in KINDS.items() if isinstance(definition, cls)), "date")
    with clock_mod.using(engine.clock):
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=engine.script_engine)
        value = str(engine.script_engine.evaluate(workflow.task_tree, definition.expression))
        if kind == "date":
            return Plan(kind, value, TimerEventDefinition.get_datetime(value))
        if kind == "duration":
            delta = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(value), now)
            return Plan(kind, value, now + delta)
        cycles, first, period = TimerEventDefinition.parse_iso_recurring_interval(value)
    if cycles == 0 or period.total_seconds() <= 0:
        return Plan(kind, value, None)
    return Plan(kind, value, first.astimezone(_dt.UTC), cycles, period.total_seconds())


def _period_after(value: str, at: _dt.datetime, period_seconds: float) -> _dt.datetime:
    """The fire time one period after ``at``: calendar months and years keep their day of month
    (``P1M`` from 1 April is 1 May, then 1 June), other periods are a fixed length."""
    period = next((part for part in value.upper().split("/") if part.startswith("P")), "")
    if re.search(r"^P[^T]*[YM]", period):
        parsed = TimerEventDefinition.parse_iso_duration(period)
        local = at.astimezone(_dt.timezone(_dt.timedelta(hours=8)))  # months as counted in Beijing
        return at + TimerEventDefinition.get_timedelta_from_start(parsed, local)
    return at + _dt.timedelta(seconds=period_seconds)


def due_fire(row: TimerStart, now: _dt.datetime) -> tuple[_dt.datetime, int, _dt.datetime | None, int]:
    """(fire time to start now, fire times skipped, next fire time, cycles left) of a due row:
    after downtime, the latest fire time not after now (one instance, not one per missed time)."""
    fire_at, missed = row.next_fire_at, 0
    assert fire_at is not None  # a due row: its fire time has come
    if row.kind != "cycle":
        return fire_at, 0, None, 0
    most = row.cycles_left - 1 if row.cycles_left >= 0 else None  # fire times that may be skipped
    if re.search(r"/P[^T/]*[YM]", row.value.upper()) is None:  # a fixed period: jump to the last one due
        missed = int((now - fire_at) / _dt.timedelta(seconds=row.period_seconds))
        missed = missed if most is None else min(missed, most)
        fire_at += missed * _dt.timedelta(seconds=row.period_seconds)
    else:
        while (most is None or missed < most) and (after := _period_after(row.value, fire_at, 0)) <= now:
            fire_at, missed = after, missed + 1
    left = row.cycles_left - missed - 1 if row.cycles_left >= 0 else -1
    next_at = _period_after(row.value, fire_at, row.period_seconds) if left != 0 else None
    return fire_at, missed, next_at, left


def sync(session: Session, engine: Engine) -> int:
    """Bring ``timer_start`` up to the latest version of every process; returns rows changed."""
    latest = dict(
        session.execute(
            select(ProcessVersion.process_id, func.max(ProcessVersion.id)).group_by(ProcessVersion.process_id)
        ).all()
    )
    known = dict(session.execute(select(TimerStart.process_id, TimerStart.process_version_id)).all())
    changed = 0
    now = engine.clock.now()
    for process_id, version_id in sorted(latest.items()):
        if known.get(process_id) == version_id:
            continue
        version = session.get(ProcessVersion, version_id)
        assert version is not None  # the id was just read from the table
        try:
            plan = plan_for(engine, version, now)
        except Exception as exc:  # noqa: BLE001 - a bad expression must not stop the others
            log.warning("process %s: cannot evaluate its timer start: %s", process_id, exc)
            plan = Plan("error", f"{exc.__class__.__name__}: {exc}"[:500], None)
        try:
            with session.begin_nested():
                row = session.get(TimerStart, process_id) or TimerStart(process_id=process_id)
                row.process_version_id, row.kind, row.value = version_id, plan.kind, plan.value
                row.next_fire_at, row.cycles_left = plan.next_fire_at, plan.cycles_left
                row.period_seconds, row.updated_at = plan.period_seconds, now
                session.add(row)
            changed += 1
        except IntegrityError:  # another worker wrote it at the same moment
            continue
    return changed


def start_next_due(session: Session, engine: Engine, skip: list[str] | None = None) -> tuple[str, int | None] | None:
    """Start the instance of one due timer start: (process id, new instance id — None when that
    fire time had already started one), or None when nothing is due."""
    now = engine.clock.now()
    query = (
        select(TimerStart)
        .where(TimerStart.next_fire_at <= now)
        .order_by(TimerStart.next_fire_at, TimerStart.process_id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skip:
        query = query.where(TimerStart.process_id.not_in(skip))
    row = session.scalars(query).first()
    if row is None:
        return None
    fire_at, missed, next_at, left = due_fire(row, now)
    row.next_fire_at, row.cycles_left, row.last_fired_at, row.updated_at = next_at, left, fire_at, now
    instance_id = None
    done = session.scalar(
        select(TimerStartFire.id).where(TimerStartFire.process_id == row.process_id, TimerStartFire.fire_at == fire_at)
    )
    if done is None:
        version = session.get(ProcessVersion, row.process_version_id)
        assert version is not None  # a schedule row names a deployed version (foreign key)
        instance = engine.start(session, row.process_id, {}, version=version.version, actor="timer")
        session.add(
            TimerStartFire(
                process_id=row.process_id,
                process_version_id=version.id,
                fire_at=fire_at,
                instance_id=instance.id,
                started_at=now,
                missed=missed,
            )
        )
        engine.audit(session, "timer", "timer_start", instance, data={"fire_at": fire_at.isoformat(), "missed": missed})
        instance_id = instance.id
    session.flush()
    return row.process_id, instance_id


def started_instances(session: Session, process_id: str, limit: int = 10) -> list[tuple[TimerStartFire, Instance]]:
    return list(
        session.execute(
            select(TimerStartFire, Instance)
            .join(Instance, Instance.id == TimerStartFire.instance_id)
            .where(TimerStartFire.process_id == process_id)
            .order_by(TimerStartFire.fire_at.desc())
            .limit(limit)
        ).all()
    )


def start_all_due(Session: sessionmaker[Session], engine: Engine) -> list[int]:
    """Sync the schedules, then start every due timer start, one transaction each (what a
    worker pass does; for scripts and tests). Returns the ids of the instances started."""
    with Session.begin() as session:
        sync(session, engine)
    started: list[int] = []
    seen: list[str] = []
    while True:
        with Session.begin() as session:
            done = start_next_due(session, engine, seen)
        if done is None:
            return started
        seen.append(done[0])
        if done[1] is not None:
            started.append(done[1])


def designer_view(session: Session, engine: Engine, process_id: str) -> dict[str, Any] | None:
    """What the designer page shows: the kind, expression value and next fire time of the latest
    version's timer start (computed now when the worker has not seen that version yet), and the
    instances it started. None for a process without a timer start."""
    latest = session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    )
    if latest is None:
        return None
    row = session.get(TimerStart, process_id)
    if row is not None and row.process_version_id == latest.id:
        plan = Plan(row.kind, row.value, row.next_fire_at, row.cycles_left, row.period_seconds)
        pending = False
    else:
        try:
            plan = plan_for(engine, latest, engine.clock.now())
        except Exception as exc:  # noqa: BLE001 - shown on the page, as the worker would log it
            plan = Plan("error", f"{exc.__class__.__name__}: {exc}", None)
        pending = True
    if plan.kind == "none":
        return None
    return {
        "kind": plan.kind,
        "value": plan.value,
        "next_fire_at": plan.next_fire_at,
        "pending": pending,
        "version": latest.version,
        "started": started_instances(session, process_id),
    }

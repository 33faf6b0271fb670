"""What a scenario's steps do and how its expectations are checked (engine/scenarios.py runs
the files).

A step completes a ready task (``complete``, optionally ``as`` a group and ``by`` someone),
sends a message, moves the fake clock (``advance``, ``advance_to``) and fires the timers then
due, or checks ``expect``: status, ready tasks, their groups, summary, variables and audit
actions. The first thing not as expected raises ``Mismatch``, naming the incident's element
when an incident is the reason. The format is described for designers in docs/PROCESS_TESTS.md.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING, Any

from .clock import FakeClock
from .errors import EngineError
from .forms import FormValidationError
from .workdays import CHINA, WorkCalendar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from .models import Instance
    from .runtime import Engine


class Mismatch(Exception):
    """The first thing that was not as the scenario expected (``element_id``: the incident's)."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.element_id = element_id


def parse_time(value: str) -> _dt.datetime:
    """A scenario's date-time (``clock``, ``advance_to``); without a zone, Beijing time."""
    try:
        parsed = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise Mismatch(f"'{value}' is not a date-time like 2026-03-02T09:00:00+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)


def clock_of(engine: Engine) -> FakeClock:
    """The fake clock a scenario's engine runs on."""
    clock = engine.clock
    assert isinstance(clock, FakeClock)  # every engine of a scenario runs on the scenario's clock
    return clock


def describe_step(step: dict) -> str:
    """A step in a few words, for the message of a step that failed."""
    for key in ("complete", "message", "advance", "advance_to", "expect"):
        if key in step:
            return key if key == "expect" else f"{key} {json.dumps(step[key], ensure_ascii=False)}"
    return json.dumps(step, ensure_ascii=False)


def run_step(
    Session: sessionmaker[Session], engine: Engine, calendar: WorkCalendar, instance_id: int, step: dict[str, Any]
) -> None:
    """Do one step of a scenario; ``Mismatch`` when it cannot be done or its ``expect`` fails."""
    if "complete" in step:
        _complete(Session, engine, instance_id, step)
    elif "message" in step:
        with Session.begin() as session:
            try:
                engine.send_message(
                    session,
                    instance_id,
                    step["message"],
                    step.get("payload"),
                    step.get("correlations"),
                    actor=step.get("by", "scenario"),
                )
            except EngineError as exc:
                raise Mismatch(exc.message) from None
    elif "advance" in step or "advance_to" in step:
        clock = clock_of(engine)
        if "advance_to" in step:
            target = parse_time(step["advance_to"])
        else:
            target = _advance(clock.now(), step["advance"], calendar)
        if target < clock.now():
            raise Mismatch(f"the clock cannot go back (it is {clock.now().astimezone(CHINA).isoformat()})")
        clock.set(target)
        _fire_due_timers(Session, engine, instance_id)
    elif "expect" in step:
        check_expectations(Session, engine, instance_id, step["expect"], "")
    else:
        raise Mismatch('a step needs one of "complete", "message", "advance", "advance_to", "expect"')


def _advance(now: _dt.datetime, amount: Any, calendar: WorkCalendar) -> _dt.datetime:
    if not isinstance(amount, dict):
        raise Mismatch('"advance" takes e.g. {"workdays": 3} or {"days": 1, "hours": 2}')
    amount = dict(amount)
    local = now.astimezone(CHINA)
    workdays = int(amount.pop("workdays", 0))
    if workdays:
        local = _dt.datetime.combine(calendar.add_workdays(local.date(), workdays), local.timetz())
    try:
        return local + _dt.timedelta(**{k: float(v) for k, v in amount.items()})
    except TypeError:
        raise Mismatch(f"unknown unit in {amount}; use workdays, days, hours, minutes") from None


def _fire_due_timers(Session: sessionmaker[Session], engine: Engine, instance_id: int) -> None:
    for _ in range(100):  # a timer can lead to the next one being due at once
        with Session.begin() as session:
            instance = engine.get_instance(session, instance_id)
            due = instance.next_timer_at
            if instance.status != "running" or due is None or due > engine.clock.now():
                return
            engine.fire_timers(session, instance, actor="timer")
    raise Mismatch("timers keep firing (a cycle timer without end?)")


def _complete(Session: sessionmaker[Session], engine: Engine, instance_id: int, step: dict[str, Any]) -> None:
    bpmn_id = step["complete"]
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        ready = engine.ready_tasks(session, instance_id)
        matching = [t for t in ready if t.bpmn_id == bpmn_id]
        if not matching:
            raise Mismatch(
                f"task {bpmn_id} is not ready (instance {instance.status}{_error(instance)}; "
                f"ready: {', '.join(t.bpmn_id for t in ready) or 'none'})",
                _element(instance),
            )
        task = matching[0]
        group = step.get("as")
        if group and group not in (task.candidate_groups or []):
            raise Mismatch(
                f"task {bpmn_id} is not offered to group {group} "
                f"(its groups: {', '.join(task.candidate_groups or []) or 'none'})"
            )
        try:
            engine.complete_task(session, task.id, step.get("data") or {}, step.get("by", group or "scenario"))
        except FormValidationError as exc:
            raise Mismatch(f"the form refuses the data: {exc}") from None
        except EngineError as exc:
            raise Mismatch(exc.message) from None


def _error(instance: Instance) -> str:
    """The incident, in words: its element (and name) and the engine's message, which names the
    expression that failed."""
    if instance.status == "error" and instance.error:
        name = instance.error.get("element_name")
        return (
            f": incident at {instance.error.get('element_id')}{f' ({name})' if name else ''}: "
            f"{instance.error.get('message')}"
        )
    return ""


def _element(instance: Instance) -> str | None:
    return (instance.error or {}).get("element_id") if instance.status == "error" else None


def check_expectations(
    Session: sessionmaker[Session], engine: Engine, instance_id: int, expect: dict[str, Any], where: str
) -> None:
    """``Mismatch`` at the first expectation (``expect``) the instance does not meet."""
    where = f" {where}" if where else ""
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        ready = engine.ready_tasks(session, instance_id)
        if "status" in expect and instance.status != expect["status"]:
            raise Mismatch(
                f"expected status {expect['status']}{where}, got {instance.status}{_error(instance)} "
                f"(ready: {', '.join(t.bpmn_id for t in ready) or 'none'})",
                _element(instance),
            )
        if "ready" in expect:
            got = sorted(t.bpmn_id for t in ready)
            if got != sorted(expect["ready"]):  # an incident is the reason: say it rather than hide it
                raise Mismatch(
                    f"expected ready tasks {sorted(expect['ready'])}{where}, got {got}"
                    f"{f' (instance {instance.status}{_error(instance)})' if _error(instance) else ''}",
                    _element(instance),
                )
        for bpmn_id, groups in (expect.get("groups") or {}).items():
            rows = [t for t in ready if t.bpmn_id == bpmn_id]
            if not rows:
                raise Mismatch(f"expected task {bpmn_id} to be ready{where} to check its groups")
            if sorted(rows[0].candidate_groups or []) != sorted([groups] if isinstance(groups, str) else groups):
                raise Mismatch(f"task {bpmn_id} is offered to {rows[0].candidate_groups}, expected {groups}")
        _subset("summary", expect.get("summary"), instance.summary or {}, where)
        if expect.get("variables"):
            _subset("variable", expect["variables"], engine.workflow_data(instance), where)
        if "audit" in expect:
            _audit(expect["audit"], [a.action for a in engine.history(session, instance_id)], where)


def _subset(kind: str, expected: Any, actual: dict, where: str) -> None:
    for key, value in (expected or {}).items():
        if key not in actual:
            raise Mismatch(f"{kind} '{key}' is missing{where} (has: {', '.join(sorted(actual)) or 'nothing'})")
        if actual[key] != value:
            raise Mismatch(
                f"{kind} '{key}'{where}: expected {json.dumps(value, ensure_ascii=False)}, "
                f"got {json.dumps(actual[key], ensure_ascii=False, default=str)}"
            )


def _audit(expected: Any, actions: list[str], where: str) -> None:
    if isinstance(expected, list):
        if actions != expected:
            at = next(
                (i for i, (a, b) in enumerate(zip(actions, expected)) if a != b), min(len(actions), len(expected))
            )
            raise Mismatch(f"audit actions{where} differ at position {at + 1}: expected {expected}, got {actions}")
        return
    wanted = list((expected or {}).get("contains") or [])
    position = 0
    for action in actions:
        if position < len(wanted) and action == wanted[position]:
            position += 1
    if position < len(wanted):
        raise Mismatch(f"audit actions{where} lack '{wanted[position]}' in order {wanted}; got {actions}")

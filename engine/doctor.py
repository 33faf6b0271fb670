"""``zhitongche doctor``: find cases that hang or whose queryable tables disagree with their state.

Every instance that is running (or in error as a stalled case) is loaded as the engine would
load it, and compared with what the pages and the worker read: its ready human tasks, its next
timer, its status. Nothing is changed unless asked (``mark``: a running case found stalled
becomes the incident it should have been).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import stall
from .events import next_timer_due
from .models import HumanTask, Instance
from .runtime import Engine


@dataclass
class Finding:
    instance_id: int
    business_key: str | None
    process_id: str
    problem: str

    def line(self) -> str:
        return f"#{self.instance_id} {self.business_key or ''} ({self.process_id}): {self.problem}"


@dataclass
class Report:
    checked: int = 0
    incidents: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def examine(session: Session, engine: Engine, instance: Instance) -> list[str]:
    """What is wrong with one instance (empty: nothing)."""
    if instance.status == "error":
        error = instance.error or {}
        return (
            [f"stalled incident since {error.get('at')}: {error.get('message')}"]
            if error.get("kind") == stall.STALLED
            else []
        )
    try:
        workflow, _ = engine.load(instance)
    except Exception as exc:  # noqa: BLE001 - reported, the scan goes on
        return [f"its state cannot be loaded: {type(exc).__name__}: {exc}"]
    problems = []
    if workflow.is_completed():
        problems.append("the workflow has ended but the case is marked running")
    elif stall.stalled(workflow):
        problems.append(
            "stalled: no task is ready and nothing is awaited, or a multi-instance "
            "activity never received its finished children"
        )
    ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    rows = set(
        session.scalars(
            select(HumanTask.task_guid).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
        )
    )
    if ready - rows:
        problems.append(f"{len(ready - rows)} ready task(s) missing from the task list")
    if rows - ready:
        problems.append(f"{len(rows - ready)} task(s) listed as ready that the workflow does not have")
    due = next_timer_due(workflow)
    stored = instance.next_timer_at
    if (due is None) != (stored is None) or (due and stored and abs((due - stored).total_seconds()) > 1):
        problems.append(f"next timer stored as {stored} but the workflow waits for {due}")
    return problems


def scan(session: Session, engine: Engine, *, mark: bool = False, batch: int = 200) -> Report:
    report = Report()
    query = select(Instance).where(Instance.status.in_(("running", "error"))).order_by(Instance.id)
    for instance in session.scalars(query.execution_options(yield_per=batch)):
        report.checked += 1
        report.incidents += instance.status == "error"
        problems = examine(session, engine, instance)
        report.findings.extend(Finding(instance.id, instance.business_key, instance.process_id, p) for p in problems)
        if mark and instance.status == "running" and any(p.startswith("stalled") for p in problems):
            workflow, _ = engine.load(instance)
            instance.status = "error"
            instance.error = stall.stall_error(workflow, "doctor", engine.clock.now())
            instance.next_timer_at = None
            engine.audit(session, "doctor", "incident", instance, data=instance.error)
    session.flush()
    return report

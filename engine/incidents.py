"""Incidents and the admin's levers on an instance: list, fix data, retry, suspend,
resume, terminate. Each lever writes an audit entry; the caller owns the transaction.

An incident is an instance with ``status == "error"``: a script, expression or decision
table failed (``Instance.error`` holds the element, the message and the time). Nothing runs
it again by itself — the worker skips it (its ``next_timer_at`` is cleared) — until an
admin corrects the data of the failed task (``update_data``) or moves the instance to a
fixed version (issue 7's migration, through ``retry_after(..., fix=...)``) and retries.

Statuses: running ⇄ suspended (timers are not fired, tasks cannot be completed, messages
are refused); running / suspended / error → terminated (the workflow is cancelled, its
open human tasks are cancelled, its unsent notifications dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import notify, stall
from .errors import InvalidRequest
from .models import HumanTask, Instance
from .runtime import Engine
from .values import json_safe


@dataclass
class Incident:
    instance_id: int
    process_id: str
    version: int
    business_key: str | None
    summary: dict
    element_id: str | None
    element_name: str | None
    message: str
    at: str | None

    @classmethod
    def of(cls, instance: Instance) -> Incident:
        error = instance.error or {}
        return cls(
            instance.id,
            instance.process_id,
            instance.process_version.version,
            instance.business_key,
            dict(instance.summary or {}),
            error.get("element_id"),
            error.get("element_name"),
            error.get("message", ""),
            error.get("at"),
        )

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def list_incidents(
    session: Session, *, process_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[Incident]:
    """Instances in error, the most recent first."""
    query = select(Instance).where(Instance.status == "error")
    if process_id:
        query = query.where(Instance.process_id == process_id)
    query = query.order_by(Instance.updated_at.desc(), Instance.id.desc()).limit(limit).offset(offset)
    return [Incident.of(i) for i in session.scalars(query)]


def count_incidents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Instance).where(Instance.status == "error")) or 0


def count_stalled(session: Session) -> int:
    """Incidents that are stalled cases (流程停滞, engine/stall.py), among the few in error."""
    errors = session.scalars(select(Instance.error).where(Instance.status == "error"))
    return sum(1 for error in errors if (error or {}).get("kind") == stall.STALLED)


def _instance(engine: Engine, session: Session, instance_id: int, allowed: Iterable[str], what: str) -> Instance:
    instance = engine.get_instance(session, instance_id)
    if instance.status not in allowed:
        raise InvalidRequest(
            f"instance {instance_id} is {instance.status}; only a {' or '.join(allowed)} instance can be {what}",
            status=instance.status,
        )
    return instance


def _failed_tasks(workflow: BpmnWorkflow, instance: Instance) -> list[SpiffTask]:
    """The tasks the incident is about: tasks in ERROR, else live tasks of the failed element."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    if failed:
        return failed
    element = (instance.error or {}).get("element_id")
    if element:
        return [
            t
            for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
            if getattr(t.task_spec, "bpmn_id", None) == element
        ]
    return []


def failed_task_data(session: Session, engine: Engine, instance_id: int) -> dict[str, Any]:
    """What an admin sees before fixing: the data of the failed task."""
    instance = _instance(engine, session, instance_id, ("error",), "inspected")
    workflow, _ = engine.load(instance)
    tasks = _failed_tasks(workflow, instance)
    return json_safe(dict(tasks[0].data)) if tasks else {}


def update_data(
    session: Session, engine: Engine, instance_id: int, data: dict[str, Any], actor: str, remove: Iterable[str] = ()
) -> Instance:
    """Correct the variables of the failed task(s) of an instance in error (before ``retry``)."""
    instance = _instance(engine, session, instance_id, ("error",), "corrected")
    step = engine.step(session, instance, actor)
    tasks = _failed_tasks(step.workflow, instance)
    if not tasks:
        raise InvalidRequest(f"instance {instance_id} has no failed task whose data could be corrected")
    remove = list(remove)
    for task in tasks:
        task.data.update(data)
        for key in remove:
            task.data.pop(key, None)
    step.save()
    step.audit(
        "update_data",
        data={
            "tasks": sorted({t.task_spec.bpmn_id or t.task_spec.name for t in tasks}),
            "set": data,
            "removed": remove,
        },
    )
    return instance


def retry(session: Session, engine: Engine, instance_id: int, actor: str) -> Instance:
    """Run the failed tasks again; a new failure is a new incident."""
    return engine.retry(session, instance_id, actor)


def retry_after(
    session: Session, engine: Engine, instance_id: int, actor: str, fix: Callable[[Session, Instance], Any]
) -> Instance:
    """Apply ``fix`` to the instance in error (e.g. issue 7's move to a fixed version), then retry."""
    instance = _instance(engine, session, instance_id, ("error",), "fixed")
    fix(session, instance)
    session.flush()
    return engine.retry(session, instance_id, actor)


def suspend(session: Session, engine: Engine, instance_id: int, actor: str, reason: str = "") -> Instance:
    """Hold a running instance: no timer fires, no task completes, no message is accepted."""
    instance = _instance(engine, session, instance_id, ("running",), "suspended")
    instance.status = "suspended"
    instance.updated_at = engine.clock.now()
    engine.audit(session, actor, "suspend", instance, data={"reason": reason} if reason else None)
    session.flush()
    return instance


def resume(session: Session, engine: Engine, instance_id: int, actor: str) -> Instance:
    """Let a suspended instance go on; timers that fell due meanwhile fire on the worker's next pass."""
    instance = _instance(engine, session, instance_id, ("suspended",), "resumed")
    instance.status = "running"
    instance.updated_at = engine.clock.now()
    engine.audit(session, actor, "resume", instance)
    session.flush()
    return instance


def terminate(session: Session, engine: Engine, instance_id: int, actor: str, reason: str = "") -> Instance:
    """End an instance for good: its workflow and open human tasks are cancelled."""
    instance = _instance(engine, session, instance_id, ("running", "suspended", "error"), "terminated")
    step = engine.step(session, instance, actor)
    step.workflow.cancel()
    instance.status = "terminated"
    instance.ended_at = engine.clock.now()
    summary = dict(instance.summary or {})
    summary["terminated"] = True
    instance.summary = summary
    step.save()  # keeps the status; cancels human tasks
    notify.cancel_pending(session, instance.id)
    step.audit("terminate", data={"reason": reason} if reason else None)
    session.flush()
    return instance


def human_task_of(session: Session, instance_id: int, task_guid: str | UUID) -> HumanTask | None:
    return session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.task_guid == str(task_guid))
    ).first()

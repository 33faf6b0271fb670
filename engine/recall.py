"""撤回: the person who completed a task takes the completion back while the case has not
moved on — the tasks that completion created are still unclaimed and nothing was completed
after it. The workflow is reset to the task (SpiffWorkflow ``reset_from_task_id``: the
task's descendants are removed, the task is ready again with its data less the form's values), the
following human tasks are cancelled, and the task is the doer's again, with their input as
its draft. Works on a freshly loaded workflow (nothing kept in memory between steps).

Refused (Conflict, with the reason) when the next task was claimed or finished, when the
case ended, or when the completed task is no longer in the workflow's tree (compaction
keeps the few levels above live tasks and the last human task; see engine/compaction.py).
A task inside a sub-process (the unit's handling) is taken back like any other
(engine/sendback.py ``reopen``): inside a running sub-process its boundary timers stay as they
are; a sub-process that the completion had finished runs again with its boundary timers armed
afresh. No web here; the caller owns the transaction.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .access import Principal
from .errors import Conflict, NotAllowed, NotFound
from .models import AuditEntry, HumanTask
from .sendback import reopen

if TYPE_CHECKING:
    from .runtime import Engine


def _check(session: Session, principal: Principal, row: HumanTask) -> list[HumanTask]:
    """The ready tasks the recall cancels; raises when the completion cannot be taken back."""
    if row.state != "completed" or row.completed_by != principal.username:
        raise NotAllowed("only the person who completed a task may take it back")
    if row.instance.status != "running":
        raise Conflict("the case has ended or is held; the completion cannot be taken back", reason="ended")
    last = session.execute(
        select(AuditEntry.task_bpmn_id, AuditEntry.actor)
        .where(AuditEntry.instance_id == row.instance_id, AuditEntry.action.in_(("complete", "recall", "send_back")))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if last is None or tuple(last) != (row.bpmn_id, row.completed_by):
        raise Conflict("the case has moved on: a later task was already completed", reason="moved_on")
    following = list(
        session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == row.instance_id,
                HumanTask.state == "ready",
                HumanTask.created_at >= row.completed_at,
            )
        )
    )
    taken = [t for t in following if t.assignee is not None]
    if taken:
        raise Conflict(
            f"the next task was already claimed by {taken[0].assignee}", reason="claimed", assignee=taken[0].assignee
        )
    return following


def may_recall(session: Session, principal: Principal, row: HumanTask) -> bool:
    try:
        _check(session, principal, row)
    except (Conflict, NotAllowed):
        return False
    return True


def last_recallable(session: Session, principal: Principal, instance_id: int) -> HumanTask | None:
    """The task of the case the person completed last, if they may still take it back."""
    row = session.scalars(
        select(HumanTask)
        .where(
            HumanTask.instance_id == instance_id,
            HumanTask.state == "completed",
            HumanTask.completed_by == principal.username,
        )
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        .limit(1)
    ).first()
    return row if row is not None and may_recall(session, principal, row) else None


def recall(session: Session, engine: Engine, principal: Principal, task_id: int) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    following = _check(session, principal, row)
    instance = row.instance
    step = engine.step(session, instance, principal.username)
    workflow = step.workflow
    try:
        task = workflow.get_task_from_id(UUID(row.task_guid))
    except (TaskNotFoundException, ValueError):
        task = None
    if task is None or not task.has_state(TaskState.COMPLETED):
        raise Conflict("this completion is too far back to be taken back", reason="gone")
    submitted = session.scalars(
        select(AuditEntry.data)
        .where(
            AuditEntry.instance_id == instance.id,
            AuditEntry.action == "complete",
            AuditEntry.task_bpmn_id == row.bpmn_id,
            AuditEntry.actor == principal.username,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    # the task's data before it was completed: what it holds less what the form added (its
    # parent may be a spliced-out ancestor, engine/compaction.py, so not "copy the parent's")
    before = {k: copy.deepcopy(v) for k, v in task.data.items() if k not in (submitted or {})}
    with clock_mod.using(engine.clock):  # timers armed again read the engine's clock
        reopen(workflow, task, before)
    step.save()  # rows: this ready again, next cancelled
    session.refresh(row)
    row.assignee, row.delegated_from = principal.username, None
    row.draft = submitted or None
    step.audit("recall", row, {"cancelled": [t.name for t in following]})
    session.flush()
    return row


__all__ = ["recall", "may_recall", "last_recallable"]

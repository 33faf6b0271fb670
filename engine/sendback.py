"""退回: return a case from an open user task to an earlier user task it passed through.

The working group (``wg:city`` any case, ``wg:<county>`` its county's) returns any open task;
a unit head (``head:<u>``) returns an open task of their unit to an earlier task of their
unit. A reason is required; it is in the audit (the case's timeline), in the notification to
the receiver (the person who did the earlier task, else its groups) and on the receiver's
task page. The earlier task is ready again, held by its former doer, with their former
answers as its draft and a due date evaluated afresh from the diagram.

Valid targets (``targets``) are completed user tasks still in the workflow's tree on the
path that led to the open task, in the same process or in a sub-process the path went
through (拟办办理结果 inside 责任单位限时办理 from 结果审核 at the top level) — not a
multi-instance child (one of several 配合单位意见). Compaction (engine/compaction.py)
keeps the last KEEP completed tasks above live ones and the last completed human task of
each running (sub)process; a step that was spliced out is not offered and a request for it
is refused (Conflict ``gone``): the case must then go back the way the diagram draws it.

``reopen`` is the core both 退回 and 撤回 (engine/recall.py) use, on a freshly loaded
workflow: the target's branch is reset; a sub-process that had finished is running again
(its later path removed), and the boundary events of the sub-process are armed again: their
timer expressions are evaluated afresh (per the diagram: 黄牌/红牌/超期 from ``deadline``,
as the diagram's own 退回重办 path does when it enters the sub-process again); a running
sub-process keeps its timers as they are. A parallel join after the target that had merged
other branches gets, for each of those branches, a marker that the branch arrived (the
compacted tree may no longer hold them), so the redone branch alone completes the join.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import notify as notify_mod
from .access import Principal
from .errors import Conflict, InvalidRequest, NotAllowed, NotFound
from .models import AuditEntry, HumanTask

if TYPE_CHECKING:
    from .runtime import Engine

MAX_REASON = 500


# -- the workflow operation ------------------------------------------------------------------
def _subtree(task: SpiffTask) -> list[SpiffTask]:
    out: list[SpiffTask] = []
    stack = [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


def _forget(top: BpmnWorkflow, tasks: list[SpiffTask]) -> None:
    """Tasks leaving the tree: their sub-processes and waiting events go with them."""
    for t in tasks:
        if t.id in top.subprocesses:
            top.delete_subprocess(t)
        top.event_manager.remove_task(t)


def _merged_joins(task: SpiffTask) -> list[tuple[Any, list[Any]]]:
    """(join spec, the other input specs) of each completed multi-input join below ``task``
    in its own workflow: the branches that had already arrived there."""
    found = []
    for t in _subtree(task)[1:]:
        spec = t.task_spec
        if isinstance(spec, Join) and len(spec.inputs) > 1 and t.has_state(TaskState.COMPLETED) and t.parent:
            others = [s for s in spec.inputs if s is not t.parent.task_spec]
            found.append((spec, others))
    return found


def _mark_arrived(anchor: SpiffTask, joins: list[tuple[Any, list[Any]]]) -> None:
    """Beside the reset branch: each other branch as arrived at its join (the join task
    waits, as it does when that branch finishes first; the redone branch's join cancels it)."""
    for spec, others in joins:
        for other in others:
            arrived = anchor._add_child(other, TaskState.COMPLETED)
            arrived.data = {}
            arrived._add_child(spec, TaskState.WAITING)


def _rearm(top: BpmnWorkflow, main: SpiffTask, data: dict[str, Any]) -> None:
    """Arm the boundary events of ``main`` again (a fresh timer per the diagram)."""
    wf = main.workflow
    split_spec = wf.spec.task_specs.get(f"{main.task_spec.name}.BoundaryEventSplit")
    if split_spec is None:
        return
    if main.parent is not None and main.parent.task_spec is split_spec:
        split = main.parent
        for child in list(split.children):
            if child is not main:
                gone = _subtree(child)
                _forget(top, gone)
                wf._remove_task(child.id)
    else:  # the split was spliced out by compaction: put one back above the task
        parent = main.parent
        split = parent._add_child(split_spec, TaskState.COMPLETED)
        parent._children.remove(split.id)
        parent._children[parent._children.index(main.id)] = split.id
        split._children.append(main.id)
        main._parent = split.id
        split.data = copy.deepcopy(data)
    for spec in split_spec.outputs:
        if isinstance(spec, BoundaryEvent):
            event = split._add_child(spec, TaskState.WAITING)
            event.data = copy.deepcopy(data)
            event.task_spec._update(event)


def _reopen_subprocess(top: BpmnWorkflow, sp_task: SpiffTask) -> list[SpiffTask]:
    """A finished sub-process task runs again: what followed it is removed, its boundary
    events are armed again."""
    removed = _subtree(sp_task)[1:]
    joins = _merged_joins(sp_task)
    _forget(top, removed)
    sp_task._drop_children(force=True)
    sp_task._set_state(TaskState.FUTURE)
    sp_task.task_spec._predict(sp_task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    sp_task._set_state(TaskState.STARTED)
    _rearm(top, sp_task, sp_task.data)
    if joins and sp_task.parent is not None:
        _mark_arrived(sp_task.parent, joins)
    sp_task.workflow.last_task = sp_task.parent
    top.subprocesses[sp_task.id].completed = False
    return removed


def reopen(workflow: BpmnWorkflow, task: SpiffTask, data: dict[str, Any]) -> list[SpiffTask]:
    """Make the completed ``task`` ready again with ``data``; return the tasks removed."""
    top = workflow
    own = task.workflow
    removed = _subtree(task)[1:]
    joins = _merged_joins(task)
    _forget(top, removed)
    own.last_task = task.parent
    task.reset_branch(data)
    if task.parent.task_spec.name.endswith(".BoundaryEventSplit"):
        _rearm(top, task, data)
    if joins:
        _mark_arrived(task.parent, joins)
    while own is not top:
        sp_task = top.get_task_from_id(own.parent_task_id)
        if sp_task.has_state(TaskState.STARTED):
            break  # a running sub-process: its timers are left as they are
        removed += _reopen_subprocess(top, sp_task)
        own = sp_task.workflow
    for t in list(top.event_manager.tasks.values()):  # nothing removed may still be awaited
        if t.id not in t.workflow.tasks:
            top.event_manager.remove_task(t)
    return removed


def _find(workflow: BpmnWorkflow, guid: str) -> SpiffTask | None:
    try:
        return workflow.get_task_from_id(UUID(guid))
    except (TaskNotFoundException, ValueError):
        return None


def _path_above(workflow: BpmnWorkflow, task: SpiffTask) -> set[UUID]:
    """Ids of the tasks above ``task`` across sub-process boundaries."""
    seen: set[UUID] = set()
    node = task
    while node is not None:
        seen.add(node.id)
        if node.parent is not None:
            node = node.parent
        elif node.workflow is not workflow and node.workflow.parent_task_id is not None:
            node = workflow.get_task_from_id(node.workflow.parent_task_id)
        else:
            node = None
    return seen


def _on_path(workflow: BpmnWorkflow, target: SpiffTask, above: set[UUID], current: SpiffTask) -> bool:
    """``target`` is above the current task, or inside a sub-process that is."""
    chain: set[int] = set()
    w = current.workflow
    while True:  # the (sub)workflows the current task is in
        chain.add(id(w))
        if w is workflow or w.parent_task_id is None:
            break
        w = workflow.get_task_from_id(w.parent_task_id).workflow
    node = target
    while True:
        if node.id in above:
            return True
        if id(node.workflow) in chain or node.workflow.parent_task_id is None:
            return False
        node = workflow.get_task_from_id(node.workflow.parent_task_id)


def _returnable(workflow: BpmnWorkflow, target: SpiffTask | None, above: set[UUID], current: SpiffTask) -> bool:
    if target is None or not target.has_state(TaskState.COMPLETED) or not target.task_spec.manual:
        return False
    if target.parent is not None and isinstance(target.parent.task_spec, MultiInstanceTask):
        return False  # one of several parallel instances
    return _on_path(workflow, target, above, current)


# -- who, what, and the operation on a case ------------------------------------------------------
def _wg_scopes(principal: Principal) -> set[str]:
    return {g.split(":", 1)[1] for g in principal.groups if g.startswith("wg:")}


def _unit_of_head(principal: Principal, row: HumanTask) -> set[str]:
    heads = {g.split(":", 1)[1] for g in principal.groups if g.startswith("head:")}
    groups = set(row.candidate_groups or [])
    return {u for u in heads if {f"unit:{u}", f"head:{u}"} & groups}


def _supervises(principal: Principal, row: HumanTask) -> bool:
    scopes = _wg_scopes(principal)
    county = (row.instance.summary or {}).get("county")
    return "city" in scopes or (county is not None and county in scopes)


def may_send_back(principal: Principal, row: HumanTask) -> bool:
    if principal.is_enterprise or row.state != "ready" or row.instance.status != "running":
        return False
    return _supervises(principal, row) or bool(_unit_of_head(principal, row))


@dataclass
class Target:
    task_id: int
    name: str
    bpmn_id: str
    done_by: str | None
    done_at: object


def _candidates(session: Session, principal: Principal, row: HumanTask) -> list[HumanTask]:
    rows = list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == row.instance_id, HumanTask.state == "completed")
            .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        )
    )
    if not _supervises(principal, row):  # a head: only their unit's steps
        units = _unit_of_head(principal, row)
        allowed = {f"unit:{u}" for u in units} | {f"head:{u}" for u in units}
        rows = [r for r in rows if r.candidate_groups and set(r.candidate_groups) <= allowed]
    return rows


def targets(
    session: Session, engine: Engine, principal: Principal, row: HumanTask, workflow: BpmnWorkflow | None = None
) -> list[Target]:
    """The earlier steps the open task ``row`` may be returned to, newest first."""
    if not may_send_back(principal, row):
        return []
    workflow = workflow or engine.load(row.instance)[0]
    current = _find(workflow, row.task_guid)
    if current is None:
        return []
    above = _path_above(workflow, current)
    out: list[Target] = []
    names: set[str] = set()
    for r in _candidates(session, principal, row):
        if r.bpmn_id in names:
            continue
        t = _find(workflow, r.task_guid)
        if t is not None and _returnable(workflow, t, above, current):
            names.add(r.bpmn_id)
            out.append(Target(r.id, r.name, r.bpmn_id, r.completed_by, r.completed_at))
    return out


def send_back(
    session: Session, engine: Engine, principal: Principal, task_id: int, target_id: int, reason: str
) -> HumanTask:
    """Return the case from open task ``task_id`` to the completed task ``target_id``."""
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    if row.state != "ready":
        raise Conflict(f"task {task_id} is already {row.state}", reason="not_open", state=row.state)
    if not may_send_back(principal, row):
        raise NotAllowed("only the working group, or a head within their unit, may return a case")
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise InvalidRequest(f"a reason of 1 to {MAX_REASON} characters is required", field="reason")
    target = session.get(HumanTask, target_id)
    if target is None or target.instance_id != row.instance_id or target.state != "completed":
        raise InvalidRequest("the target is not a completed step of this case", field="target_task_id")
    instance = row.instance
    with clock_mod.using(engine.clock):
        step = engine.step(session, instance, principal.username)
        workflow = step.workflow
        valid = {t.task_id for t in targets(session, engine, principal, row, workflow)}
        if target.id not in valid:
            if (
                target.id in {r.id for r in _candidates(session, principal, row)}
                and _find(workflow, target.task_guid) is None
            ):
                raise Conflict(
                    "this step is too far back to return to; it is no longer in the case's state", reason="gone"
                )
            raise Conflict("the case did not pass through this step on its way to the open task", reason="not_a_target")
        task = _find(workflow, target.task_guid)
        assert task is not None  # a valid target is in the tree
        submitted = session.scalars(
            select(AuditEntry.data)
            .where(
                AuditEntry.instance_id == instance.id,
                AuditEntry.action == "complete",
                AuditEntry.task_bpmn_id == target.bpmn_id,
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).first()
        before = {k: copy.deepcopy(v) for k, v in task.data.items() if k not in (submitted or {})}
        receiver = target.completed_by
        cancelled = [t.name for t in engine.ready_tasks(session, instance.id)]
        reopen(workflow, task, before)
        step.save()
        session.refresh(target)
        _, groups, due = engine.offer(task)  # a fresh due date per the diagram
        target.candidate_groups, target.due_at = groups, due
        target.due_provisional = engine.calendar.provisional(engine.clock.now(), due)
        target.created_at = engine.clock.now()
        target.assignee = receiver if receiver and not receiver.startswith(("system", "timer")) else None
        target.delegated_from, target.urged_at, target.urged_by = None, None, None
        target.draft = submitted or None
        step.audit(
            "send_back",
            target,
            {
                "reason": reason,
                "from": row.name,
                "from_task_id": row.id,
                "task_id": target.id,
                "to": receiver,
                "cancelled": cancelled,
            },
        )
        recipients = [target.assignee] if target.assignee else notify_mod.usernames_in_groups(session, groups)
        case = notify_mod.case_label(instance)
        notify_mod.enqueue(
            session,
            kind="send_back",
            recipients=recipients,
            subject=f"【直通车】退回：{target.name}",
            body=f"案件 {case}：{principal.username} 将案件从「{row.name}」退回到「{target.name}」，"
            f"请重新办理。退回理由：{reason}",
            now=engine.clock.now(),
            instance=instance,
            task=target,
        )
        session.flush()
    return target


def last_return(session: Session, row: HumanTask) -> AuditEntry | None:
    """The 退回 that made ``row`` ready again, if it is still open since (for its page)."""
    if row.state != "ready":
        return None
    entry = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.instance_id == row.instance_id,
            AuditEntry.task_bpmn_id == row.bpmn_id,
            AuditEntry.action.in_(("complete", "send_back")),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None or entry.action != "send_back" or (entry.data or {}).get("task_id") != row.id:
        return None
    return entry


__all__ = ["send_back", "targets", "may_send_back", "reopen", "last_return", "Target"]

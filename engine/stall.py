"""A running case that can no longer move on is an incident, never a silent hang.

After every step the engine asks :func:`stalled`: a workflow that is not completed, has no
ready task (for people or for the engine) and waits for no event (message, signal, timer —
also inside called processes and sub-processes) cannot go on by itself, whatever anyone
does. It becomes an incident ("流程停滞") naming the last element completed and who
completed it, so that it is on the incidents page, counted by ``/healthz`` and found by
``zhitongche doctor``.

:func:`remerge_lost_children` repairs the one known cause from before the spec was wired at
parse time (engine/parsing.py ``wire_at_parse``): a loop or multi-instance child completed
in a process whose spec had not connected it to its parent; retrying a stalled case hands
such children to their parent again.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from .errors import incident_record

STALLED = "stalled"


def stalled(workflow: BpmnWorkflow) -> bool:
    """The workflow is unfinished and nothing is ready and nothing is awaited, or a loop or
    multi-instance activity waits for children that have all finished (its path is blocked
    for good, even while boundary timers would still fire)."""
    if workflow.is_completed():
        return False
    if _unmerged_parents(workflow):
        return True
    if workflow.get_next_task(state=TaskState.READY) is not None:
        return False
    return not workflow.event_manager.tasks


def _unmerged_parents(workflow: BpmnWorkflow) -> list:
    """Started loop / multi-instance tasks with children, every one of them finished."""
    found = []
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if isinstance(task.task_spec, LoopTask):
            children = [c for c in task.children if c.task_spec.name == task.task_spec.task_spec]
            if children and all(c.has_state(TaskState.FINISHED_MASK) for c in children):
                found.append(task)
    return found


def stall_error(workflow: BpmnWorkflow, actor: str, now: _dt.datetime, last: Any = None) -> dict:
    """``Instance.error`` for a stalled case: the last element completed (``last``: in this step,
    as engine/step.py records it; else the library's last task) and who completed it."""
    last = last or workflow.last_task
    spec = last.task_spec if last is not None else None
    element_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    element_name = getattr(spec, "bpmn_name", None)
    what = element_name or element_id or "?"
    blocked = _unmerged_parents(workflow)
    if blocked:
        name = blocked[0].task_spec.bpmn_name or blocked[0].task_spec.bpmn_id
        why = f"“{name}”的各项均已办结，但流程未能汇合 (every instance of {name} has finished but they never joined)"
    else:
        why = "既无待办任务，也不等待任何消息或定时器 (no task is ready and no event is awaited)"
    return incident_record(
        f"流程停滞：在“{what}”（{actor} 办理）之后{why}",
        now.isoformat(),
        element_id,
        element_name,
        kind=STALLED,
        completed_by=actor,
    )


def remerge_lost_children(workflow: BpmnWorkflow) -> int:
    """Hand completed loop / multi-instance children that never reached their parent to it again."""
    count = 0
    for task in _unmerged_parents(workflow):
        spec = task.task_spec
        merged = task.internal_data.setdefault("merged", [])
        for child in list(task.children):
            if (
                child.task_spec.name == spec.task_spec
                and child.has_state(TaskState.COMPLETED)
                and str(child.id) not in merged
                and task.has_state(TaskState.STARTED)
            ):
                spec.merge_child(task.workflow, child)
                count += 1
    return count

"""What a workflow waits for and what just happened in it, read from SpiffWorkflow's task
tree: due timers, awaited messages, fired timers, and the interruption by event
subprocesses that the library does not do itself."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .models import ProcessVersion


def next_timer_due(workflow: BpmnWorkflow) -> _dt.datetime | None:
    """When the earliest waiting timer of the workflow is due (None: no timer waits).

    Read from each waiting task's ``event_value``, which also covers timers inside
    multiple events (event-based gateways, boundary events with several triggers).
    """
    due = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        nested = getattr(definition, "event_definitions", None) or [definition]
        if not any(isinstance(d, TimerEventDefinition) for d in nested):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # cycle timers: {'cycles', 'next', 'duration'}
            value = value.get("next") if value.get("cycles", 0) != 0 else None
        if isinstance(value, str):
            try:
                due.append(TimerEventDefinition.get_datetime(value))
            except (ValueError, TypeError):
                continue
    return min(due) if due else None


def waiting_message_names(workflow: BpmnWorkflow) -> set[str]:
    """The messages the workflow waits for, also inside multiple events (an event-based
    gateway reports itself to ``waiting_events()`` as one nameless 'MultipleEventDefinition')."""
    names = set()
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        for item in getattr(definition, "event_definitions", None) or [definition]:
            if "Message" in item.__class__.__name__ and getattr(item, "name", None):
                names.add(item.name)
    # a message-started event subprocess is created only when its message arrives
    for spec_name in getattr(workflow.spec.start, "trigger_specs", None) or []:
        sp_spec = workflow.subprocess_specs.get(spec_name)
        for start in getattr(sp_spec, "bpmn_start_events", None) or []:
            definition = start.event_definition
            if "Message" in definition.__class__.__name__ and getattr(definition, "name", None):
                names.add(definition.name)
    return names


@functools.lru_cache(maxsize=256)
def _non_interrupting_starts(version_id: int, files: tuple[tuple[str, str], ...]) -> frozenset[str]:
    from lxml import etree

    ids: set[str] = set()
    for name, text in files:
        if name.endswith((".bpmn", ".bpmn20.xml")):
            root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
            ids.update(
                start_id
                for e in root.iter("{*}startEvent")
                if e.get("isInterrupting") == "false" and (start_id := e.get("id"))
            )
    return frozenset(ids)


def interrupt_for_event_subprocesses(workflow: BpmnWorkflow, before: set, version: ProcessVersion) -> None:
    """BPMN: an event subprocess started by an interrupting start event cancels the rest of
    the process it belongs to. SpiffWorkflow 3.2 starts message-triggered event subprocesses
    on demand but never interrupts, so the engine does it here."""
    non_interrupting = None
    for task in workflow.get_tasks():
        triggered = getattr(task.workflow.spec.start, "trigger_specs", None) or []
        if task.id in before or task.task_spec.name not in triggered:
            continue
        sub = workflow.subprocesses.get(task.id)
        starts = [
            t
            for t in (sub.get_tasks() if sub else [])
            if t.task_spec.name in {s.name for s in getattr(sub.spec, "bpmn_start_events", [])}
            and not t.has_state(TaskState.MAYBE)
        ]
        if non_interrupting is None:
            non_interrupting = _non_interrupting_starts(version.id, tuple(sorted(version.files.items())))
        if any(t.task_spec.bpmn_id in non_interrupting for t in starts):
            continue
        keep = {task.id, *(a.id for a in _ancestors(task))}
        for other in task.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            if (
                other.workflow is task.workflow
                and other.id not in keep
                and not other.has_state(TaskState.FINISHED_MASK)
            ):
                other.cancel()


def _ancestors(task: Any) -> Iterator[Any]:
    node = task.parent
    while node is not None:
        yield node
        node = node.parent


def fired_timers(workflow: BpmnWorkflow, before: set[str]) -> list[str]:
    """Names of the timer events that fired: timer tasks that completed, and for an
    event-based gateway whose timer won, the timer event it took."""
    names = []
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        if str(task.id) not in before:
            continue
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            names.append(task.task_spec.bpmn_name or task.task_spec.bpmn_id)
        elif any(isinstance(d, TimerEventDefinition) for d in getattr(definition, "event_definitions", None) or []):
            taken = [c for c in task.children if c.has_state(TaskState.COMPLETED)]
            names.extend(c.task_spec.bpmn_name or c.task_spec.bpmn_id for c in taken[:1] or [task])
    return names

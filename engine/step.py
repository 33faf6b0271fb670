"""One step: the unit of work every change to a case goes through.

    step = engine.step(session, instance, actor)   # load the workflow (sandboxed scripts)
    step.advance(change)                            # run the change, then the engine
    step.audit("complete", row, data)               # history rows, as many as the step needs
    step.save()                                     # status, state, human tasks, events

Web requests, the API, the timer worker, incident handling, 撤回/退回 and version migration all
change a case this way; nothing else writes a workflow's state. ``save`` sets the status (a
stalled case becomes an incident, engine/stall.py), compacts and serializes the workflow, brings
the human-task rows in line with the ready user tasks, writes ``next_timer_at``, then tells
the step's listeners (``StepSaved``) in the same transaction: statistics, bulletins and
notifications subscribe there (engine/domain.py); this module knows nothing of them.
The caller owns the transaction: ``save`` flushes once, never commits.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, delete, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from . import binding, stall
from . import forms as forms_mod
from . import notify as notify_mod
from .compaction import compact
from .errors import Conflict, incident_record
from .events import next_timer_due
from .models import HumanTask, HumanTaskGroup, Instance
from .properties import CANDIDATE_GROUPS, DUE_DATE, SUMMARY, task_properties
from .serializer import SERIALIZER_VERSION
from .values import json_safe, parse_due

if TYPE_CHECKING:
    from .runtime import Engine
    from .speccache import LoadedVersion
    from .workdays import WorkCalendar

# A cycle of gateways and script tasks with no user task, timer or message in it would never
# end, or (past SpiffWorkflow's task-iterator depth of 1,000) end silently as "completed" with
# work left behind. One step may complete this many tasks, along a path this deep, before it is
# stopped as an incident.
MAX_TASKS_PER_STEP = 10_000
MAX_PATH_DEPTH = 800

Change = Callable[[], Iterable[SpiffTask] | None]


@dataclass(frozen=True)
class StepSaved:
    """What a listener is told once a step's state and task rows are written (not yet flushed)."""

    session: Session
    instance: Instance
    workflow: BpmnWorkflow
    actor: str
    now: _dt.datetime
    calendar: WorkCalendar
    created_tasks: Sequence[HumanTask]  # human-task rows this step offered for the first time


StepListener = Callable[[StepSaved], None]


class Offer(NamedTuple):
    """Who a ready user task is offered to and by when (from its extension properties)."""

    properties: dict[str, Any]
    groups: list[str]
    due: _dt.datetime | None


def drop_groups(session: Session, row: HumanTask) -> None:
    """The task's inbox rows go with one DELETE (no load of the collection): a task cancelled, or
    offered again (its rows are written anew). A completed task's rows are left to the worker
    (``prune_group_rows``): every inbox and access query reads them for ready tasks only."""
    session.execute(
        delete(HumanTaskGroup).where(HumanTaskGroup.task_id == row.id), execution_options={"synchronize_session": False}
    )
    set_committed_value(row, "groups", [])


def prune_group_rows(session: Session, limit: int = 5000) -> int:
    """Delete up to ``limit`` inbox rows of tasks no longer ready (the worker's cleanup after
    completions, issue 18); returns how many. The rows are locked with SKIP LOCKED on
    PostgreSQL: a step offering such a task again deletes and rewrites its rows (``drop_groups``)
    and so is never undone by a cleanup that read the task before it was ready again."""
    ready = select(HumanTask.id).where(HumanTask.id == HumanTaskGroup.task_id, HumanTask.state == "ready")
    stale = session.execute(
        select(HumanTaskGroup.task_id, HumanTaskGroup.group)
        .where(~ready.exists())
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if stale:
        table = HumanTaskGroup.__table__
        assert isinstance(table, Table)
        session.execute(
            delete(table).where(table.c.task_id == bindparam("t"), table.c.group == bindparam("g")),
            [{"t": t, "g": g} for t, g in stale],
            execution_options={"synchronize_session": False},
        )
    return len(stale)


@dataclass
class Step:
    """One unit of work on one case; made by ``Engine.step`` (or ``Engine.start`` for a new case)."""

    engine: Engine
    session: Session
    instance: Instance
    workflow: BpmnWorkflow
    loaded: LoadedVersion
    actor: str
    offers: dict[str, Offer] = field(default_factory=dict)
    completed_last: SpiffTask | None = None  # what a stall is reported after (engine/stall.py)
    error_before: Any = None  # the instance's incident when the step began (a new one is audited)
    rows_before: tuple[set[str], set[str], set[str]] | None = None  # see rows_in_line

    def __post_init__(self) -> None:
        self.error_before = self.instance.error

    def rows_in_line(self, settled: Iterable[str] = ()) -> None:
        """Say that the instance's ready human-task rows are those of the workflow's ready user
        tasks as loaded (what every ``save`` of a running case leaves), less ``settled`` (rows the
        caller already moved out of ready). ``save`` then reads no rows when the step only adds
        tasks it created (issue 18); it still reads them when a task must be cancelled or one
        known before the step is ready again. Call it before ``advance``, on a running case."""
        workflow = self.workflow
        ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        # tasks that may have a row: all but the predicted ones (a task that was ever ready is
        # ready, finished or reset to ready by 撤回/退回 in a step of its own; a wrong guess would
        # meet the unique (instance_id, task_guid) constraint, never a second row)
        predicted = TaskState.PREDICTED_MASK | TaskState.FUTURE
        had_row = {str(t.id) for t in workflow.get_tasks() if not t.has_state(predicted)}
        self.rows_before = (ready, had_row, set(settled))

    # -- run ------------------------------------------------------------------------------
    def advance(self, change: Change | None = None) -> None:
        """Run ``change`` then the engine; a process error becomes an incident on the instance.

        Every task that completes on the way may carry a ``summary`` property: its value (a
        dict) is merged into the instance's summary, the queryable face of the case; and a
        ``notify`` property: warnings written to the outbox (engine/notify.py).
        """
        engine, instance, workflow = self.engine, self.instance, self.workflow
        summary = dict(instance.summary or {})
        completed = 0

        def did_complete(task: SpiffTask) -> None:
            nonlocal completed
            completed += 1
            if completed > MAX_TASKS_PER_STEP or (completed % 50 == 0 and task.depth > MAX_PATH_DEPTH):
                raise WorkflowTaskException(
                    f"stopped after {completed:,} tasks in one step: a cycle without a user task, timer or "
                    f"message? (一次推进执行了 {completed:,} 个环节，流程中可能存在无等待的循环)",
                    task=task,
                )
            self.completed_last = task
            props = task_properties(task.task_spec)
            if not task.has_state(TaskState.COMPLETED):
                return
            if props.get(SUMMARY):
                value = engine.script_engine.evaluate(task, props[SUMMARY])
                if isinstance(value, dict):
                    summary.update(json_safe(value))
            if props.get(notify_mod.NOTIFY):
                value = engine.script_engine.evaluate(task, props[notify_mod.NOTIFY])
                try:
                    notify_mod.requested(
                        self.session,
                        instance,
                        json_safe(value),
                        engine.clock.now(),
                        source=task.task_spec.bpmn_name or task.task_spec.name,
                    )
                except notify_mod.NotifyRequestError as exc:
                    raise WorkflowTaskException(str(exc), task=task) from None

        try:
            manual = change() if change is not None else None
            for task in manual or ():
                did_complete(task)
            workflow.do_engine_steps(did_complete_task=did_complete)
            # who is offered each ready task and by when: a failing property is an incident on
            # its task, like a failing script (the rows are written by save from these offers)
            self.offers = {str(t.id): engine.offer(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        except SpiffWorkflowException as exc:
            # the element: the failing task's, else the spec the library names (WorkflowException)
            spec = getattr(getattr(exc, "task", None), "task_spec", None) or getattr(exc, "task_spec", None)
            instance.status = "error"
            instance.error = incident_record(
                str(exc),
                engine.clock.now().isoformat(),
                getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
                getattr(spec, "bpmn_name", None),
            )
        instance.summary = summary

    def audit(self, action: str, task: HumanTask | None = None, data: Any = None, actor: str | None = None) -> None:
        """One history row of the case, by the step's actor unless told otherwise."""
        self.engine.audit(self.session, actor or self.actor, action, self.instance, task, data)

    # -- save -----------------------------------------------------------------------------
    def save(self) -> Instance:
        """Write the step (see the module docstring); an incident it ran into is audited."""
        engine, session, instance, workflow = self.engine, self.session, self.instance, self.workflow
        now = engine.clock.now()
        if instance.status not in ("error", "suspended", "terminated"):  # held by an incident or an admin
            if workflow.is_completed():
                instance.status = "completed"
                instance.ended_at = now
            elif stall.stalled(workflow):  # nothing ready, nothing awaited: never a silent hang
                instance.status = "error"
                instance.error = stall.stall_error(workflow, self.actor, now, self.completed_last)
            else:
                instance.status = "running"
        binding.record(instance, workflow, self.loaded.called_ids, engine.version_of(instance))
        compact(workflow)
        instance.state = engine.serializer(self.loaded.flavor).dumps(workflow)
        instance.serializer_version = SERIALIZER_VERSION
        instance.updated_at = now
        instance.next_timer_at = next_timer_due(workflow) if instance.status == "running" else None
        try:
            with session.no_autoflush:  # one flush below writes the instance and its tasks together
                created = self._sync_human_tasks(now)
                event = StepSaved(session, instance, workflow, self.actor, now, engine.calendar, created)
                for listener in engine.listeners:
                    listener(event)
            session.flush()
        except StaleDataError:
            raise Conflict("this case was changed by someone else at the same time; reload and try again") from None
        if instance.status == "error" and instance.error is not self.error_before:  # a new incident
            self.audit("incident", data=instance.error, actor="system")
        return instance

    def _rows_known(self, ready: dict[str, SpiffTask]) -> bool:
        """No row to read: no ready row goes, and every task ready anew was created in this step."""
        if self.rows_before is None:
            return False
        ready_before, known_before, settled = self.rows_before
        return not (ready_before - settled - ready.keys()) and not any(
            guid in known_before and guid not in ready_before for guid in ready
        )

    def _sync_human_tasks(self, now: _dt.datetime) -> list[HumanTask]:
        session, instance, workflow = self.session, self.instance, self.workflow
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        if instance.status != "running":
            ready = {}
        existing: dict[str, HumanTask | None] = {}
        earlier: dict[str, HumanTask] = {}
        if self.rows_before is not None and self._rows_known(ready):  # rows_in_line: ready rows stay
            existing = {guid: None for guid in ready if guid in self.rows_before[0]}
        elif instance.id is not None:
            # one query: the rows ready in the database, and rows of tasks ready again (cancelled
            # by an incident, ready after a retry); the session is not flushed, so the state
            # that counts is the one in memory (a task completed in this step is not ready)
            for row in session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance.id,
                    or_(HumanTask.state == "ready", HumanTask.task_guid.in_(list(ready))),
                )
            ):
                if row.state == "ready":
                    existing[row.task_guid] = row
                elif row.task_guid in ready:
                    earlier[row.task_guid] = row
        for guid, known in existing.items():
            if guid not in ready and known is not None:  # (rows_in_line: nothing goes away)
                known.state = "cancelled"
                drop_groups(session, known)
        created = []
        for guid, task in ready.items():
            if guid in existing:
                continue
            if guid in earlier:
                row = earlier[guid]
                row.state, row.completed_at, row.completed_by = "ready", None, None
                drop_groups(session, row)  # rows the worker has not pruned yet: written anew
                row.groups = [HumanTaskGroup(group=g) for g in dict.fromkeys(row.candidate_groups or [])]
                continue
            props, groups, due = self.offers.get(guid) or self.engine.offer(task)
            row = HumanTask(
                instance=instance,
                task_guid=guid,
                bpmn_id=task.task_spec.bpmn_id or task.task_spec.name,
                name=task.task_spec.bpmn_name or task.task_spec.name,
                process_id=task.workflow.spec.name,
                lane=task.task_spec.lane,
                candidate_groups=groups,
                form=props.get(forms_mod.FORM_KEY),
                ui_form=props.get(forms_mod.UI_KEY),
                state="ready",
                due_at=due,
                due_provisional=self.engine.calendar.provisional(now, due),  # issue 13: 临时时限
                created_at=now,
            )
            row.groups = [HumanTaskGroup(group=g) for g in dict.fromkeys(groups)]
            session.add(row)
            created.append(row)
        return created


def offer(engine: Engine, task: SpiffTask) -> Offer:
    """(properties, candidate groups, due time) of a ready user task; a failing property is a
    ``WorkflowTaskException`` on the task that names the property."""
    props = task_properties(task.task_spec)
    key = CANDIDATE_GROUPS
    try:
        groups = _candidate_groups(engine, task, props)
        key = DUE_DATE
        due = parse_due(engine.script_engine.evaluate(task, props[DUE_DATE])) if props.get(DUE_DATE) else None
    except Exception as exc:  # noqa: BLE001 - a designer's expression: reported on its element
        raise WorkflowTaskException(f"property {key} '{props.get(key)}': {exc}", task=task) from None
    return Offer(props, groups, due)


def _candidate_groups(engine: Engine, task: SpiffTask, props: dict[str, Any]) -> list[str]:
    value = engine.script_engine.evaluate(task, props[CANDIDATE_GROUPS]) if props.get(CANDIDATE_GROUPS) else None
    if value is None:
        value = task.task_spec.lane
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def notify_created_tasks(event: StepSaved) -> None:
    """Listener: the outbox rows for the tasks this step offered (engine/notify.py)."""
    for row in event.created_tasks:
        notify_mod.task_created(event.session, row, event.now)


__all__ = [
    "Step",
    "StepSaved",
    "StepListener",
    "Offer",
    "offer",
    "drop_groups",
    "prune_group_rows",
    "notify_created_tasks",
    "MAX_TASKS_PER_STEP",
    "MAX_PATH_DEPTH",
]

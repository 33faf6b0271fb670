"""The engine façade: start instances, complete tasks, deliver messages, fire timers.

Every function takes a SQLAlchemy ``Session`` and flushes at most; the caller (web
request, worker loop, CLI command) commits once or rolls back. A workflow is always
loaded with the sandboxed script engine; its state is saved without the spec, its tree
compacted, its human tasks and next timer written to queryable columns in the same
transaction.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session, defer, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from . import binding
from . import clock as clock_mod
from . import forms as forms_mod
from . import notify as notify_mod
from . import stall
from . import stats as stats_mod
from . import workdays
from .compaction import compact
from .telemetry import timed_step
from .deploy import DeployResult
from .deploy import deploy as deploy_files
from .errors import Conflict, InvalidRequest, MessageNotAccepted, NotFound
from .events import (
    fired_timers,
    interrupt_for_event_subprocesses,
    next_timer_due,
    waiting_message_names,
)
from .models import AuditEntry, HumanTask, HumanTaskGroup, Instance, ProcessVersion
from .properties import CANDIDATE_GROUPS, DUE_DATE, SUMMARY, task_properties
from .sandbox import DEFAULT_TIME_LIMIT, HelperSource, SandboxedScriptEngine
from .serializer import SERIALIZER_VERSION, StateSerializer
from .speccache import LoadedVersion, SpecCache
from .timerstart import fire_start_timers
from .values import json_safe, parse_due

clock_mod.install_into_spiffworkflow()
_INSERT_AUDIT = insert(AuditEntry.__table__)  # one statement, compiled once
# A cycle of gateways and script tasks with no user task, timer or message in it would never
# end, or (past SpiffWorkflow's task-iterator depth of 1,000) end silently as "completed" with
# work left behind. One step may complete this many tasks, along a path this deep, before it is
# stopped as an incident.
MAX_TASKS_PER_STEP = 10_000
MAX_PATH_DEPTH = 800


def _in_clock(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with clock_mod.using(self.clock):
            try:
                return method(self, *args, **kwargs)
            except StaleDataError:  # an autoflush met the optimistic lock (lock_version)
                raise Conflict("this case was changed by someone else at the same time; reload and try again") from None

    return wrapper


class Engine:
    def __init__(self, *, clock: clock_mod.Clock | None = None, calendar: workdays.WorkCalendar | None = None,
                 time_limit_s: float = DEFAULT_TIME_LIMIT) -> None:
        self.clock = clock or clock_mod.SystemClock()
        self.calendar = calendar or workdays.WorkCalendar()
        self.specs = SpecCache()
        helpers = HelperSource(workdays.helpers, self.calendar, lambda: self.clock.now())  # rebuilt in script processes
        self.script_engine = SandboxedScriptEngine(helpers=helpers, time_limit_s=time_limit_s)
        self._serializers = {"spiff": StateSerializer("spiff"), "camunda": StateSerializer("camunda")}

    # -- deploy --------------------------------------------------------------------------
    def deploy(self, session: Session, files: dict[str, bytes], deployed_by: str = "system",
               source: str = "", origin: str = "files", base_versions: dict[str, int] | None = None,
               force: bool = False, scenario_dir=None) -> DeployResult:
        with clock_mod.using(self.clock):
            return deploy_files(session, files, deployed_by, source, origin, base_versions, force,
                                scenario_dir=scenario_dir, calendar=self.calendar)

    def version(self, session: Session, process_id: str, version: int | None = None) -> ProcessVersion:
        query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
        if version is not None:
            query = query.where(ProcessVersion.version == version)
        found = session.scalars(query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if found is None:
            raise NotFound(f"process '{process_id}'" + (f" version {version}" if version else "") + " is not deployed")
        return found

    # -- load / save ---------------------------------------------------------------------
    @staticmethod
    def _version_of(instance: Instance) -> ProcessVersion:
        """The instance's version, loaded without its ``files`` (a large JSON document that is
        only read when the spec cache misses, and then loaded on access)."""
        session = object_session(instance)
        if session is None or "process_version" in instance.__dict__ or instance.process_version_id is None:
            return instance.process_version
        version = session.identity_map.get(identity_key(ProcessVersion, instance.process_version_id))
        if version is None:  # (get() with options would query even when the version is in the session)
            version = session.get(ProcessVersion, instance.process_version_id, options=[defer(ProcessVersion.files)])
        set_committed_value(instance, "process_version", version)  # loaded, not a change
        return version

    # -- called processes follow their binding (engine/binding.py, issue 15 item 4) -------------
    def _loaded(self, instance: Instance) -> LoadedVersion:
        version, session = self._version_of(instance), object_session(instance)
        return self.specs.get(version, binding.overrides(session, instance, version) if session is not None else None)

    def load(self, instance: Instance) -> tuple[BpmnWorkflow, LoadedVersion]:
        loaded = self._loaded(instance)
        workflow = self._serializers[loaded.flavor].loads(
            instance.state, instance.serializer_version, loaded.spec, loaded.subprocess_specs)
        workflow.script_engine = self.script_engine  # never the library's unrestricted default
        return workflow, loaded

    def _advance(self, instance: Instance, workflow: BpmnWorkflow, step) -> None:
        """Run ``step`` then the engine; a process error becomes an incident on the instance.

        Every task that completes on the way may carry a ``summary`` property: its value
        (a dict) is merged into the instance's summary, the queryable face of the case.
        """
        summary = dict(instance.summary or {})
        completed = 0

        def did_complete(task) -> None:
            nonlocal completed
            completed += 1
            if completed > MAX_TASKS_PER_STEP or (completed % 50 == 0 and task.depth > MAX_PATH_DEPTH):
                raise WorkflowTaskException(
                    f"stopped after {completed:,} tasks in one step: a cycle without a user task, timer or "
                    f"message? (一次推进执行了 {completed:,} 个环节，流程中可能存在无等待的循环)", task=task)
            workflow.completed_in_step = task  # what a stall is reported after (engine/stall.py)
            props = task_properties(task.task_spec)
            expression = props.get(SUMMARY)
            if expression and task.has_state(TaskState.COMPLETED):
                value = self.script_engine.evaluate(task, expression)
                if isinstance(value, dict):
                    summary.update(json_safe(value))
            if props.get(notify_mod.NOTIFY) and task.has_state(TaskState.COMPLETED):  # see engine/notify.py
                value = self.script_engine.evaluate(task, props[notify_mod.NOTIFY])
                try:
                    notify_mod.requested(object_session(instance), instance, json_safe(value), self.clock.now(),
                                         source=task.task_spec.bpmn_name or task.task_spec.name)
                except notify_mod.NotifyRequestError as exc:
                    raise WorkflowTaskException(str(exc), task=task) from None

        try:
            manual = step()
            for task in manual or ():
                did_complete(task)
            workflow.do_engine_steps(did_complete_task=did_complete)
            # who is offered each ready task and by when: a failing property is an incident on
            # its task, like a failing script (the rows are written by _save from these offers)
            workflow.offers = {str(t.id): self._offer(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        except SpiffWorkflowException as exc:
            # the element: the failing task's, else the spec the library names (WorkflowException)
            spec = getattr(getattr(exc, "task", None), "task_spec", None) or getattr(exc, "task_spec", None)
            instance.status = "error"
            instance.error = {
                "element_id": getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
                "element_name": getattr(spec, "bpmn_name", None),
                "message": str(exc),
                "at": self.clock.now().isoformat(),
            }
        instance.summary = summary

    def _save(self, session: Session, instance: Instance, workflow: BpmnWorkflow, loaded: LoadedVersion,
              actor: str) -> None:
        now = self.clock.now()
        if instance.status not in ("error", "suspended", "terminated"):  # held by an incident or an admin
            if workflow.is_completed():
                instance.status = "completed"
                instance.ended_at = now
            elif stall.stalled(workflow):  # nothing ready, nothing awaited: never a silent hang
                instance.status = "error"
                instance.error = stall.stall_error(workflow, actor, now)  # (before compaction prunes)
            else:
                instance.status = "running"
        binding.record(instance, workflow, loaded.called_ids, self._version_of(instance))
        compact(workflow)
        instance.state = self._serializers[loaded.flavor].dumps(workflow)
        instance.serializer_version = SERIALIZER_VERSION
        instance.updated_at = now
        instance.next_timer_at = next_timer_due(workflow) if instance.status == "running" else None
        try:
            with session.no_autoflush:  # one flush below writes the instance and its tasks together
                self._sync_human_tasks(session, instance, workflow, loaded)
                stats_mod.project(session, instance, self.calendar, now, actor, workflow)  # case_record, rollups
            session.flush()
        except StaleDataError:
            raise Conflict("this case was changed by someone else at the same time; reload and try again") from None

    def _sync_human_tasks(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
                          loaded: LoadedVersion) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        if instance.status != "running":
            ready = {}
        existing, earlier = {}, {}
        if instance.id is not None:
            # one query: the rows ready in the database, and rows of tasks ready again (cancelled
            # by an incident, ready after a retry); the session is not flushed, so the state
            # that counts is the one in memory (a task completed in this step is not ready)
            for row in session.scalars(select(HumanTask).where(
                    HumanTask.instance_id == instance.id,
                    or_(HumanTask.state == "ready", HumanTask.task_guid.in_(list(ready))))):
                if row.state == "ready":
                    existing[row.task_guid] = row
                elif row.task_guid in ready:
                    earlier[row.task_guid] = row
        for guid, row in existing.items():
            if guid not in ready:
                row.state = "cancelled"
                self._drop_groups(session, row)
        for guid, task in ready.items():
            if guid in existing:
                continue
            if guid in earlier:
                row = earlier[guid]
                row.state, row.completed_at, row.completed_by = "ready", None, None
                row.groups = [HumanTaskGroup(group=g) for g in dict.fromkeys(row.candidate_groups or [])]
                continue
            props, groups, due = getattr(workflow, "offers", {}).get(guid) or self._offer(task)
            row = HumanTask(
                instance=instance, task_guid=guid, bpmn_id=task.task_spec.bpmn_id or task.task_spec.name,
                name=task.task_spec.bpmn_name or task.task_spec.name, process_id=task.workflow.spec.name,
                lane=task.task_spec.lane, candidate_groups=groups, form=props.get(forms_mod.FORM_KEY),
                ui_form=props.get(forms_mod.UI_KEY), state="ready", due_at=due,
                due_provisional=self.calendar.provisional(self.clock.now(), due),  # issue 13: 临时时限
                created_at=self.clock.now(),
            )
            row.groups = [HumanTaskGroup(group=g) for g in dict.fromkeys(groups)]
            session.add(row)
            notify_mod.task_created(session, row, self.clock.now())  # outbox rows, same transaction

    @staticmethod
    def _drop_groups(session: Session, row: HumanTask) -> None:
        """The task is no longer ready: its inbox rows go with one DELETE (no load of the collection)."""
        session.execute(delete(HumanTaskGroup).where(HumanTaskGroup.task_id == row.id),
                        execution_options={"synchronize_session": False})
        set_committed_value(row, "groups", [])

    def _offer(self, task) -> tuple[dict, list[str], Any]:
        """(properties, candidate groups, due time) of a ready user task; a failing property is
        a ``WorkflowTaskException`` on the task that names the property."""
        props = task_properties(task.task_spec)
        key = CANDIDATE_GROUPS
        try:
            groups = self._candidate_groups(task, props)
            key = DUE_DATE
            due = parse_due(self._property(task, props.get(DUE_DATE))) if props.get(DUE_DATE) else None
        except Exception as exc:  # noqa: BLE001 - a designer's expression: reported on its element
            raise WorkflowTaskException(f"property {key} '{props.get(key)}': {exc}", task=task) from None
        return props, groups, due

    def _property(self, task, expression: str | None) -> Any:
        if not expression:
            return None
        return self.script_engine.evaluate(task, expression)

    def _candidate_groups(self, task, props: dict) -> list[str]:
        value = self._property(task, props.get(CANDIDATE_GROUPS)) if props.get(CANDIDATE_GROUPS) else None
        if value is None:
            value = task.task_spec.lane
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]

    def audit(self, session: Session, actor: str, action: str, instance: Instance | None = None,
              task: HumanTask | None = None, data: Any = None) -> None:
        """One history row, written at once (nothing refers to it, so no unit-of-work object);
        pending changes are left to the caller's one flush."""
        with session.no_autoflush:
            session.execute(_INSERT_AUDIT, {
                "at": self.clock.now(), "actor": actor, "action": action,
                "instance_id": instance.id if instance else None,
                "task_bpmn_id": task.bpmn_id if task else None, "task_name": task.name if task else None,
                "data": json_safe(data) if data is not None else None})

    # -- operations ----------------------------------------------------------------------
    @_in_clock
    @timed_step("start")
    def start(self, session: Session, process_id: str, data: dict | None = None, *, version: int | None = None,
              actor: str = "system", business_key: str | None = None) -> Instance:
        pv = self.version(session, process_id, version)
        loaded = self.specs.get(pv, binding.overrides(session, None, pv))
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        now = self.clock.now()
        instance = Instance(process_version=pv, process_id=pv.process_id, business_key=business_key,
                            status="running", state="{}", serializer_version=SERIALIZER_VERSION,
                            started_by=actor, created_at=now, updated_at=now, summary={})
        session.add(instance)
        session.flush()

        def step():
            fire_start_timers(workflow)  # a timer start event is why the instance exists (engine/timerstart.py)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data or {})

        self._advance(instance, workflow, step)
        self._save(session, instance, workflow, loaded, actor)
        self.audit(session, actor, "start", instance, data=data)
        if instance.status == "error":
            self.audit(session, "system", "incident", instance, data=instance.error)
        return instance

    def get_instance(self, session: Session, instance_id: int) -> Instance:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"instance {instance_id} does not exist")
        return instance

    def get_task(self, session: Session, task_id: int) -> HumanTask:
        task = session.get(HumanTask, task_id, options=[joinedload(HumanTask.instance)])
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        return task

    def ready_tasks(self, session: Session, instance_id: int | None = None,
                    groups: Iterable[str] | None = None) -> list[HumanTask]:
        query = select(HumanTask).where(HumanTask.state == "ready")
        if instance_id is not None:
            query = query.where(HumanTask.instance_id == instance_id)
        if groups is not None:
            query = query.where(HumanTask.id.in_(
                select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(list(groups)))))
        return list(session.scalars(query.order_by(HumanTask.id)))

    def form_of(self, task: HumanTask) -> tuple[dict | None, dict | None]:
        """(JSON Schema, UI schema) of a task, from the version its instance runs on."""
        loaded = self._loaded(task.instance)
        return loaded.forms.get(task.form) if task.form else None, loaded.forms.get(task.ui_form) if task.ui_form else None

    def task_data(self, task: HumanTask) -> dict:
        """The data the task sees (for showing the case beside the form)."""
        workflow, _ = self.load(task.instance)
        spiff_task = workflow.get_task_from_id(UUID(task.task_guid))
        return dict(spiff_task.data) if spiff_task is not None else {}

    @_in_clock
    @timed_step("task")
    def complete_task(self, session: Session, task_id: int, data: dict | None, actor: str) -> Instance:
        row = self.get_task(session, task_id)
        if row.state != "ready":
            raise Conflict(f"task {task_id} is already {row.state}", state=row.state)
        instance = row.instance
        if instance.status != "running":
            raise Conflict(f"the instance is {instance.status}", state=instance.status)
        schema, _ = self.form_of(row)
        clean = forms_mod.validate(schema, data or {}) if schema is not None else dict(data or {})
        workflow, loaded = self.load(instance)
        task = workflow.get_task_from_id(UUID(row.task_guid))
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task {task_id} is no longer ready")

        def step():
            task.data.update(clean)
            task.run()
            return [task]

        with session.no_autoflush:  # the instance is written once, by _save
            self._advance(instance, workflow, step)
            row.state = "completed"
            row.completed_at = self.clock.now()
            row.completed_by = actor
            row.draft = None
            self._drop_groups(session, row)
        self.audit(session, actor, "complete", instance, row, clean)
        self._save(session, instance, workflow, loaded, actor)
        if instance.status == "error":
            self.audit(session, "system", "incident", instance, data=instance.error)
        return instance

    def save_draft(self, session: Session, task_id: int, data: dict, actor: str) -> HumanTask:
        row = self.get_task(session, task_id)
        if row.state != "ready":
            raise Conflict(f"task {task_id} is already {row.state}", state=row.state)
        row.draft = json_safe(data)
        session.flush()
        return row

    def _message_event(self, flavor: str, name: str, payload: Any, correlations: dict | None):
        if flavor == "camunda":
            from SpiffWorkflow.camunda.specs.event_definitions import (
                MessageEventDefinition,
            )
        else:
            from SpiffWorkflow.spiff.specs.event_definitions import (
                MessageEventDefinition,
            )
        return BpmnEvent(MessageEventDefinition(name), payload, correlations or {})

    @_in_clock
    @timed_step("message")
    def send_message(self, session: Session, instance_id: int, name: str, payload: Any = None,
                     correlations: dict | None = None, actor: str = "system") -> Instance:
        instance = self.get_instance(session, instance_id)
        if instance.status != "running":
            raise MessageNotAccepted(f"instance {instance_id} is {instance.status}; it accepts no messages")
        workflow, loaded = self.load(instance)
        waiting = waiting_message_names(workflow)
        if name not in waiting:
            raise MessageNotAccepted(f"instance {instance_id} is not waiting for message '{name}'",
                                     waiting=sorted(waiting))
        event = self._message_event(loaded.flavor, name, payload, correlations)

        def step():
            before = {t.id for t in workflow.get_tasks()}
            try:
                workflow.send_event(event)
                interrupt_for_event_subprocesses(workflow, before, instance.process_version)
            except NameError as exc:  # the library's answer to a payload without the correlation key
                raise MessageNotAccepted(f"message '{name}' lacks a correlation value: {exc}") from None
            except SpiffWorkflowException as exc:
                raise MessageNotAccepted(str(exc)) from None

        self._advance(instance, workflow, step)
        self.audit(session, actor, "message", instance, data={"message": name, "payload": payload})
        self._save(session, instance, workflow, loaded, actor)
        if instance.status == "error":
            self.audit(session, "system", "incident", instance, data=instance.error)
        return instance

    @_in_clock
    @timed_step("timer")
    def fire_timers(self, session: Session, instance: Instance, actor: str = "timer") -> Instance:
        """Fire whatever timers of the instance are due now and advance it."""
        workflow, loaded = self.load(instance)
        before = {str(t.id) for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)}
        self._advance(instance, workflow, workflow.refresh_timers)
        fired = fired_timers(workflow, before)
        self._save(session, instance, workflow, loaded, actor)
        if fired:
            self.audit(session, actor, "timer", instance, data={"fired": fired})
        if instance.status == "error":
            self.audit(session, "system", "incident", instance, data=instance.error)
        return instance

    @_in_clock
    def retry(self, session: Session, instance_id: int, actor: str) -> Instance:
        """Retry an instance in error: the failed tasks run again (after data or version fixes)."""
        instance = self.get_instance(session, instance_id)
        if instance.status != "error":
            raise InvalidRequest(f"instance {instance_id} is {instance.status}, not in error")
        workflow, loaded = self.load(instance)
        instance.status = "running"
        instance.error = None

        def step():
            rerun = []
            stall.remerge_lost_children(workflow)  # a stalled case: children its parent never got
            for task in workflow.get_tasks(state=TaskState.ERROR):
                task._set_state(TaskState.READY)
                if task.task_spec.manual:  # a user task whose post-script failed: it was completed
                    task.run()
                    rerun.append(task)
            return rerun

        self._advance(instance, workflow, step)
        self.audit(session, actor, "retry", instance)
        self._save(session, instance, workflow, loaded, actor)
        if instance.status == "error":
            self.audit(session, "system", "incident", instance, data=instance.error)
        return instance

    def history(self, session: Session, instance_id: int) -> list[AuditEntry]:
        return list(session.scalars(
            select(AuditEntry).where(AuditEntry.instance_id == instance_id).order_by(AuditEntry.id)))

    def workflow_data(self, instance: Instance) -> dict:
        workflow, _ = self.load(instance)
        return dict(workflow.data) | dict(workflow.last_task.data if workflow.last_task else {})

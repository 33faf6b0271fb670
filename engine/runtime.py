"""The engine façade: deploy, start instances, complete tasks, deliver messages, fire timers.

Every operation is one ``Step`` (engine/step.py: load → change → advance → audit → save →
listeners); other modules that change a case (incidents, 撤回, version migration) take a
step the same way, through ``Engine.step``. Every function takes a SQLAlchemy ``Session``
and flushes at most; the caller (web request, worker loop, CLI command) commits once or
rolls back. A workflow is always loaded with the sandboxed script engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, defer, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.util import identity_key

from . import binding, scenarios, stall, workdays
from . import clock as clock_mod
from . import forms as forms_mod
from . import step as step_mod
from .deploy import DeployResult
from .deploy import deploy as deploy_files
from .domain import DOMAIN_LISTENERS
from .errors import Conflict, InvalidRequest, MessageNotAccepted, NotFound
from .events import fired_timers, interrupt_for_event_subprocesses, waiting_message_names
from .models import AuditEntry, HumanTask, HumanTaskGroup, Instance, ProcessVersion
from .sandbox import DEFAULT_TIME_LIMIT, HelperSource, SandboxedScriptEngine
from .serializer import SERIALIZER_VERSION, StateSerializer
from .speccache import LoadedVersion, SpecCache
from .step import Offer, Step, StepListener
from .telemetry import timed_step
from .timerstart import fire_start_timers
from .values import json_safe

clock_mod.install_into_spiffworkflow()
_INSERT_AUDIT = insert(AuditEntry)  # one statement, compiled once
_F = TypeVar("_F", bound=Callable[..., Any])


def _in_clock(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(self: Engine, *args: Any, **kwargs: Any) -> Any:
        with clock_mod.using(self.clock):
            try:
                return method(self, *args, **kwargs)
            except StaleDataError:  # an autoflush met the optimistic lock (lock_version)
                raise Conflict("this case was changed by someone else at the same time; reload and try again") from None

    return wrapper  # type: ignore[return-value]


class Engine:
    """Deploy processes and run their cases; every change to a case is a ``Step``.

    ``listeners`` are told of every saved step (``StepSaved``, engine/step.py); by default the
    直通车 domain's (engine/domain.py): statistics, bulletins and task notifications. A bare
    BPMN engine is ``Engine(listeners=())``.
    """

    def __init__(
        self,
        *,
        clock: clock_mod.Clock | None = None,
        calendar: workdays.WorkCalendar | None = None,
        time_limit_s: float = DEFAULT_TIME_LIMIT,
        listeners: Sequence[StepListener] | None = None,
    ) -> None:
        self.clock = clock or clock_mod.SystemClock()
        self.calendar = calendar or workdays.WorkCalendar()
        self.specs = SpecCache()
        helpers = HelperSource(workdays.helpers, self.calendar, lambda: self.clock.now())  # rebuilt in script processes
        self.script_engine = SandboxedScriptEngine(helpers=helpers, time_limit_s=time_limit_s)
        self._serializers = {"spiff": StateSerializer("spiff"), "camunda": StateSerializer("camunda")}
        self.listeners: tuple[StepListener, ...] = tuple(DOMAIN_LISTENERS if listeners is None else listeners)

    # -- deploy --------------------------------------------------------------------------
    def deploy(
        self,
        session: Session,
        files: dict[str, bytes],
        deployed_by: str = "system",
        source: str = "",
        origin: str = "files",
        base_versions: dict[str, int] | None = None,
        force: bool = False,
        scenario_dir: str | Path | None = None,
    ) -> DeployResult:
        """Store changed processes as new versions (engine/deploy.py); with ``scenario_dir``, its
        ``*.scenarios.json`` about those processes must pass first, each step on a new engine."""
        check = None
        if scenario_dir is not None:
            check = functools.partial(scenarios.deploy_problems, type(self), scenario_dir, self.calendar)
        with clock_mod.using(self.clock):
            return deploy_files(session, files, deployed_by, source, origin, base_versions, force, check=check)

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
    def version_of(instance: Instance) -> ProcessVersion:
        """The instance's version, loaded without its ``files`` (a large JSON document that is
        only read when the spec cache misses, and then loaded on access)."""
        session = object_session(instance)
        if session is None or "process_version" in instance.__dict__ or instance.process_version_id is None:
            return instance.process_version
        version = session.identity_map.get(identity_key(ProcessVersion, instance.process_version_id))
        if version is None:  # (get() with options would query even when the version is in the session)
            version = session.get(ProcessVersion, instance.process_version_id, options=[defer(ProcessVersion.files)])
        assert version is not None  # (a foreign key)
        set_committed_value(instance, "process_version", version)  # loaded, not a change
        return version

    # -- called processes follow their binding (engine/binding.py, issue 15 item 4) -------------
    def _loaded(self, instance: Instance) -> LoadedVersion:
        version, session = self.version_of(instance), object_session(instance)
        return binding.load(self.specs, session, instance, version) if session is not None else self.specs.get(version)

    def load(self, instance: Instance) -> tuple[BpmnWorkflow, LoadedVersion]:
        loaded = self._loaded(instance)
        workflow = self._serializers[loaded.flavor].loads(
            instance.state, instance.serializer_version, loaded.spec, loaded.subprocess_specs
        )
        workflow.script_engine = self.script_engine  # never the library's unrestricted default
        return workflow, loaded

    def serializer(self, flavor: str) -> StateSerializer:
        return self._serializers[flavor]

    # -- the step: every change to a case (engine/step.py) --------------------------------
    def step(self, session: Session, instance: Instance, actor: str) -> Step:
        """Load the instance's workflow for one unit of work: ``advance``, ``audit``, ``save``."""
        workflow, loaded = self.load(instance)
        return Step(self, session, instance, workflow, loaded, actor)

    def offer(self, task: SpiffTask) -> Offer:
        """Who a ready user task is offered to and by when (a failing property raises on the task)."""
        return step_mod.offer(self, task)

    def audit(
        self,
        session: Session,
        actor: str,
        action: str,
        instance: Instance | None = None,
        task: HumanTask | None = None,
        data: Any = None,
    ) -> None:
        """One history row, written at once (nothing refers to it, so no unit-of-work object);
        pending changes are left to the caller's one flush."""
        with session.no_autoflush:
            session.execute(
                _INSERT_AUDIT,
                {
                    "at": self.clock.now(),
                    "actor": actor,
                    "action": action,
                    "instance_id": instance.id if instance else None,
                    "task_bpmn_id": task.bpmn_id if task else None,
                    "task_name": task.name if task else None,
                    "data": json_safe(data) if data is not None else None,
                },
            )

    # -- operations ----------------------------------------------------------------------
    @_in_clock
    @timed_step("start")
    def start(
        self,
        session: Session,
        process_id: str,
        data: dict | None = None,
        *,
        version: int | None = None,
        actor: str = "system",
        business_key: str | None = None,
    ) -> Instance:
        pv = self.version(session, process_id, version)
        loaded = binding.load(self.specs, session, None, pv)
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        now = self.clock.now()
        instance = Instance(
            process_version=pv,
            process_id=pv.process_id,
            business_key=business_key,
            status="running",
            state="{}",
            serializer_version=SERIALIZER_VERSION,
            started_by=actor,
            created_at=now,
            updated_at=now,
            summary={},
        )
        session.add(instance)
        session.flush()

        def change() -> None:
            fire_start_timers(workflow)  # a timer start event is why the instance exists (engine/timerstart.py)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data or {})

        step = Step(self, session, instance, workflow, loaded, actor)
        step.advance(change)
        step.audit("start", data=data)
        return step.save()

    def get_instance(self, session: Session, instance_id: int) -> Instance:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"instance {instance_id} does not exist")
        return instance

    def get_task(self, session: Session, task_id: int) -> HumanTask:
        # one query: the task, its case and the case's version (without its files)
        task = session.get(
            HumanTask,
            task_id,
            options=[joinedload(HumanTask.instance).joinedload(Instance.process_version).defer(ProcessVersion.files)],
        )
        if task is None:
            raise NotFound(f"task {task_id} does not exist")
        return task

    def ready_tasks(
        self, session: Session, instance_id: int | None = None, groups: Iterable[str] | None = None
    ) -> list[HumanTask]:
        query = select(HumanTask).where(HumanTask.state == "ready")
        if instance_id is not None:
            query = query.where(HumanTask.instance_id == instance_id)
        if groups is not None:
            query = query.where(
                HumanTask.id.in_(select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(list(groups))))
            )
        return list(session.scalars(query.order_by(HumanTask.id)))

    def form_of(self, task: HumanTask) -> tuple[dict | None, dict | None]:
        """(JSON Schema, UI schema) of a task, from the version its instance runs on."""
        loaded = self._loaded(task.instance)
        return loaded.forms.get(task.form) if task.form else None, loaded.forms.get(
            task.ui_form
        ) if task.ui_form else None

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
        step = self.step(session, instance, actor)  # its loaded version gives the form (one binding lookup)
        schema = step.loaded.forms.get(row.form) if row.form else None
        clean = forms_mod.validate(schema, data or {}) if schema is not None else dict(data or {})
        task = step.workflow.get_task_from_id(UUID(row.task_guid))
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task {task_id} is no longer ready")
        step.rows_in_line(settled={row.task_guid})  # a running case's rows follow its state: save reads none

        def change() -> list[SpiffTask]:
            task.data.update(clean)
            task.run()
            return [task]

        with session.no_autoflush:  # the instance is written once, by save
            step.advance(change)
            row.state = "completed"
            row.completed_at = self.clock.now()
            row.completed_by = actor
            row.draft = None  # (its inbox rows are pruned by the worker: step.prune_group_rows)
        step.audit("complete", row, clean)
        return step.save()

    def save_draft(self, session: Session, task_id: int, data: dict, actor: str) -> HumanTask:
        row = self.get_task(session, task_id)
        if row.state != "ready":
            raise Conflict(f"task {task_id} is already {row.state}", state=row.state)
        row.draft = json_safe(data)
        session.flush()
        return row

    def _message_event(self, flavor: str, name: str, payload: Any, correlations: dict | None) -> BpmnEvent:
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
    def send_message(
        self,
        session: Session,
        instance_id: int,
        name: str,
        payload: Any = None,
        correlations: dict | None = None,
        actor: str = "system",
    ) -> Instance:
        instance = self.get_instance(session, instance_id)
        if instance.status != "running":
            raise MessageNotAccepted(f"instance {instance_id} is {instance.status}; it accepts no messages")
        step = self.step(session, instance, actor)
        workflow, loaded = step.workflow, step.loaded
        waiting = waiting_message_names(workflow)
        if name not in waiting:
            raise MessageNotAccepted(
                f"instance {instance_id} is not waiting for message '{name}'", waiting=sorted(waiting)
            )
        event = self._message_event(loaded.flavor, name, payload, correlations)

        def change() -> None:
            before = {t.id for t in workflow.get_tasks()}
            try:
                workflow.send_event(event)
                interrupt_for_event_subprocesses(workflow, before, instance.process_version)
            except NameError as exc:  # the library's answer to a payload without the correlation key
                raise MessageNotAccepted(f"message '{name}' lacks a correlation value: {exc}") from None
            except SpiffWorkflowException as exc:
                raise MessageNotAccepted(str(exc)) from None

        step.advance(change)
        step.audit("message", data={"message": name, "payload": payload})
        return step.save()

    @_in_clock
    @timed_step("timer")
    def fire_timers(self, session: Session, instance: Instance, actor: str = "timer") -> Instance:
        """Fire whatever timers of the instance are due now and advance it."""
        step = self.step(session, instance, actor)
        before = {str(t.id) for t in step.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)}
        step.advance(step.workflow.refresh_timers)
        fired = fired_timers(step.workflow, before)
        step.save()
        if fired:  # (after the incident an overrunning timer script caused, as it always was)
            step.audit("timer", data={"fired": fired})
        return instance

    @_in_clock
    def retry(self, session: Session, instance_id: int, actor: str) -> Instance:
        """Retry an instance in error: the failed tasks run again (after data or version fixes)."""
        instance = self.get_instance(session, instance_id)
        if instance.status != "error":
            raise InvalidRequest(f"instance {instance_id} is {instance.status}, not in error")
        step = self.step(session, instance, actor)
        workflow = step.workflow
        instance.status = "running"
        instance.error = None

        def change() -> list[SpiffTask]:
            rerun = []
            stall.remerge_lost_children(workflow)  # a stalled case: children its parent never got
            for task in workflow.get_tasks(state=TaskState.ERROR):
                task._set_state(TaskState.READY)
                if task.task_spec.manual:  # a user task whose post-script failed: it was completed
                    task.run()
                    rerun.append(task)
            return rerun

        step.advance(change)
        step.audit("retry")
        return step.save()

    def history(self, session: Session, instance_id: int) -> list[AuditEntry]:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.instance_id == instance_id).order_by(AuditEntry.id))
        )

    def workflow_data(self, instance: Instance) -> dict:
        workflow, _ = self.load(instance)
        return dict(workflow.data) | dict(workflow.last_task.data if workflow.last_task else {})

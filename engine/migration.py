"""Moving running instances to another version of their process.

``preview_migration`` / ``migrate`` move running instances with SpiffWorkflow's
``diff_workflow`` + ``migrate_workflow``. An instance stays on its version unless migrated.
A migration is refused, with the reason, when the library cannot do it safely: a task of the
instance (ready, waiting or already done) belongs to an activity the new version removed and
the designer did not map it to an activity of the new version (``mapping``,
engine/migrationmap.py), or a running subprocess's process no longer exists. Ready and waiting
tasks are re-predicted on the new version; a waiting timer whose activity did not change keeps
its due time. A task moved by the mapping is a task of its new activity: its human-task row
takes the new name, form, candidate groups and deadline; its draft goes when the form is
another one, its assignee when the groups are others. The human-task rows and
``next_timer_at`` are rewritten in the same transaction (``Step.save``, engine/step.py), and
every migration writes an audit entry (with the mapping it used). Functions flush at most;
the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import forms as forms_mod
from . import notify as notify_mod
from .errors import InvalidRequest
from .migrationmap import Applied, apply_mapping, check_mapping, movable, targets
from .models import HumanTask, HumanTaskGroup, Instance, ProcessVersion
from .properties import DUE_DATE
from .speccache import LoadedVersion
from .step import Step
from .versions import is_activity, registry

if TYPE_CHECKING:
    from .runtime import Engine


@dataclass
class TaskFate:
    """What a migration does to one task of the instance."""

    element_id: str
    name: str | None
    state: str  # READY, WAITING, COMPLETED …
    fate: str  # kept | changed | mapped | removed (refuses the migration)
    mapped_to: str | None = None  # the new activity's id (fate "mapped")
    mapped_name: str | None = None  # … and its name
    process_id: str | None = None  # the process (or subprocess) spec the task runs in


@dataclass
class MigrationPreview:
    instance_id: int
    business_key: str | None
    status: str
    from_version: int
    to_version: int
    can_migrate: bool
    reason: str | None = None
    tasks: list[TaskFate] = field(default_factory=list)
    migrated: bool = False
    # removed tasks this instance needs that a mapping could move: {"process_id", "element_id", "name"}
    needs_mapping: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        key = f" {self.business_key}" if self.business_key else ""
        head = f"instance {self.instance_id}{key}: v{self.from_version} -> v{self.to_version}"
        if not self.can_migrate:
            return f"refused {head}: {self.reason}"
        moved = [t for t in self.tasks if t.fate == "changed" and t.state in ("READY", "WAITING")]
        detail = "; changed open tasks: " + ", ".join(t.element_id for t in moved) if moved else ""
        mapped = [t for t in self.tasks if t.fate == "mapped"]
        if mapped:
            detail += "; " + ", ".join(f"{t.element_id} mapped → {t.mapped_to} ({t.mapped_name or ''})" for t in mapped)
        return f"{'migrated' if self.migrated else 'can move'} {head}{detail}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Plan:
    preview: MigrationPreview
    workflow: BpmnWorkflow
    new: LoadedVersion
    top_diff: Any
    sub_diffs: dict[Any, Any]
    applied: list[Applied]
    used: dict[str, str]  # the mapping entries this instance used (for its audit)


def _instances(
    session: Session, process_id: str, target: ProcessVersion, instance_ids: Iterable[int] | None
) -> list[Instance]:
    query = select(Instance).where(
        Instance.process_id == process_id,
        Instance.status.in_(["running", "error"]),
        Instance.process_version_id != target.id,
    )
    if instance_ids is not None:
        ids = list(instance_ids)
        found = list(session.scalars(select(Instance).where(Instance.id.in_(ids))))
        known = {i.id for i in found}
        missing = [i for i in ids if i not in known]
        if missing:
            raise InvalidRequest(f"instance(s) {', '.join(map(str, missing))} do not exist")
        for instance in found:
            if instance.process_id != process_id:
                raise InvalidRequest(f"instance {instance.id} runs process '{instance.process_id}', not '{process_id}'")
            if instance.status not in ("running", "error"):
                raise InvalidRequest(f"instance {instance.id} is {instance.status}; only running instances move")
            if instance.process_version_id == target.id:
                raise InvalidRequest(f"instance {instance.id} already runs version {target.version}")
        query = query.where(Instance.id.in_(ids))
    return list(session.scalars(query.order_by(Instance.id)))


def _checked(
    engine: Engine, instances: list[Instance], target: ProcessVersion, mapping: Mapping[str, str] | None
) -> dict[str, dict[str, str]]:
    """The mapping per process spec, checked against the instances' versions (InvalidRequest)."""
    if not mapping or not instances:
        return {}
    sources = {i.process_version_id: i for i in instances}
    loaded = [engine.specs.get(engine.version_of(i)) for i in sources.values()]
    return check_mapping(mapping, loaded, engine.specs.get(target), target.version)


def _plan(engine: Engine, instance: Instance, target: ProcessVersion, moves: dict[str, dict[str, str]]) -> _Plan:
    workflow, _ = engine.load(instance)
    new = engine.specs.get(target)
    top_diff, sub_diffs = diff_workflow(registry(new.flavor), workflow, new.spec, new.subprocess_specs)
    preview = MigrationPreview(
        instance.id, instance.business_key, instance.status, instance.process_version.version, target.version, True
    )
    plan = _Plan(preview, workflow, new, top_diff, sub_diffs, [], {})
    reasons: list[str] = []
    parts: list[str] = []  # the library's parts of removed activities (said only when nothing else is)
    pairs = [(top_diff, workflow)] + [(d, workflow.subprocesses[sp_id]) for sp_id, d in sub_diffs.items()]
    for sp_id, d in sub_diffs.items():
        if d is None:
            name = workflow.subprocesses[sp_id].spec.name
            reasons.append(f"its running subprocess '{name}' does not exist in version {target.version}")
    for diff, wf in pairs:
        if diff is None:
            continue
        process = wf.spec.name
        new_spec = new.spec if wf is workflow else new.subprocess_specs[process]
        applied = apply_mapping(diff, new_spec, moves.get(process, {}))
        plan.applied.append(applied)
        changed = {t.id for t in diff.changed}
        removed = {t.id for t in diff.removed}
        for task in wf.get_tasks(skip_subprocesses=True):
            spec = task.task_spec
            to = applied.mapped.get(task.id)
            if to is None and (task.id in applied.dropped or _replanned(task)):  # re-planned by the migration
                continue
            state = TaskState.get_name(task.state)
            if not is_activity(spec):
                if task.id in removed:  # the library's part of a removed activity (a boundary split, a join)
                    parts.append(f"task {spec.name} ({state}) is not in version {target.version}")
                continue
            fate = "mapped" if to else "removed" if task.id in removed else "changed" if task.id in changed else "kept"
            name = getattr(spec, "bpmn_name", None)
            fate_of = TaskFate(spec.bpmn_id, name, state, fate, to and to.bpmn_id, to and to.bpmn_name, process)
            preview.tasks.append(fate_of)
            if to is not None:
                plan.used[spec.bpmn_id if wf is workflow else f"{process}/{spec.bpmn_id}"] = to.bpmn_id
            elif fate == "removed":
                reason = f"task {spec.bpmn_id} ({state}) is not in version {target.version}"
                if movable(task):
                    reason += f"; map it to an activity of version {target.version}"
                    need = {"process_id": process, "element_id": spec.bpmn_id, "name": name}
                    if need not in preview.needs_mapping:
                        preview.needs_mapping.append(need)
                reasons.append(reason)
    reasons = reasons or parts
    if reasons:
        preview.can_migrate = False
        preview.reason = "; ".join(dict.fromkeys(reasons))
    return plan


def _replanned(task: SpiffTask) -> bool:
    """Predicted tasks under a READY/WAITING task are dropped and predicted again by migrate_workflow."""
    if not task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
        return False
    parent = task.parent
    while parent is not None:
        if parent.has_state(TaskState.READY | TaskState.WAITING):
            return True
        parent = parent.parent
    return False


def preview_migration(
    session: Session,
    engine: Engine,
    process_id: str,
    to_version: int | None = None,
    instance_ids: Iterable[int] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> list[MigrationPreview]:
    """Which running instances can move to ``to_version`` (default: the latest), and what
    happens to their tasks, with removed activities moved by ``mapping`` ({old id: new id}).
    Changes nothing; a wrong mapping is an ``InvalidRequest``."""
    target = engine.version(session, process_id, to_version)
    with clock_mod.using(engine.clock):
        instances = _instances(session, process_id, target, instance_ids)
        moves = _checked(engine, instances, target, mapping)
        return [_plan(engine, i, target, moves).preview for i in instances]


def mapping_rows(
    session: Session,
    engine: Engine,
    process_id: str,
    to_version: int | None,
    previews: list[MigrationPreview],
    mapping: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The removed activities the listed instances need (refused for want of a mapping, or
    moved by ``mapping``), each with the activities of the same process in the target version
    it may be mapped to: {"key", "process_id", "element_id", "name", "choices": [(id, name)],
    "chosen"}. ``key`` is what a mapping names it by (``PROCESS/ID`` in a subprocess)."""
    needed: dict[tuple[str, str], str | None] = {}
    for preview in previews:
        for need in preview.needs_mapping:
            needed.setdefault((need["process_id"], need["element_id"]), need["name"])
        for fate in preview.tasks:
            if fate.fate == "mapped" and fate.process_id:
                needed.setdefault((fate.process_id, fate.element_id), fate.name)
    if not needed:
        return []
    loaded = engine.specs.get(engine.version(session, process_id, to_version))
    specs = {s.name: s for s in [loaded.spec, *loaded.subprocess_specs.values()] if s is not None}
    rows = []
    for (process, element_id), name in sorted(needed.items(), key=lambda k: (k[0][0] != process_id, k[0])):
        key = element_id if process == process_id else f"{process}/{element_id}"
        choices = targets(specs[process]) if process in specs else []
        chosen = (mapping or {}).get(key)
        rows.append(
            {
                "key": key,
                "process_id": process,
                "element_id": element_id,
                "name": name,
                "choices": choices,
                "chosen": chosen,
            }
        )
    return rows


def migrate(
    session: Session,
    engine: Engine,
    process_id: str,
    to_version: int | None = None,
    instance_ids: Iterable[int] | None = None,
    actor: str = "system",
    dry_run: bool = False,
    mapping: Mapping[str, str] | None = None,
) -> list[MigrationPreview]:
    """Move instances (the given ones, or all running ones) to ``to_version``, removed activities
    by ``mapping``. Instances the library cannot migrate are left alone and reported with their
    reason; a wrong mapping is an ``InvalidRequest`` before anything moves (flush only)."""
    target = engine.version(session, process_id, to_version)
    results: list[MigrationPreview] = []
    with clock_mod.using(engine.clock):
        instances = _instances(session, process_id, target, instance_ids)
        moves = _checked(engine, instances, target, mapping)
        for instance in instances:
            plan = _plan(engine, instance, target, moves)
            results.append(plan.preview)
            if dry_run or not plan.preview.can_migrate:
                continue
            _migrate_one(session, engine, instance, target, plan, actor)
            plan.preview.migrated = True
    return results


def _migrate_one(
    session: Session, engine: Engine, instance: Instance, target: ProcessVersion, plan: _Plan, actor: str
) -> None:
    workflow, new, top_diff, sub_diffs = plan.workflow, plan.new, plan.top_diff, plan.sub_diffs
    from_version = instance.process_version.version
    changed_ids = {t.id for d in [top_diff, *sub_diffs.values()] for t in d.changed}
    mapped_ids = {task_id for a in plan.applied for task_id in a.mapped}
    dropped = {task_id for a in plan.applied for task_id in a.dropped}
    # a waiting timer whose activity is unchanged keeps its due time (reset would restart it)
    keep_due = {
        t.id: dict(t.internal_data)
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if t.id not in changed_ids | mapped_ids | dropped and "event_value" in t.internal_data
    }
    migrate_workflow(top_diff, workflow, new.spec)
    for sp_id, diff in sub_diffs.items():
        subworkflow = workflow.subprocesses[sp_id]
        migrate_workflow(diff, subworkflow, new.subprocess_specs[subworkflow.spec.name])
    for applied in plan.applied:  # a mapped activity's entry starts again (engine/migrationmap.py)
        for entry in applied.resets:
            for below in list(entry)[1:]:  # its old boundary events wait no more
                workflow.event_manager.remove_task(below)
            entry.reset_branch(None)
    workflow.subprocess_specs = new.subprocess_specs
    for task_id, internal in keep_due.items():
        task = workflow.get_task_from_id(task_id)
        if task is not None and task.state == TaskState.WAITING:
            task.internal_data.update(internal)
    instance.process_version = target
    instance.process_version_id = target.id
    step = Step(engine, session, instance, workflow, new, actor)
    step.advance()
    _refresh_rows(session, engine, instance, workflow, changed_ids, mapped_ids)
    step.save()
    data: dict[str, Any] = {
        "from_version": from_version,
        "to_version": target.version,
        "changed_tasks": sorted({t.element_id for t in plan.preview.tasks if t.fate == "changed"}),
    }
    if plan.used:
        data["mapping"] = dict(sorted(plan.used.items()))
    step.audit("migrate", data=data)


def _refresh_rows(
    session: Session,
    engine: Engine,
    instance: Instance,
    workflow: BpmnWorkflow,
    changed_ids: set[Any],
    mapped_ids: set[Any],
) -> None:
    """A ready task whose activity changed keeps its row (draft, assignee) but takes the new
    version's name, form, candidate groups and deadline. A task mapped to another activity
    is that activity's task: its draft goes when the form is another (its fields were typed
    into the old form), its assignee when the candidate groups are others."""
    rows = {
        row.task_guid: row
        for row in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
        )
    }
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        row = rows.get(str(task.id))
        if row is None or task.id not in changed_ids | mapped_ids:
            continue
        props, groups, due = engine.offer(task)
        handed_over = task.id in mapped_ids and list(row.candidate_groups or []) != groups
        if task.id in mapped_ids:
            if row.form != props.get(forms_mod.FORM_KEY):
                row.draft = None
            if handed_over:
                row.assignee, row.delegated_from = None, None
            row.due_at = due
            row.due_provisional = engine.calendar.provisional(engine.clock.now(), due)
        row.name = task.task_spec.bpmn_name or task.task_spec.name
        row.bpmn_id = task.task_spec.bpmn_id or task.task_spec.name
        row.lane = task.task_spec.lane
        row.form = props.get(forms_mod.FORM_KEY)
        row.ui_form = props.get(forms_mod.UI_KEY)
        row.candidate_groups = groups
        if props.get(DUE_DATE):
            row.due_at = due
        row.groups.clear()
        session.flush()
        row.groups = [HumanTaskGroup(group=g) for g in dict.fromkeys(groups)]
        if handed_over:  # the new groups are told, as of a new task (the row stays the same)
            notify_mod.task_created(session, row, engine.clock.now())

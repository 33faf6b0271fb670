"""Versions of a process: what changed between two, and moving running instances to another.

``diff_versions`` compares two deployed versions activity by activity (SpiffWorkflow's
``SpecDiff``: aligned by BPMN id, then by position in the flow) and returns plain data the
web can list and mark on a diagram by element id.

``preview_migration`` / ``migrate`` move running instances with SpiffWorkflow's
``diff_workflow`` + ``migrate_workflow``. An instance stays on its version unless migrated.
A migration is refused, with the reason, when the library cannot do it safely: a task of the
instance (ready, waiting or already done) belongs to an activity the new version removed, or
a running subprocess's process no longer exists. Ready and waiting tasks are re-predicted on
the new version; a waiting timer whose activity did not change keeps its due time. The
human-task rows and ``next_timer_at`` are rewritten in the same transaction (``Step.save``, engine/step.py),
and every migration writes an audit entry. Functions flush at most; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import (
    SpecDiff,
    diff_dependencies,
    diff_workflow,
    migrate_workflow,
)
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import forms as forms_mod
from .deploy import bundle_json
from .errors import InvalidRequest
from .models import HumanTask, HumanTaskGroup, Instance, ProcessVersion
from .properties import DUE_DATE
from .speccache import LoadedVersion
from .step import Step
from .valuediff import FileChange, element_details, file_changes

if TYPE_CHECKING:
    from .runtime import Engine

# attributes of a serialized task spec that say nothing a designer changed
_NOISE = {"name", "description", "manual", "lookahead", "position"}
_REGISTRIES: dict[str, Any] = {}


def _registry(flavor: str) -> Any:
    if flavor not in _REGISTRIES:
        _REGISTRIES[flavor] = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG if flavor == "camunda" else SPIFF_CONFIG)
    return _REGISTRIES[flavor]


def _is_activity(spec: Any) -> bool:
    """A BPMN element a designer drew (not the library's internal Start/End/join specs)."""
    return bool(getattr(spec, "bpmn_id", None))


@dataclass
class ActivityChange:
    element_id: str  # BPMN id: mark it on the diagram
    name: str | None  # the label
    kind: str  # UserTask, ExclusiveGateway, …
    process_id: str  # the process (or called / embedded subprocess) it belongs to
    change: str  # added | removed | changed
    attributes: list[str] = field(default_factory=list)  # what changed (for "changed")
    details: list[dict[str, Any]] = field(default_factory=list)  # {"what", "old", "new"} (engine/valuediff.py)

    def line(self) -> str:
        label = f" {self.name}" if self.name else ""
        what = f" ({', '.join(self.attributes)})" if self.attributes else ""
        values = "".join(f"\n          {d['what']}: {d['old']!r} -> {d['new']!r}" for d in self.details)
        return f"{self.change:<8}{self.process_id}/{self.element_id} [{self.kind}]{label}{what}{values}"


@dataclass
class VersionDiff:
    process_id: str
    v_from: int
    v_to: int
    added: list[ActivityChange] = field(default_factory=list)
    removed: list[ActivityChange] = field(default_factory=list)
    changed: list[ActivityChange] = field(default_factory=list)
    processes_added: list[str] = field(default_factory=list)
    processes_removed: list[str] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)  # forms, DMN tables … (old → new values)

    @property
    def is_empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.processes_added or self.processes_removed or self.files
        )

    @property
    def changes(self) -> list[ActivityChange]:
        return self.added + self.removed + self.changed

    def lines(self) -> list[str]:
        out = [f"added   process {p}" for p in self.processes_added]
        out += [f"removed process {p}" for p in self.processes_removed]
        return out + [c.line() for c in self.changes] + [line for f in self.files for line in f.lines()]

    def as_dict(self) -> dict:
        return asdict(self)


# the serialized attribute names, in the words of the modeler
_LABELS = {
    "bpmn_name": "name",
    "inputs": "incoming flows",
    "outputs": "outgoing flows",
    "extensions": "properties",
    "cond_task_specs": "conditions",
    "default_task_spec": "default flow",
    "lane": "lane",
    "event_definition": "event",
    "script": "script",
    "prescript": "pre-script",
    "postscript": "post-script",
    "typename": "element type",
    "documentation": "documentation",
    "data_input_associations": "data inputs",
    "data_output_associations": "data outputs",
    "io_specification": "inputs/outputs",
    "spec": "called process",
    "cancel_activity": "interrupting",
    "decision_table": "decision table",
}


def _change(
    spec: Any, process_id: str, change: str, attributes: Iterable[str] = (), new_spec: Any = None
) -> ActivityChange:
    label = getattr(new_spec or spec, "bpmn_name", None) or getattr(spec, "bpmn_name", None)
    attributes = list(attributes)
    return ActivityChange(
        spec.bpmn_id,
        label,
        (new_spec or spec).__class__.__name__,
        process_id,
        change,
        sorted({_LABELS.get(a, a) for a in attributes if a not in _NOISE}),
        element_details(spec, new_spec, attributes) if change == "changed" else [],
    )


def _add_spec_diff(result: VersionDiff, process_id: str, diff: SpecDiff) -> None:
    result.added += [_change(s, process_id, "added") for s in diff.added if _is_activity(s)]
    result.removed += [_change(s, process_id, "removed") for s in diff.removed if _is_activity(s)]
    for spec, attributes in diff.changed.items():
        if not _is_activity(spec):
            continue
        change = _change(spec, process_id, "changed", attributes, diff.alignment.get(spec))
        if change.attributes:
            result.changed.append(change)


def diff_versions(session: Session, engine: Engine, process_id: str, v_from: int, v_to: int) -> VersionDiff:
    """Activities added, removed and changed from version ``v_from`` to ``v_to`` of a process."""
    old = engine.specs.get(engine.version(session, process_id, v_from))
    new = engine.specs.get(engine.version(session, process_id, v_to))
    registry = _registry(new.flavor)
    result = VersionDiff(process_id, v_from, v_to)
    _add_spec_diff(result, process_id, SpecDiff(registry, old.spec, new.spec))
    sub_diffs, added = diff_dependencies(registry, old.subprocess_specs, new.subprocess_specs)
    for name, sub_diff in sorted(sub_diffs.items()):
        if sub_diff is None:
            result.processes_removed.append(name)
        else:
            _add_spec_diff(result, name, sub_diff)
    result.processes_added = sorted(added)
    result.files = file_changes(
        bundle_json(engine.version(session, process_id, v_from)), bundle_json(engine.version(session, process_id, v_to))
    )
    for group in (result.added, result.removed, result.changed):
        group.sort(key=lambda c: (c.process_id != process_id, c.process_id, c.element_id))
    return result


# -- migration ------------------------------------------------------------------------------


@dataclass
class TaskFate:
    """What a migration does to one task of the instance."""

    element_id: str
    name: str | None
    state: str  # READY, WAITING, COMPLETED …
    fate: str  # kept | changed | removed (refuses the migration)


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

    def line(self) -> str:
        key = f" {self.business_key}" if self.business_key else ""
        head = f"instance {self.instance_id}{key}: v{self.from_version} -> v{self.to_version}"
        if not self.can_migrate:
            return f"refused {head}: {self.reason}"
        moved = [t for t in self.tasks if t.fate == "changed" and t.state in ("READY", "WAITING")]
        detail = "; changed open tasks: " + ", ".join(t.element_id for t in moved) if moved else ""
        return f"{'migrated' if self.migrated else 'can move'} {head}{detail}"

    def as_dict(self) -> dict:
        return asdict(self)


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


def _plan(
    engine: Engine, instance: Instance, target: ProcessVersion
) -> tuple[MigrationPreview, BpmnWorkflow, LoadedVersion, Any, dict[Any, Any]]:
    workflow, _ = engine.load(instance)
    new = engine.specs.get(target)
    registry = _registry(new.flavor)
    top_diff, sub_diffs = diff_workflow(registry, workflow, new.spec, new.subprocess_specs)
    preview = MigrationPreview(
        instance.id, instance.business_key, instance.status, instance.process_version.version, target.version, True
    )
    reasons: list[str] = []
    pairs = [(top_diff, workflow)] + [(d, workflow.subprocesses[sp_id]) for sp_id, d in sub_diffs.items()]
    for sp_id, d in sub_diffs.items():
        if d is None:
            name = workflow.subprocesses[sp_id].spec.name
            reasons.append(f"its running subprocess '{name}' does not exist in version {target.version}")
    for diff, wf in pairs:
        if diff is None:
            continue
        changed = {t.id for t in diff.changed}
        removed = {t.id for t in diff.removed}
        for task in wf.get_tasks(skip_subprocesses=True):
            spec = task.task_spec
            if not _is_activity(spec):
                continue
            if _replanned(task):  # a prediction below a ready/waiting task: migration re-plans it
                continue
            fate = "removed" if task.id in removed else "changed" if task.id in changed else "kept"
            state = TaskState.get_name(task.state)
            preview.tasks.append(TaskFate(spec.bpmn_id, getattr(spec, "bpmn_name", None), state, fate))
            if fate == "removed":
                reasons.append(f"task {spec.bpmn_id} ({state}) is not in version {target.version}")
    if reasons:
        preview.can_migrate = False
        preview.reason = "; ".join(dict.fromkeys(reasons))
    return preview, workflow, new, top_diff, sub_diffs


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
) -> list[MigrationPreview]:
    """Which running instances can move to ``to_version`` (default: the latest), and what
    happens to their tasks. Changes nothing."""
    target = engine.version(session, process_id, to_version)
    with clock_mod.using(engine.clock):
        return [_plan(engine, i, target)[0] for i in _instances(session, process_id, target, instance_ids)]


def migrate(
    session: Session,
    engine: Engine,
    process_id: str,
    to_version: int | None = None,
    instance_ids: Iterable[int] | None = None,
    actor: str = "system",
    dry_run: bool = False,
) -> list[MigrationPreview]:
    """Move instances (the given ones, or all running ones) to ``to_version``. Instances the
    library cannot migrate are left alone and reported with their reason (flush only)."""
    target = engine.version(session, process_id, to_version)
    results: list[MigrationPreview] = []
    with clock_mod.using(engine.clock):
        for instance in _instances(session, process_id, target, instance_ids):
            preview, workflow, new, top_diff, sub_diffs = _plan(engine, instance, target)
            results.append(preview)
            if dry_run or not preview.can_migrate:
                continue
            _migrate_one(session, engine, instance, workflow, new, target, top_diff, sub_diffs, preview, actor)
            preview.migrated = True
    return results


def _migrate_one(
    session: Session,
    engine: Engine,
    instance: Instance,
    workflow: BpmnWorkflow,
    new: LoadedVersion,
    target: ProcessVersion,
    top_diff: Any,
    sub_diffs: dict[Any, Any],
    preview: MigrationPreview,
    actor: str,
) -> None:
    from_version = instance.process_version.version
    changed_ids = {t.id for d in [top_diff, *sub_diffs.values()] for t in d.changed}
    # a waiting timer whose activity is unchanged keeps its due time (reset would restart it)
    keep_due = {
        t.id: dict(t.internal_data)
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if t.id not in changed_ids and "event_value" in t.internal_data
    }
    migrate_workflow(top_diff, workflow, new.spec)
    for sp_id, diff in sub_diffs.items():
        subworkflow = workflow.subprocesses[sp_id]
        migrate_workflow(diff, subworkflow, new.subprocess_specs[subworkflow.spec.name])
    workflow.subprocess_specs = new.subprocess_specs
    for task_id, internal in keep_due.items():
        task = workflow.get_task_from_id(task_id)
        if task is not None and task.state == TaskState.WAITING:
            task.internal_data.update(internal)
    instance.process_version = target
    instance.process_version_id = target.id
    step = Step(engine, session, instance, workflow, new, actor)
    step.advance()
    _refresh_changed_rows(session, engine, instance, workflow, changed_ids)
    step.save()
    step.audit(
        "migrate",
        data={
            "from_version": from_version,
            "to_version": target.version,
            "changed_tasks": sorted({t.element_id for t in preview.tasks if t.fate == "changed"}),
        },
    )


def _refresh_changed_rows(
    session: Session, engine: Engine, instance: Instance, workflow: BpmnWorkflow, changed_ids: set[Any]
) -> None:
    """A ready task whose activity changed keeps its row (draft, assignee) but takes the new
    version's name, form, candidate groups and deadline."""
    rows = {
        row.task_guid: row
        for row in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
        )
    }
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        row = rows.get(str(task.id))
        if row is None or task.id not in changed_ids:
            continue
        props, groups, due = engine.offer(task)
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

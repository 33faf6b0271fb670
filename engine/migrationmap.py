"""A designer's mapping of removed activities to activities of the new version (issue #15).

A migration (engine/migration.py) refuses an instance whose task sits on an activity the new
version removed. The designer may name, per removed activity, the activity of the new version
its tasks move to: ``{"leader_review": "review"}``. Ids are BPMN ids; an id is unique within a
process of a bundle, not across called processes, so a key (and a value) may be written
``PROCESS/ID`` when the bare id occurs in more than one process of the instances' versions.

``check_mapping`` validates the mapping against the versions the instances run on and the
target version, and returns it per process spec (top process, embedded subprocess or called
process, as ``diff_workflow`` aligns them). ``apply_mapping`` then puts the mapped new spec into
a ``WorkflowDiff``'s ``alignment`` (and out of ``removed``), so ``migrate_workflow`` moves the
task the library's own way. Both old and new element must be a task (user, manual, script,
service, business-rule or plain task; not multi-instance): a gateway, an event or a
sub-process has a structure of its own that a label swap cannot carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins import (
    ManualTaskMixin,
    NoneTaskMixin,
    ScriptTaskMixin,
    ServiceTaskMixin,
    UserTaskMixin,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.util.task import TaskState

from .errors import InvalidRequest
from .speccache import LoadedVersion

_TASKS = (UserTaskMixin, ManualTaskMixin, NoneTaskMixin, ScriptTaskMixin, ServiceTaskMixin, BusinessRuleTaskMixin)
OPEN = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets and re-predicts


def mappable(spec: Any) -> bool:
    """A task a mapping may move from or to (not an event, gateway, sub-process or multi-instance)."""
    return (
        isinstance(spec, _TASKS)
        and not isinstance(spec, LoopTask)
        and bool(getattr(spec, "bpmn_id", None))
        and spec.name == spec.bpmn_id  # not the inner task of a multi-instance activity
    )


def movable(task: Any) -> bool:
    """A task a mapping can move: of a task activity, open (ready, waiting) or finished; one in
    error or running a sub-process stays where it is (an admin retries or ends it first)."""
    return mappable(task.task_spec) and task.has_state(OPEN | TaskState.FINISHED_MASK)


def targets(process_spec: Any) -> list[tuple[str, str | None]]:
    """(id, name) of the tasks of a process spec a removed activity may be mapped to."""
    found = [(s.bpmn_id, s.bpmn_name) for s in process_spec.task_specs.values() if mappable(s)]
    return sorted(found, key=lambda t: (t[1] or t[0], t[0]))


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``OLD=NEW`` strings (the CLI's ``--map``) as a mapping; a malformed one is refused."""
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidRequest(
                f"mapping '{pair[:200]}': write OLD=NEW (a removed activity = an activity of the new version)"
            )
        out[old.strip()] = new.strip()
    return out


def _specs(loaded: LoadedVersion) -> list[Any]:
    return [loaded.spec, *(s for s in loaded.subprocess_specs.values() if s is not None)]


def _holders(versions: Iterable[LoadedVersion], element_id: str) -> dict[str, Any]:
    """Process spec name -> the element's task spec, in any of ``versions``."""
    found: dict[str, Any] = {}
    for loaded in versions:
        for spec in _specs(loaded):
            task_spec = spec.task_specs.get(element_id)
            if task_spec is not None and getattr(task_spec, "bpmn_id", None) == element_id:
                found.setdefault(spec.name, task_spec)
    return found


def _split(key: str) -> tuple[str | None, str]:
    process, sep, element = key.rpartition("/")
    return (process or None) if sep else None, element


def check_mapping(
    mapping: Mapping[str, str], sources: list[LoadedVersion], target: LoadedVersion, version: int
) -> dict[str, dict[str, str]]:
    """{process spec name: {old id: new id}}, or ``InvalidRequest`` naming what is wrong (code in
    ``details['code']``: unknown_old, ambiguous, not_removed, old_not_task, unknown_new,
    other_process, not_activity, process_removed)."""
    out: dict[str, dict[str, str]] = {}
    for key, value in mapping.items():
        where, old_id = _split(key)
        holders = _holders(sources, old_id)
        if where is not None:
            holders = {k: v for k, v in holders.items() if k == where}
        if not holders:
            raise InvalidRequest(
                f"mapping {key}: no element '{old_id}' in the version(s) the instances run on",
                code="unknown_old",
                old=key,
            )
        if len(holders) > 1:
            raise InvalidRequest(
                f"mapping {key}: '{old_id}' is in processes {', '.join(sorted(holders))}; write PROCESS/{old_id}",
                code="ambiguous",
                old=key,
            )
        (process, old_spec), new_where, new_id = next(iter(holders.items())), *_split(value)
        specs = {s.name: s for s in _specs(target)}
        new_process = specs.get(process)
        if new_process is None:
            raise InvalidRequest(
                f"mapping {key}: its process '{process}' is not in version {version}", code="process_removed", old=key
            )
        if old_id in new_process.task_specs:
            raise InvalidRequest(
                f"mapping {key}: '{old_id}' is still in version {version}; only removed activities are mapped",
                code="not_removed",
                old=key,
            )
        if not mappable(old_spec):
            raise InvalidRequest(
                f"mapping {key}: '{old_id}' ({old_spec.__class__.__name__}) is not a task; only tasks are mapped",
                code="old_not_task",
                old=key,
            )
        new_spec = new_process.task_specs.get(new_id) if new_where in (None, process) else None
        if new_spec is None or getattr(new_spec, "bpmn_id", None) != new_id:
            elsewhere = sorted(_holders([target], new_id))
            if elsewhere:
                raise InvalidRequest(
                    f"mapping {key}={value}: '{new_id}' is in process {', '.join(elsewhere)}, "
                    f"not in '{process}' where '{old_id}' is",
                    code="other_process",
                    old=key,
                    new=value,
                )
            raise InvalidRequest(
                f"mapping {key}={value}: no element '{new_id}' in version {version}",
                code="unknown_new",
                old=key,
                new=value,
            )
        if not mappable(new_spec):
            raise InvalidRequest(
                f"mapping {key}={value}: '{new_id}' ({new_spec.__class__.__name__}) is not a task; map to a task",
                code="not_activity",
                old=key,
                new=value,
            )
        out.setdefault(process, {})[old_id] = new_id
    return out


@dataclass
class Applied:
    """What ``apply_mapping`` did to one (sub)workflow's diff."""

    mapped: dict[Any, Any] = field(default_factory=dict)  # task id -> new task spec
    resets: list[Any] = field(default_factory=list)  # tasks to reset after migrate_workflow
    dropped: set[Any] = field(default_factory=set)  # task ids those resets remove


def _entry(spec: Any, task_specs: dict[str, Any]) -> Any:
    """Where a task's activity begins: its boundary-event split when it has boundary events."""
    split = task_specs.get(f"{spec.name}.BoundaryEventSplit")
    return split if isinstance(split, BoundaryEventSplit) else spec


def apply_mapping(diff: Any, new_spec: Any, moves: Mapping[str, str]) -> Applied:
    """Move the diff's removed tasks whose activity is in ``moves`` to their new spec.

    A task without boundary events mapped to one without keeps its identity (same task, same
    human-task row): it takes the new spec and ``migrate_workflow`` re-predicts it. When the
    boundary events differ (the old activity or the new one has some), the activity's entry (its
    split, or the task) takes the new activity's entry and its branch restarts there, so the new
    activity's timers are set and its join finds its split; the task is then a new one."""
    applied = Applied()
    removed = {t.id for t in diff.removed}  # (WorkflowDiff leaves removed tasks out of its alignment)
    for task in list(diff.removed):
        spec = task.task_spec
        new_id = moves.get(getattr(spec, "bpmn_id", None) or "")
        if new_id is None or not movable(task) or task.id in applied.dropped:
            continue
        target = new_spec.task_specs[new_id]
        new_entry = _entry(target, new_spec.task_specs)
        parent = task.parent
        split = parent if parent is not None and parent.task_spec.name == f"{spec.name}.BoundaryEventSplit" else None
        if task.has_state(OPEN) and split is None and new_entry is target:
            diff.alignment[task] = target  # migrate_workflow resets it in place
        elif task.has_state(OPEN):
            entry = split or task
            diff.alignment[entry] = new_entry
            if split is not None:
                applied.resets.append(split)
                applied.dropped.update(t.id for t in list(split)[1:])
        else:  # finished (movable): it only takes the new activity's name
            diff.alignment[task] = target
            if split is not None and split.id in removed:
                diff.alignment[split] = new_entry
        applied.mapped[task.id] = target
    gone = applied.dropped | applied.mapped.keys()
    diff.removed = [t for t in diff.removed if t not in diff.alignment and t.id not in gone]
    return applied

"""The task page's view of the dossier: what a task's doer reads beside its form, and which of
its fields start afresh.

The context (``context_for``) is a selection of the case's dossier steps (engine/dossier.py),
chosen by the task's ``context`` property (docs/CONVENTIONS.md "Context beside a task form");
by default the submission's key fields and the latest answers of every earlier step. A step that
runs again decides afresh: its form does not start from the answers it gave in an earlier round
(``fresh_fields``) unless its ``prefill`` property names them; those answers are in the context.
``task_setting`` reads the task's properties, data and multi-instance item with one load of its
workflow. No web here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .dossier import Step
from .models import AuditEntry, HumanTask

if TYPE_CHECKING:
    from .runtime import Engine

CONTEXT_KEY = "context"
PREFILL_KEY = "prefill"  # fields a repeated step's form still starts from the case's data
# shown when a task's process file is silent: the submission's key fields, then every earlier step
DEFAULT_SUBMISSION_FIELDS = (
    "enterprise_name",
    "contact",
    "mobile",
    "project",
    "category",
    "title",
    "description",
    "help_wanted",
    "urgency",
    "attachments",
)


# -- context beside a task form ---------------------------------------------------------------
def parse_context(value: Any) -> list[str] | None:
    """The ``context`` property: a list (or comma/newline separated text) of entries
    ``submission``, ``submission.<field>``, ``<bpmn id>`` (the step's latest answers) or
    ``<bpmn id>.<field>``; ``None`` when the process file is silent."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        parts = [p.strip().strip("'\"") for p in text.replace("\n", ",").split(",")]
    elif isinstance(value, (list, tuple)):
        parts = [str(p).strip() for p in value]
    else:
        return None
    return [p for p in parts if p]


def context_for(
    all_steps: list[Step], entries: list[str] | None, own: str | None = None, own_groups: Iterable[str] = ()
) -> list[Step]:
    """What a task's doer sees above the form: the named steps/fields (latest round of each),
    or by default the submission's key fields and the latest answers of every earlier step.
    A step running again (``own``: its bpmn id) always sees its own latest answers: its form
    starts afresh (``fresh_fields``), so what it decided before is shown here instead."""
    latest: dict[str, Step] = {}
    order: list[str] = []
    for step in all_steps:
        key = (
            step.step_id
            if step.kind != "task" or not _multi(all_steps, step)
            else f"{step.step_id}|{','.join(step.groups)}"
        )
        if key not in latest:
            order.append(key)
        latest[key] = step
    if entries is None:
        out = []
        for key in order:  # a step running again (after a send-back) sees its own last answer too
            step = latest[key]
            if step.kind == "submission":
                step = _pick(step, DEFAULT_SUBMISSION_FIELDS)
            out.append(step)
        return out
    wanted: list[tuple[str, str | None]] = []
    for entry in entries:
        step_id, _, fld = entry.partition(".")
        wanted.append((step_id, fld or None))
    out = []
    for step_id in dict.fromkeys(s for s, _ in wanted):
        fields = [f for s, f in wanted if s == step_id]
        for key in order:
            step = latest[key]
            if step.step_id != step_id:
                continue
            out.append(step if None in fields else _pick(step, [f for f in fields if f is not None]))
    if own is not None and own not in dict(wanted):
        groups = list(own_groups)
        for key in order:
            step = latest[key]
            if step.step_id == own and (not _multi(all_steps, step) or step.groups == groups):
                out.append(step)
    return [s for s in out if s.answers]


@dataclass
class TaskSetting:
    """What the task page needs from the task's workflow, read with one load of it."""

    context: list[str] | None = None  # the ``context`` entries; None: the process file is silent
    item_name: str | None = None  # the multi-instance item's name (``coop_unit``, ``item``)
    item: Any = None
    prefill: list[str] = field(default_factory=list)  # the ``prefill`` property's fields
    data: dict = field(default_factory=dict)  # the task's data (what its form may start from)


def task_setting(engine: Engine, row: HumanTask) -> TaskSetting:
    """The task's ``context`` and ``prefill`` properties, its data, and its multi-instance item:
    a cooperating unit's task has its ``coop_unit``, a decision item's task its ``item``."""
    from uuid import UUID

    from .properties import task_properties

    workflow, _loaded = engine.load(row.instance)
    task = workflow.get_task_from_id(UUID(row.task_guid))
    if task is None:
        return TaskSetting()
    props = task_properties(task.task_spec)
    setting = TaskSetting(
        parse_context(props.get(CONTEXT_KEY)), prefill=parse_context(props.get(PREFILL_KEY)) or [], data=dict(task.data)
    )
    parent = task.parent
    spec = getattr(parent, "task_spec", None) if parent is not None else None
    input_item = getattr(spec, "input_item", None)
    name = getattr(input_item, "bpmn_id", None) if input_item is not None else None
    if name and name in task.data:
        setting.item_name, setting.item = name, task.data[name]
    return setting


# -- a step that runs again decides afresh ------------------------------------------------------
def earlier_answers(session: Session, instance_id: int, bpmn_id: str) -> set[str]:
    """The fields the step ``bpmn_id`` answered (not blank) in its earlier rounds of the case."""
    keys: set[str] = set()
    for data in session.scalars(
        select(AuditEntry.data).where(
            AuditEntry.instance_id == instance_id, AuditEntry.action == "complete", AuditEntry.task_bpmn_id == bpmn_id
        )
    ):
        if isinstance(data, dict):
            keys.update(
                k for k, v in data.items() if v is not None and v != [] and not (isinstance(v, str) and not v.strip())
            )
    return keys


def fresh_fields(session: Session, row: HumanTask, prefill: Iterable[str] = ()) -> set[str]:
    """The fields of a ready task's form that start from the form's defaults, not from the
    case's data: whatever the same step (same BPMN id, any candidate group) answered in an
    earlier round of the case — the official decides afresh and reads the earlier answer in
    the context — except the fields its ``prefill`` property names (修改办理结果 revises the
    draft it was sent back with; 分级交办 starts from the rules' new suggestion)."""
    return earlier_answers(session, row.instance_id, row.bpmn_id) - set(prefill)


def _multi(all_steps: list[Step], step: Step) -> bool:
    return len({tuple(s.groups) for s in all_steps if s.step_id == step.step_id}) > 1


def _pick(step: Step, keys: Iterable[str]) -> Step:
    keys = list(keys)
    answers = sorted((a for a in step.answers if a.key in keys), key=lambda a: keys.index(a.key))
    return Step(
        step.kind,
        step.step_id,
        step.name,
        step.actor,
        step.at,
        step.round,
        step.groups,
        answers,
        step.schema,
        step.ui,
        step.entry_id,
    )


__all__ = [
    "parse_context",
    "context_for",
    "task_setting",
    "TaskSetting",
    "earlier_answers",
    "fresh_fields",
    "CONTEXT_KEY",
    "PREFILL_KEY",
]

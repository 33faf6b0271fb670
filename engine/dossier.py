"""The case dossier: everything written into a case, step by step, from its audit.

Each submitted form (the enterprise's submission, every completed task, every message such as
the enterprise's supplied material) becomes a ``Step`` with its answers in the order of the
step's own form (the JSON Schema of the case's deployed version), grouped by step and round,
with who and when. Who may read which answer is decided here, not in a template:

* a form field carries ``"x-visibility": "internal" | "public"``; a form may set a default for
  all its fields at its top level; silent means internal (a government note never leaks by
  omission);
* the enterprise sees public answers only; officials see everything.

Attachments inherit the visibility of the field that holds them (``visible_attachment_ids``).
The task page's context (``context_for``) is a selection of the same steps, chosen by the task's
``context`` property (docs/CONVENTIONS.md "Context beside a task form"). A step that runs again
decides afresh: its form does not start from the answers it gave in an earlier round
(``fresh_fields``) unless its ``prefill`` property names them; those answers are in the context.
No web here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry, HumanTask, Instance

if TYPE_CHECKING:
    from .runtime import Engine

SUBMISSION = "submission"  # the pseudo step id of the enterprise's submission
MESSAGE_FORMS: dict[str, dict] = {}  # message name → (schema, ui); the web layer registers its forms
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


@dataclass
class Answer:
    key: str
    schema: dict
    ui: dict
    value: Any
    public: bool


@dataclass
class Step:
    kind: str  # submission | task | message
    step_id: str  # bpmn id, "submission" or the message name
    name: str
    actor: str
    at: _dt.datetime
    round: int = 1
    groups: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    schema: dict = field(default_factory=dict)
    ui: dict = field(default_factory=dict)
    entry_id: int | None = None  # the audit entry it comes from

    def only_public(self) -> Step:
        return Step(
            self.kind,
            self.step_id,
            self.name,
            self.actor,
            self.at,
            self.round,
            self.groups,
            [a for a in self.answers if a.public],
            self.schema,
            self.ui,
            self.entry_id,
        )

    def answer(self, key: str) -> Answer | None:
        return next((a for a in self.answers if a.key == key), None)


def is_public(schema: dict, key: str) -> bool:
    """A field's visibility: its own ``x-visibility``, else its form's, else internal."""
    spec = ((schema or {}).get("properties") or {}).get(key) or {}
    flag = spec.get("x-visibility") if isinstance(spec, dict) else None
    flag = flag or (schema or {}).get("x-visibility") or "internal"
    return flag == "public"


def _answers(schema: dict | None, ui: dict | None, data: dict) -> list[Answer]:
    schema, ui = schema or {}, ui or {}
    props = schema.get("properties") or {}
    order = [k for k in (ui.get("ui:order") or list(props)) if k in props]
    order += [k for k in props if k not in order]
    out = []
    for key in order:
        value = data.get(key)
        if value is None or value == [] or (isinstance(value, str) and not value.strip()):
            continue  # white space alone is no answer (nor a blank box in the dossier)
        out.append(Answer(key, props[key] or {}, ui.get(key) or {}, value, is_public(schema, key)))
    return out


def _forms(engine: Engine, instance: Instance) -> dict[str, Any]:
    loaded = engine.specs.get(engine.version_of(instance))
    return loaded.forms


def steps(
    session: Session,
    engine: Engine,
    instance: Instance,
    *,
    submit_form: str = "case-submit.schema.json",
    submit_ui: str = "case-submit.uischema.json",
) -> list[Step]:
    """Every submitted form of the case, oldest first, with all answers (internal ones too)."""
    forms = _forms(engine, instance)
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)))
    by_bpmn: dict[str, HumanTask] = {}
    for t in tasks:
        by_bpmn.setdefault(t.bpmn_id, t)
    done = [t for t in tasks if t.state == "completed"]
    rounds: dict[tuple, int] = {}
    used: set[int] = set()
    out: list[Step] = []
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.instance_id == instance.id, AuditEntry.action.in_(("start", "complete", "message")))
        .order_by(AuditEntry.id)
    )
    for entry in entries:
        data = entry.data if isinstance(entry.data, dict) else {}
        if entry.action == "start":
            schema, ui = forms.get(submit_form) or {}, forms.get(submit_ui) or {}
            if not schema:  # a process without the submission form: its starter's own data, as typed
                schema = {"x-visibility": "public", "properties": {k: {} for k in data}}
            out.append(
                Step(
                    "submission",
                    SUBMISSION,
                    "提交诉求",
                    entry.actor,
                    entry.at,
                    answers=_answers(schema, ui, data),
                    schema=schema,
                    ui=ui,
                    entry_id=entry.id,
                )
            )
            continue
        if entry.action == "message":
            name = str(data.get("message") or "")
            if name not in MESSAGE_FORMS:
                continue
            schema, ui = MESSAGE_FORMS[name]
            payload = data.get("payload")
            payload = payload if isinstance(payload, dict) else {}
            out.append(
                Step(
                    "message",
                    name,
                    schema.get("title") or name,
                    entry.actor,
                    entry.at,
                    answers=_answers(schema, ui, payload),
                    schema=schema,
                    ui=ui,
                    entry_id=entry.id,
                )
            )
            continue
        row = _row_of(done, entry, used) or by_bpmn.get(entry.task_bpmn_id or "")
        schema = forms.get(row.form) if row is not None and row.form else None
        ui = forms.get(row.ui_form) if row is not None and row.ui_form else None
        groups = list(row.candidate_groups or []) if row is not None else []
        key = (entry.task_bpmn_id, tuple(groups))
        rounds[key] = rounds.get(key, 0) + 1
        out.append(
            Step(
                "task",
                entry.task_bpmn_id or "",
                entry.task_name or "",
                entry.actor,
                entry.at,
                rounds[key],
                groups,
                _answers(schema, ui, data),
                schema or {},
                ui or {},
                entry.id,
            )
        )
    return out


def _row_of(done: list[HumanTask], entry: AuditEntry, used: set[int]) -> HumanTask | None:
    """The task row an audit entry completed: same step, same person, the nearest moment."""
    best, gap = None, None
    for row in done:
        if (
            row.id in used
            or row.bpmn_id != entry.task_bpmn_id
            or row.completed_by != entry.actor
            or row.completed_at is None
        ):
            continue
        delta = abs((row.completed_at - entry.at).total_seconds())
        if delta < 60 and (gap is None or delta < gap):
            best, gap = row, delta
    if best is not None:
        used.add(best.id)
    return best


def dossier(session: Session, engine: Engine, instance: Instance, *, enterprise: bool) -> list[Step]:
    """The case's record as the reader may see it (the enterprise: public answers only)."""
    all_steps = steps(session, engine, instance)
    if not enterprise:
        return all_steps
    # of a government answer given again (a draft revised after a send-back) the enterprise
    # reads the latest version only; the superseded ones were never the government's answer
    last: dict[tuple, int] = {}
    for index, step in enumerate(all_steps):
        if step.kind == "task":
            last[(step.schema.get("$id") or step.step_id, tuple(step.groups))] = index
    kept = [
        step
        for index, step in enumerate(all_steps)
        if step.kind != "task" or last[(step.schema.get("$id") or step.step_id, tuple(step.groups))] == index
    ]
    return [s for s in (step.only_public() for step in kept) if s.answers]


def public_entry_data(session: Session, engine: Engine, instance: Instance) -> dict[int, dict]:
    """Audit entry id → the data of it the enterprise may read (public answers only); an
    entry not in it shows the enterprise no data at all."""
    return {
        s.entry_id: {a.key: a.value for a in s.answers}
        for s in dossier(session, engine, instance, enterprise=True)
        if s.entry_id is not None
    }


def visible_attachment_ids(steps_seen: Iterable[Step]) -> set[int]:
    """Ids of the files held by the answers a reader sees."""
    ids: set[int] = set()
    for step in steps_seen:
        for answer in step.answers:
            values = answer.value if isinstance(answer.value, list) else [answer.value]
            for v in values:
                if isinstance(v, dict) and isinstance(v.get("id"), int):
                    ids.add(v["id"])
                elif _is_file_field(answer.key) and not isinstance(v, bool) and str(v).isdigit():
                    ids.add(int(v))  # an attachment list keeps ids as its item type (string or integer)
    return ids


def internal_uploads(session: Session, instance_id: int) -> set[int]:
    """Ids of files an official uploaded on the case page marked internal (their upload entry
    says so); other case-page files are public, form files follow their field."""
    ids: set[int] = set()
    for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.instance_id == instance_id, AuditEntry.action == "upload")
    ):
        data = entry.data if isinstance(entry.data, dict) else {}
        if data.get("internal") and isinstance(data.get("id"), int):
            ids.add(data["id"])
    return ids


def _is_file_field(key: str) -> bool:
    return key == "attachments" or key.endswith(("_attachments", "_files"))


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
    "Answer",
    "Step",
    "steps",
    "dossier",
    "is_public",
    "visible_attachment_ids",
    "parse_context",
    "context_for",
    "task_setting",
    "TaskSetting",
    "earlier_answers",
    "fresh_fields",
    "public_entry_data",
    "internal_uploads",
    "MESSAGE_FORMS",
    "CONTEXT_KEY",
    "PREFILL_KEY",
    "SUBMISSION",
]

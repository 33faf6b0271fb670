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
What a task's doer reads beside its form is a selection of the same steps (engine/taskcontext.py).
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


__all__ = [
    "Answer",
    "Step",
    "steps",
    "dossier",
    "is_public",
    "visible_attachment_ids",
    "public_entry_data",
    "internal_uploads",
    "MESSAGE_FORMS",
    "SUBMISSION",
]

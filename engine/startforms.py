"""Processes people start by hand (issue 15 item 5): a none start event with a start form.

The start event carries, as ``spiffworkflow:property`` (or ``camunda:property``) entries:

- ``formJsonSchemaFilename`` (and optionally ``formUiSchemaFilename``): the start form, a file
  of the deployed version;
- ``candidateStarterGroups``: who may start it — a quoted group (``'wg:city'``), a list of them
  (``['wg:city', 'designer']``) or a comma-separated plain list (``wg:city, designer``).

The office pages show a 发起 button for each such process whose groups the person is in; the
form is validated against the deployed version's schema and becomes the instance's data.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import forms as forms_mod
from .errors import NotFound
from .models import Instance, ProcessVersion
from .properties import task_properties

if TYPE_CHECKING:
    from .runtime import Engine

STARTER_GROUPS = "candidateStarterGroups"


@dataclass
class Startable:
    process_id: str
    name: str
    version: int
    groups: list[str]
    form: dict
    ui: dict | None


def starter_groups(value: str | None) -> list[str]:
    """The groups of a ``candidateStarterGroups`` value (a literal, never evaluated code)."""
    text = (value or "").strip()
    if not text:
        return []
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        parsed = [part.strip() for part in text.split(",")]
    if isinstance(parsed, str):
        parsed = [parsed]
    return [str(g) for g in parsed if str(g).strip()] if isinstance(parsed, (list, tuple)) else []


def startable_of(engine: Engine, version: ProcessVersion) -> Startable | None:
    loaded = engine.specs.get(version)
    if loaded.spec is None:
        return None
    starts = [t for t in getattr(loaded.spec.start, "outputs", None) or [] if isinstance(t, StartEvent)]
    if len(starts) != 1 or not isinstance(starts[0].event_definition, NoneEventDefinition):
        return None
    props = task_properties(starts[0])
    form = loaded.forms.get(props.get(forms_mod.FORM_KEY) or "")
    groups = starter_groups(props.get(STARTER_GROUPS))
    if not isinstance(form, dict) or not groups:
        return None
    ui = loaded.forms.get(props.get(forms_mod.UI_KEY) or "")
    return Startable(
        version.process_id,
        version.name or version.process_id,
        version.version,
        groups,
        form,
        ui if isinstance(ui, dict) else None,
    )


def startable(session: Session, engine: Engine, groups: frozenset[str] | set[str]) -> list[Startable]:
    """The latest version of every process the person may start (their groups meet the starters)."""
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    versions = session.scalars(
        select(ProcessVersion)
        .join(latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v))
        .order_by(ProcessVersion.process_id)
    )
    found = []
    for version in versions:
        item = startable_of(engine, version)
        if item is not None and set(item.groups) & set(groups):
            found.append(item)
    return found


def one(session: Session, engine: Engine, process_id: str, groups: frozenset[str] | set[str]) -> Startable:
    """The process if the person may start it; NotFound otherwise (existence is not revealed)."""
    for item in startable(session, engine, groups):
        if item.process_id == process_id:
            return item
    raise NotFound(f"process '{process_id}' cannot be started here")


def start(session: Session, engine: Engine, item: Startable, data: dict[str, Any], actor: str) -> Instance:
    """Validate the start form against the deployed schema and start the instance."""
    clean = forms_mod.validate(item.form, data)
    return engine.start(session, item.process_id, clean, version=item.version, actor=actor)

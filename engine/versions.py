"""Versions of a process: what changed between two.

``diff_versions`` compares two deployed versions activity by activity (SpiffWorkflow's
``SpecDiff``: aligned by BPMN id, then by position in the flow) and returns plain data the
web can list and mark on a diagram by element id. Moving running instances to another
version is engine/migration.py (it shares ``registry`` and ``is_activity``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_dependencies
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy.orm import Session

from .deploy import bundle_json
from .valuediff import FileChange, element_details, file_changes

if TYPE_CHECKING:
    from .runtime import Engine

# attributes of a serialized task spec that say nothing a designer changed
_NOISE = {"name", "description", "manual", "lookahead", "position"}
_REGISTRIES: dict[str, Any] = {}


def registry(flavor: str) -> Any:
    """The serializer registry SpiffWorkflow's diff compares task specs with (one per flavor)."""
    if flavor not in _REGISTRIES:
        _REGISTRIES[flavor] = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG if flavor == "camunda" else SPIFF_CONFIG)
    return _REGISTRIES[flavor]


def is_activity(spec: Any) -> bool:
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
    result.added += [_change(s, process_id, "added") for s in diff.added if is_activity(s)]
    result.removed += [_change(s, process_id, "removed") for s in diff.removed if is_activity(s)]
    for spec, attributes in diff.changed.items():
        if not is_activity(spec):
            continue
        change = _change(spec, process_id, "changed", attributes, diff.alignment.get(spec))
        if change.attributes:
            result.changed.append(change)


def diff_versions(session: Session, engine: Engine, process_id: str, v_from: int, v_to: int) -> VersionDiff:
    """Activities added, removed and changed from version ``v_from`` to ``v_to`` of a process."""
    old = engine.specs.get(engine.version(session, process_id, v_from))
    new = engine.specs.get(engine.version(session, process_id, v_to))
    reg = registry(new.flavor)
    result = VersionDiff(process_id, v_from, v_to)
    _add_spec_diff(result, process_id, SpecDiff(reg, old.spec, new.spec))
    sub_diffs, added = diff_dependencies(reg, old.subprocess_specs, new.subprocess_specs)
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

"""Workflow state as JSON *without* the spec.

SpiffWorkflow's serializer embeds the whole process spec in every saved instance
(about half the JSON, and two thirds of every load). Here the workflow converter leaves
``spec`` and ``subprocess_specs`` out and takes them back from the deployed version's
cached parse when loading. The serializer version is stored beside the JSON so that
SpiffWorkflow's own migrations can run on old states.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

SERIALIZER_VERSION = VERSION


class SpecReferenceWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        if "spec" in dct:  # a state written by the stock serializer: take the spec it embeds
            return super().from_dict(dct)
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry(config: dict[Any, Any]) -> Any:
    config = dict(config)
    config[BpmnWorkflow] = SpecReferenceWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(
        _dt.date, lambda v: {"value": v.isoformat()}, lambda v: _dt.date.fromisoformat(v["value"]), typename="date"
    )
    registry.register(
        decimal.Decimal, lambda v: {"value": str(v)}, lambda v: decimal.Decimal(v["value"]), typename="Decimal"
    )
    return registry


class StateSerializer:
    """One per flavor of parser (spiff, camunda): their event classes share names."""

    def __init__(self, flavor: str) -> None:
        config = CAMUNDA_CONFIG if flavor == "camunda" else SPIFF_CONFIG
        self._serializer = BpmnWorkflowSerializer(_registry(config), version=SERIALIZER_VERSION)

    def dumps(self, workflow: BpmnWorkflow) -> str:
        s = self._serializer
        s.registry._encoder_mode = True
        try:
            dct = s.to_dict(workflow)
            return json.dumps(dct, cls=s._encoder_cls, ensure_ascii=False, separators=(",", ":"))
        finally:
            s.registry._encoder_mode = False

    def loads(self, state: str, version: str, spec: Any, subprocess_specs: Any) -> BpmnWorkflow:
        dct: dict[str, Any] = json.loads(state)
        if version != SERIALIZER_VERSION and version in MIGRATIONS:
            dct["spec"] = {"task_specs": {}}  # migrations only read task specs of old states
            MIGRATIONS[version](dct)
            dct.pop("spec", None)
        return self._serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)

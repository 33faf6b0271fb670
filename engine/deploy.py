"""Validate and deploy process files.

A deploy stores a new ProcessVersion of an executable process only when the content
of the files it needs (its BPMN, called processes, DMN tables, forms) changed. Nothing is
stored when any file has a problem.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import forms as forms_mod
from .checks import check_specs
from .models import Deployment, ProcessVersion
from .parsing import BundleError, ParsedBundle, Problem, build_specs, is_bpmn, is_dmn, is_form, load_bundle
from .properties import task_properties

CALENDAR_FILE = "calendar.json"


def collect_files(processes_dir: str | Path, forms_dir: str | Path | None = None) -> dict[str, bytes]:
    """The deployable files of a project: processes/*.bpmn, *.dmn and forms/*.json."""
    files: dict[str, bytes] = {}
    for path in sorted(Path(processes_dir).glob("*")):
        if path.is_file() and (is_bpmn(path.name) or is_dmn(path.name)):
            files[path.name] = path.read_bytes()
    if forms_dir is not None:
        for path in sorted(Path(forms_dir).glob("*.json")):
            files[path.name] = path.read_bytes()
    return files


def files_from_paths(paths: Iterable[str | Path]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for p in map(Path, paths):
        files[p.name] = p.read_bytes()
    return files


@dataclass
class Plan:
    """What a bundle would deploy: per executable process, the files it needs."""

    bundle: ParsedBundle
    processes: dict[str, list[str]] = field(default_factory=dict)  # id -> file names
    names: dict[str, str] = field(default_factory=dict)


def _needed_files(bundle: ParsedBundle, spec, subprocess_specs, process_id: str) -> list[str]:
    needed = {bundle.process_files[process_id]}
    for sub_id in subprocess_specs:
        if sub_id in bundle.process_files:
            needed.add(bundle.process_files[sub_id])
    for process_spec in [spec, *[s for s in subprocess_specs.values() if s is not None]]:
        for task_spec in process_spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None:
                for decision_id, name in bundle.decision_files.items():
                    if engine.decision_table in _tables(bundle, decision_id):
                        needed.add(name)
            props = task_properties(task_spec)
            for key in (forms_mod.FORM_KEY, forms_mod.UI_KEY):
                if props.get(key) in bundle.forms:
                    needed.add(props[key])
            if isinstance(task_spec, SubWorkflowTask) and task_spec.spec in bundle.process_files:
                needed.add(bundle.process_files[task_spec.spec])
    return sorted(needed)


def _tables(bundle: ParsedBundle, decision_id: str) -> list:
    tables = []
    for parser in bundle.parsers.values():
        dmn_parser = parser.dmn_parsers.get(decision_id)
        if dmn_parser is not None and dmn_parser.decision is not None:
            tables.extend(dmn_parser.decision.decisionTables)
    return tables


def plan(files: dict[str, bytes]) -> Plan:
    """Parse and check a bundle. Raises BundleError with every problem found."""
    bundle = load_bundle(files)
    result = Plan(bundle)
    problems: list[Problem] = []
    for name, schema in bundle.forms.items():
        if name.endswith(".schema.json") or (isinstance(schema, dict) and "$schema" in schema):
            reason = forms_mod.check_schema(schema)
            if reason:
                problems.append(Problem(name, f"not a valid JSON Schema: {reason}"))
    for process_id in bundle.executable_ids():
        try:
            spec, subprocess_specs = build_specs(bundle, process_id)
        except Exception as exc:  # the library raises more than ValidationException
            from .parsing import problem_from_exception

            problems.append(problem_from_exception(exc, bundle.trees, bundle.process_files[process_id]))
            continue
        missing = [sid for sid, sp in subprocess_specs.items() if sp is None]
        for sid in missing:
            problems.append(Problem(bundle.process_files[process_id], f"called process '{sid}' does not exist"))
        problems.extend(check_specs(bundle, spec, subprocess_specs))
        result.processes[process_id] = _needed_files(bundle, spec, subprocess_specs, process_id)
        result.names[process_id] = getattr(spec, "description", None) or process_id
    if problems:
        raise BundleError(sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message)))
    return result


def content_hash(process_id: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256(process_id.encode())
    for name in sorted(files):
        digest.update(b"\0" + name.encode() + b"\0" + files[name])
    return digest.hexdigest()


@dataclass
class DeployResult:
    deployment_id: int | None
    created: list[tuple[str, int]]
    unchanged: list[tuple[str, int]]

    def lines(self) -> list[str]:
        out = [f"new     {pid} v{v}" for pid, v in self.created]
        out += [f"same    {pid} v{v}" for pid, v in self.unchanged]
        return out


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    return session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1)
    ).first()


def deploy(session: Session, files: dict[str, bytes], deployed_by: str = "system",
           source: str = "") -> DeployResult:
    """Validate the bundle and store changed processes as new versions (flush only)."""
    p = plan(files)
    created, unchanged = [], []
    deployment: Deployment | None = None
    for process_id, needed in sorted(p.processes.items()):
        subset = {name: files[name] for name in needed}
        digest = content_hash(process_id, subset)
        latest = latest_version(session, process_id)
        if latest is not None and latest.content_hash == digest:
            unchanged.append((process_id, latest.version))
            continue
        if deployment is None:
            deployment = Deployment(deployed_by=deployed_by, source=source, summary={})
            session.add(deployment)
            session.flush()
        next_version = (session.scalar(
            select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id)) or 0) + 1
        main = p.bundle.process_files[process_id]
        session.add(ProcessVersion(
            process_id=process_id, version=next_version, name=p.names.get(process_id, process_id),
            flavor=p.bundle.flavors.get(main, "spiff"), content_hash=digest, main_file=main,
            files={name: content.decode("utf-8") for name, content in subset.items()},
            deployment=deployment,
        ))
        created.append((process_id, next_version))
    if deployment is not None:
        deployment.summary = {"created": [list(c) for c in created], "unchanged": [list(u) for u in unchanged]}
    session.flush()
    return DeployResult(deployment.id if deployment else None, created, unchanged)


def validate_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Check files as `zhitongche validate` does: the files plus their siblings they need."""
    paths = [Path(p) for p in paths]
    files: dict[str, bytes] = {}
    for p in paths:
        # siblings give called processes, DMN tables and forms their context
        for sibling_dir in {p.parent, p.parent.parent / "forms"}:
            if sibling_dir.is_dir():
                for s in sibling_dir.iterdir():
                    if s.is_file() and (is_bpmn(s.name) or is_dmn(s.name) or is_form(s.name)):
                        files.setdefault(s.name, s.read_bytes())
        files[p.name] = p.read_bytes()
    try:
        plan(files)
    except BundleError as exc:
        return exc.problems
    return []


def bundle_json(version: ProcessVersion) -> dict[str, bytes]:
    return {name: text.encode("utf-8") for name, text in version.files.items()}


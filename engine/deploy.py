"""Validate and deploy process files.

A deploy stores a new ProcessVersion of an executable process only when the content
of the files it needs (its BPMN, called processes, DMN tables, forms) changed. Nothing is
stored when any file has a problem: the specs' checks (checks.py), forms (formcheck.py), DMN
tables (dmncheck.py), the data flow (dataflow.py: every variable read is produced on some path
before it) and, when asked, the scenario files about the processes (scenarios.py).
A deploy never silently supersedes a newer version (deployguard.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import dataflow, dmncheck, formcheck
from . import deployguard as guard
from . import forms as forms_mod
from .checks import check_specs
from .models import Deployment, ProcessVersion
from .parsing import (
    BundleError,
    ParsedBundle,
    Problem,
    build_specs,
    is_bpmn,
    is_dmn,
    is_form,
    load_bundle,
    parse_xml,
)
from .problems import BPMN_NS, CAMUNDA_NS, SPIFF_NS
from .properties import task_properties

# the scenario run a deploy asks first (engine/scenarios.py deploy_problems): problems refuse it
ScenarioCheck = Callable[[ParsedBundle, dict[str, bytes], list[str]], list[Problem]]


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


def _needed_files(bundle: ParsedBundle, spec: Any, subprocess_specs: dict[str, Any], process_id: str) -> list[str]:
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


def _form_pairs(spec: Any, subprocess_specs: dict[str, Any]) -> set[tuple[str, str]]:
    """(schema, UI schema) file names used together by a user task."""
    pairs = set()
    for process_spec in [spec, *[s for s in subprocess_specs.values() if s is not None]]:
        for task_spec in process_spec.task_specs.values():
            props = task_properties(task_spec)
            if props.get(forms_mod.FORM_KEY) and props.get(forms_mod.UI_KEY):
                pairs.add((props[forms_mod.FORM_KEY], props[forms_mod.UI_KEY]))
    return pairs


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
    pairs: set[tuple[str, str]] = set()
    built: dict[str, tuple] = {}
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
        built[process_id] = (spec, subprocess_specs)
        pairs |= _form_pairs(spec, subprocess_specs)
        result.processes[process_id] = _needed_files(bundle, spec, subprocess_specs, process_id)
        result.names[process_id] = getattr(spec, "description", None) or process_id
    problems.extend(_files_without_executable_process(bundle, result))
    problems.extend(dmncheck.check_bundle(bundle))
    texts = {name: files[name].decode("utf-8", "replace") for name in bundle.forms if name in files}
    problems.extend(formcheck.check_bundle(bundle.forms, texts, pairs))
    problems.extend(dataflow.check(bundle, built))
    if problems:
        raise BundleError(sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message)))
    return result


def _files_without_executable_process(bundle: ParsedBundle, result: Plan) -> list[Problem]:
    """A BPMN file that runs nothing and is called by nothing is a mistake worth naming."""
    used = {name for needed in result.processes.values() for name in needed}
    runnable = {bundle.process_files[pid] for pid in bundle.executable_ids()}
    problems = []
    for name, tree in sorted(bundle.trees.items()):
        if not is_bpmn(name) or name in used or name in runnable:
            continue
        processes = list(tree.getroot().iter(f"{{{BPMN_NS}}}process"))
        if not processes:
            problems.append(Problem(name, "no process in this file (only a diagram or collaboration)"))
            continue
        ids = ", ".join(p.get("id") or "" for p in processes)
        problems.append(
            Problem(
                name,
                f"no executable process: {ids} {'is' if len(processes) == 1 else 'are'} marked "
                'isExecutable="false" (documentation only); set isExecutable="true" on the process to run',
                processes[0].sourceline,
                processes[0].get("id"),
            )
        )
    return problems


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
    # deploys from files: processes whose files did not change since the last deploy from files,
    # while a newer web/API version is the latest (kept: new cases keep using it)
    kept: list[tuple[str, int]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"new     {pid} v{v}" for pid, v in self.created]
        out += [f"same    {pid} v{v}" for pid, v in self.unchanged]
        out += [
            f"kept    {pid} v{v} (made on the web/API; the files did not change since the last deploy from files)"
            for pid, v in self.kept
        ]
        return out


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    return session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()


def deploy(
    session: Session,
    files: dict[str, bytes],
    deployed_by: str = "system",
    source: str = "",
    origin: str = "files",
    base_versions: dict[str, int] | None = None,
    force: bool = False,
    check: ScenarioCheck | None = None,
) -> DeployResult:
    """Validate the bundle and store changed processes as new versions (flush only).

    ``origin`` says where the files came from (files / web / api). A deploy never silently
    supersedes a newer version (engine/deployguard.py): from files, a process is stored only
    when its files changed since the last deploy from files, and refused when the latest was
    made on the web/API; with ``base_versions`` (process id -> the version the edit started
    from), refused when the latest moved on. ``force`` deploys anyway. Refusals raise
    DeployConflict and store nothing. ``check`` (the scenario run, engine/scenarios.py) is asked
    about the processes getting a new version first; a problem it reports refuses the deploy."""
    if origin not in guard.ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    p = plan(files)
    created, unchanged, kept, refused = [], [], [], []
    pending: list[tuple[str, dict[str, bytes], str]] = []
    for process_id, needed in sorted(p.processes.items()):
        subset = {name: files[name] for name in needed}
        digest = content_hash(process_id, subset)
        latest = latest_version(session, process_id)
        if latest is not None and latest.content_hash == digest:
            unchanged.append((process_id, latest.version))
            if origin == "files" and latest.deployment.origin != "files":
                guard.adopt(session, latest, deployed_by, source)
            continue
        texts = {name: content.decode("utf-8") for name, content in subset.items()}
        if latest is not None and origin == "files":
            verdict, why = guard.check_files_deploy(session, process_id, latest, digest, texts, force)
            if verdict == "keep":
                kept.append((process_id, latest.version))
                continue
            if why is not None:
                refused.append(why)
                continue
        elif latest is not None and base_versions and process_id in base_versions and not force:
            why = guard.check_base(session, process_id, latest, base_versions[process_id], texts)
            if why is not None:
                refused.append(why)
                continue
        pending.append((process_id, subset, digest))
    if refused:
        raise guard.DeployConflict(refused)
    if check is not None and pending:
        failures = check(p.bundle, files, [pid for pid, _s, _d in pending])
        if failures:
            raise BundleError(failures)
    deployment: Deployment | None = None
    for process_id, subset, digest in pending:
        if deployment is None:
            deployment = Deployment(deployed_by=deployed_by, source=source, origin=origin, summary={})
            session.add(deployment)
            session.flush()
        next_version = (
            session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id)) or 0
        ) + 1
        main = p.bundle.process_files[process_id]
        session.add(
            ProcessVersion(
                process_id=process_id,
                version=next_version,
                name=p.names.get(process_id, process_id),
                flavor=p.bundle.flavors.get(main, "spiff"),
                content_hash=digest,
                main_file=main,
                files={name: content.decode("utf-8") for name, content in subset.items()},
                deployment=deployment,
                base_version=(base_versions or {}).get(process_id),
            )
        )
        created.append((process_id, next_version))
    if deployment is not None:
        deployment.summary = {
            "created": [list(c) for c in created],
            "unchanged": [list(u) for u in unchanged],
            "kept": [list(k) for k in kept],
        }
    session.flush()
    return DeployResult(deployment.id if deployment else None, created, unchanged, kept)


def with_referenced_files(paths: Iterable[str | Path]) -> dict[str, bytes]:
    """The files, plus the sibling files they reference: the BPMN of called processes, DMN
    tables (also in a ``dmn/`` subfolder) and forms (also in ``../forms``), transitively.
    Siblings nobody references are left out, so they are not judged with the files asked about."""
    path_list = [Path(p) for p in paths]
    files: dict[str, bytes] = {p.name: p.read_bytes() for p in path_list}
    candidates: dict[str, Path] = {}
    for p in path_list:
        for folder in (p.parent, p.parent / "dmn", p.parent / "forms", p.parent.parent / "forms"):
            if folder.is_dir():
                for s in sorted(folder.iterdir()):
                    if s.is_file() and (is_bpmn(s.name) or is_dmn(s.name) or is_form(s.name)):
                        candidates.setdefault(s.name, s)
    defines: dict[str | None, str] = {}  # process or decision id -> candidate file name
    for name, path in candidates.items():
        if is_form(name) or name in files:
            continue
        try:
            root = parse_xml(name, path.read_bytes()).getroot()
        except BundleError:
            continue
        for el in root.iter("{*}process", "{*}decision"):
            defines.setdefault(el.get("id"), name)
    pending = list(files)
    while pending:
        name = pending.pop()
        if not is_bpmn(name):
            continue
        try:
            root = parse_xml(name, files[name]).getroot()
        except BundleError:
            continue
        wanted = {el.get("calledElement") for el in root.iter("{*}callActivity")}
        wanted |= {el.get(f"{{{CAMUNDA_NS}}}decisionRef") for el in root.iter("{*}businessRuleTask")}
        wanted |= {(el.text or "").strip() for el in root.iter(f"{{{SPIFF_NS}}}calledDecisionId")}
        wanted -= {el.get("id") for el in root.iter("{*}process", "{*}decision")}
        wanted -= {pid for n in files if n != name and is_bpmn(n) for pid in process_ids(files[n])}
        found = {defines[w] for w in wanted if w in defines}
        found |= {n for n in candidates if is_form(n) and n.encode() in files[name]}
        for extra in sorted(found - set(files)):
            files[extra] = candidates[extra].read_bytes()
            pending.append(extra)
    return files


def process_ids(content: bytes) -> set[str | None]:
    try:
        return {el.get("id") for el in parse_xml("", content).getroot().iter("{*}process")}
    except BundleError:
        return set()


def validate_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Check files as `zhitongche validate` does: the files plus the siblings they reference."""
    files = with_referenced_files(paths)
    try:
        plan(files)
    except BundleError as exc:
        return exc.problems
    return []


def bundle_json(version: ProcessVersion) -> dict[str, bytes]:
    return {name: text.encode("utf-8") for name, text in version.files.items()}

"""What the designer pages read and deploy — plain Python, no Flask (the views stay thin).

The database is the truth at run time: a deployed version holds every file it needs
(``ProcessVersion.files``). A web edit never writes to ``processes/`` or ``forms/``; it
deploys a new version made of a base version's files with the edited files replaced, and
the designer downloads the files (``version_zip``) to commit them.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import deploy as deploy_mod
from engine.models import Deployment, Instance, ProcessVersion
from engine.parsing import BundleError, Problem, is_bpmn, is_dmn, is_form

MAX_FILES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass
class ProcessRow:
    process_id: str
    name: str
    latest: int
    versions: int
    deployed_at: object
    deployed_by: str
    running: int


@dataclass
class VersionRow:
    version: ProcessVersion
    running: int
    files: list[str] = field(default_factory=list)


def processes(session: Session) -> list[ProcessRow]:
    """Every deployed process with its latest version, deploy time and deployer."""
    latest = (
        select(
            ProcessVersion.process_id,
            func.max(ProcessVersion.version).label("v"),
            func.count(ProcessVersion.id).label("n"),
        )
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    rows = session.execute(
        select(ProcessVersion, latest.c.n)
        .join(latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v))
        .order_by(ProcessVersion.process_id)
    ).all()
    running = dict(
        session.execute(
            select(Instance.process_id, func.count(Instance.id))
            .where(Instance.status.in_(["running", "error"]))
            .group_by(Instance.process_id)
        ).all()
    )
    return [
        ProcessRow(
            v.process_id,
            v.name,
            v.version,
            n,
            v.deployment.deployed_at,
            v.deployment.deployed_by,
            running.get(v.process_id, 0),
        )
        for v, n in rows
    ]


def versions(session: Session, process_id: str) -> list[VersionRow]:
    """The versions of one process, newest first, with their running instances."""
    found = list(
        session.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
        )
    )
    running = dict(
        session.execute(
            select(Instance.process_version_id, func.count(Instance.id))
            .where(Instance.process_id == process_id, Instance.status.in_(["running", "error"]))
            .group_by(Instance.process_version_id)
        ).all()
    )
    return [VersionRow(v, running.get(v.id, 0), sorted(v.files)) for v in found]


def deployed_files(session: Session) -> dict[str, bytes]:
    """The files of the latest version of every process (newer deployments win a shared name)."""
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    files: dict[str, bytes] = {}
    for version in session.scalars(
        select(ProcessVersion)
        .join(latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v))
        .order_by(ProcessVersion.deployment_id, ProcessVersion.id)
    ):
        files.update({name: text.encode("utf-8") for name, text in version.files.items()})
    return files


def check_uploads(files: dict[str, bytes]) -> list[Problem]:
    """Refuse what is not a process file before parsing anything."""
    problems = []
    if not files:
        problems.append(Problem("—", "no file chosen"))
    if len(files) > MAX_FILES:
        problems.append(Problem("—", f"at most {MAX_FILES} files at once"))
    for name, content in files.items():
        if name != PurePath(name).name or name.startswith("."):
            problems.append(Problem(name, "a plain file name is required"))
        elif not (is_bpmn(name) or is_dmn(name) or is_form(name)):
            problems.append(Problem(name, "only .bpmn, .dmn and form .json files can be deployed"))
        elif len(content) > MAX_FILE_BYTES:
            problems.append(Problem(name, f"larger than {MAX_FILE_BYTES // 1024 // 1024} MB"))
        else:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(name, "not UTF-8 text"))
    return problems


@dataclass
class Outcome:
    """What a validation or deploy did: problems (nothing stored) or the versions created."""

    files: dict[str, bytes]
    problems: list[Problem] = field(default_factory=list)
    created: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)
    processes: dict[str, list[str]] = field(default_factory=dict)
    superseded: list = field(default_factory=list)  # engine.deployguard.Superseded: refused, newer version

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "problems": [p.as_dict() for p in self.problems],
            "created": [list(c) for c in self.created],
            "unchanged": [list(u) for u in self.unchanged],
            "superseded": [s.as_dict() for s in self.superseded],
        }


def validate(files: dict[str, bytes]) -> Outcome:
    outcome = Outcome(files, check_uploads(files))
    if outcome.problems:
        return outcome
    try:
        plan = deploy_mod.plan(files)
        outcome.processes = plan.processes
    except BundleError as exc:
        outcome.problems = exc.problems
    return outcome


def deploy(
    session: Session,
    engine,
    files: dict[str, bytes],
    actor: str,
    source: str,
    origin: str = "web",
    base_versions: dict[str, int] | None = None,
) -> Outcome:
    """Validate and store new versions (flush only; the caller commits or rolls back). A deploy
    that would supersede a newer version is refused (``superseded``)."""
    from engine.deployguard import DeployConflict

    outcome = validate(files)
    if not outcome.ok:
        return outcome
    try:
        result = engine.deploy(
            session, files, actor, source, origin=origin, base_versions=base_versions, scenario_dir=scenario_dir()
        )
    except BundleError as exc:
        outcome.problems = exc.problems
        return outcome
    except DeployConflict as exc:
        outcome.superseded = exc.superseded
        outcome.problems = [Problem(s.process_id, s.message()) for s in exc.superseded]
        return outcome
    outcome.created, outcome.unchanged = result.created, result.unchanged
    return outcome


def base_versions(values: list[str]) -> dict[str, int]:
    """``process_id:version`` pairs an upload form carries (the versions the page showed);
    malformed or oversized entries are ignored."""
    bases: dict[str, int] = {}
    for value in values[:MAX_FILES]:
        process_id, _, version = (value or "").rpartition(":")
        if process_id and len(process_id) <= 200 and version.isdigit() and len(version) <= 9:
            bases[process_id] = int(version)
    return bases


def scenario_dir():
    """Where the ``*.scenarios.json`` a deploy runs live (processes/ of the settings)."""
    from flask import current_app

    settings = current_app.config.get("SETTINGS")
    return getattr(settings, "processes_dir", None)


def with_deployed(session: Session, files: dict[str, bytes]) -> dict[str, bytes]:
    """The uploaded files over the deployed ones: upload only what changed."""
    return {**deployed_files(session), **files}


def edited_bundle(version: ProcessVersion, edits: dict[str, str]) -> dict[str, bytes]:
    """A version's files with some replaced (or added): the bundle of a web edit."""
    files = {name: text.encode("utf-8") for name, text in version.files.items()}
    files.update({name: text.encode("utf-8") for name, text in edits.items()})
    return files


def version_zip(version: ProcessVersion) -> bytes:
    """The version's files, laid out like the repository (processes/, forms/)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(version.files.items()):
            folder = "forms" if is_form(name) else "processes"
            archive.writestr(f"{folder}/{name}", text)
    return buffer.getvalue()


def file_kind(name: str) -> str:
    if is_bpmn(name):
        return "bpmn"
    if is_dmn(name):
        return "dmn"
    if name.endswith(".uischema.json"):
        return "uischema"
    if is_form(name):
        return "schema"
    return "other"


_KIND_ORDER = {"bpmn": 0, "dmn": 1, "schema": 2, "uischema": 2, "other": 3}


def file_rows(version: ProcessVersion) -> list[tuple[str, str, str]]:
    """(name, kind, title) of a version's files for its page: diagrams, decision tables, then
    forms (each schema beside its UI schema), with a form's own title (受理审查) to recognise it."""
    rows = []
    for name, text in version.files.items():
        kind = file_kind(name)
        title = ""
        if kind == "schema":
            value, _error = parse_json(text)
            title = str(value.get("title") or "") if isinstance(value, dict) else ""
        rows.append((name, kind, title))
    return sorted(rows, key=lambda r: (_KIND_ORDER.get(r[1], 3), r[0]))


def deployment_of(session: Session, deployment_id: int | None) -> Deployment | None:
    return session.get(Deployment, deployment_id) if deployment_id else None


def parse_json(text: str) -> tuple[object | None, str | None]:
    """(value, None) or (None, reason) — for the form editor's preview."""
    try:
        return json.loads(text or "null"), None
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}, column {exc.colno}: {exc.msg}"

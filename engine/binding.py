"""Which version of a called process a call activity runs (issue 15 item 4), as Camunda's
``calledElementBinding``.

On the ``callActivity``: the attribute ``camunda:calledElementBinding`` (and
``camunda:calledElementVersion``), or a ``spiffworkflow:property`` / ``camunda:property`` named
``calledElementBinding`` (and ``calledElementVersion``):

- ``latest`` (default): the latest deployed version of the called process *when the call is
  first reached* — a new ``ztc_leader`` version reaches new calls;
- ``deployment``: the copy deployed together with the caller (the caller's own files);
- ``version``: the fixed version number ``calledElementVersion``.

The choice is recorded in the instance (``instance.called_versions``: process id → version id,
0 for the copy deployed with the caller) the moment the called process's subprocess exists, so
a reload in any other process uses the same version: nothing in memory decides it. Until a call
is reached its latest version is looked up on every load (it is not used before then).
A process not deployed on its own (only inside the caller's files) runs the deployed copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, defer
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from .models import Instance, ProcessVersion
from .parsing import is_bpmn, parse_xml
from .problems import CAMUNDA_NS

if TYPE_CHECKING:
    from lxml import etree

BINDINGS = ("latest", "deployment", "version")


@dataclass(frozen=True)
class Binding:
    called: str
    binding: str = "latest"
    version: int | None = None


def _property(element: etree._Element, name: str) -> str | None:
    for prop in element.iter("{*}property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def bindings_of(files: dict[str, str]) -> dict[str, Binding]:
    """The binding of every called process in a version's files (the first call activity to a
    process decides: one spec per called process)."""
    found: dict[str, Binding] = {}
    for name, text in sorted(files.items()):
        if not is_bpmn(name):
            continue
        tree = parse_xml(name, text.encode("utf-8") if isinstance(text, str) else text)
        for call in tree.getroot().iter("{*}callActivity"):
            called = call.get("calledElement")
            if not called or called in found:
                continue
            binding = (
                (
                    call.get(f"{{{CAMUNDA_NS}}}calledElementBinding")
                    or _property(call, "calledElementBinding")
                    or "latest"
                )
                .strip()
                .lower()
            )
            raw = call.get(f"{{{CAMUNDA_NS}}}calledElementVersion") or _property(call, "calledElementVersion")
            try:
                version = int(raw) if raw not in (None, "") else None
            except ValueError:
                version = None
            found[called] = Binding(called, binding if binding in BINDINGS else "latest", version)
    return found


_CACHE: dict[tuple[int, str], dict[str, Binding]] = {}  # immutable versions: parsed once


def cached_bindings(version: ProcessVersion) -> dict[str, Binding]:
    key = (version.id, version.content_hash)
    if key not in _CACHE:
        _CACHE[key] = bindings_of(version.files)
    return _CACHE[key]


def resolve(session: Session, binding: Binding) -> int:
    """The version id a call would use now (0: the copy deployed with the caller)."""
    if binding.binding == "deployment":
        return 0
    query = select(ProcessVersion.id).where(ProcessVersion.process_id == binding.called)
    if binding.binding == "version" and binding.version is not None:
        query = query.where(ProcessVersion.version == binding.version)
    else:
        query = query.order_by(ProcessVersion.version.desc())
    return session.scalar(query.limit(1)) or 0


def overrides(session: Session, instance: Instance | None, version: ProcessVersion) -> dict[str, ProcessVersion]:
    """Called process id → the version to run it from (recorded, else resolved now).

    One statement at most (issue 18): the recorded versions not yet in the session and the
    versions every unrecorded binding resolves to now are read together, without ``files``."""
    recorded = dict((instance.called_versions if instance is not None else None) or {})
    by_id: dict[int, ProcessVersion] = {}
    missing: set[int] = set()
    pending: dict[str, Binding] = {}  # resolved now, by process id
    for called, binding in cached_bindings(version).items():
        if called in recorded:
            if recorded[called]:
                found = session.identity_map.get(identity_key(ProcessVersion, recorded[called]))
                if found is not None:
                    by_id[found.id] = found
                else:
                    missing.add(recorded[called])
        elif binding.binding != "deployment":
            pending[called] = binding
    conditions: list[ColumnElement[bool]] = [ProcessVersion.id.in_(sorted(missing))] if missing else []
    for called, binding in pending.items():
        wanted: int | ScalarSelect[Any]
        if binding.binding == "version" and binding.version is not None:
            wanted = binding.version
        else:  # latest (and a "version" binding without a number, as resolve does)
            latest = aliased(ProcessVersion)
            wanted = select(func.max(latest.version)).where(latest.process_id == called).scalar_subquery()
        conditions.append((ProcessVersion.process_id == called) & (ProcessVersion.version == wanted))
    resolved: dict[str, ProcessVersion] = {}
    if conditions:
        with session.no_autoflush:
            for row in session.scalars(
                select(ProcessVersion).options(defer(ProcessVersion.files)).where(or_(*conditions))
            ):  # (files read on a spec-cache miss)
                by_id[row.id] = row
                if row.process_id in pending:
                    resolved[row.process_id] = row
    out: dict[str, ProcessVersion] = {}
    for called in cached_bindings(version):
        if called in recorded:
            if recorded[called] in by_id:
                out[called] = by_id[recorded[called]]
        elif called in resolved:
            out[called] = resolved[called]
    return out


def record(instance: Instance, workflow: Any, used: dict[str, int], version: ProcessVersion) -> None:
    """Write into the instance the version of every call whose subprocess now exists."""
    bindings = cached_bindings(version)
    recorded = dict(instance.called_versions or {})
    for subprocess in list(getattr(workflow, "subprocesses", {}).values()):
        name = subprocess.spec.name
        if name in bindings and name not in recorded:
            recorded[name] = used.get(name, 0)
    if recorded != (instance.called_versions or {}):
        instance.called_versions = recorded


def describe(session: Session, instance: Instance) -> list[tuple[str, str]]:
    """(called process, "vN" or "随主流程部署") for the case page."""
    rows = []
    for called, version_id in sorted((instance.called_versions or {}).items()):
        found = session.get(ProcessVersion, version_id) if version_id else None
        rows.append((called, f"v{found.version}" if found is not None else ""))
    return rows

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
a reload in any other process uses the same version: nothing in memory decides it. A call not
yet recorded is looked up only when the step reaches it (``load``: ``CalledSpecs`` resolves it on
the library's first request for its spec), so the steps before cost no lookup (issue 18).
A process not deployed on its own (only inside the caller's files) runs the deployed copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, defer
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.selectable import ScalarSelect

from .models import Instance, ProcessVersion
from .parsing import is_bpmn, parse_xml
from .problems import CAMUNDA_NS

if TYPE_CHECKING:
    from lxml import etree

    from .speccache import LoadedVersion, SpecCache

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


def _recorded(session: Session, instance: Instance | None, version: ProcessVersion) -> dict[str, ProcessVersion]:
    """Called process id → its recorded version (not the copies deployed with the caller): one
    statement at most, for the recorded versions not already in the session (without ``files``)."""
    recorded = dict((instance.called_versions if instance is not None else None) or {})
    found: dict[int, ProcessVersion] = {}
    missing: set[int] = set()
    for called in cached_bindings(version):
        version_id = recorded.get(called)
        if version_id:
            row = session.identity_map.get(identity_key(ProcessVersion, version_id))
            if row is not None:
                found[version_id] = row
            else:
                missing.add(version_id)
    if missing:
        with session.no_autoflush:
            query = select(ProcessVersion).options(defer(ProcessVersion.files)).where(ProcessVersion.id.in_(missing))
            found.update({row.id: row for row in session.scalars(query)})  # (files read on a spec-cache miss)
    return {called: found[recorded[called]] for called in cached_bindings(version) if recorded.get(called) in found}


def _resolve_now(session: Session, binding: Binding) -> ProcessVersion | None:
    """The version a call reached now runs (None: the copy deployed with the caller), one statement."""
    query = (
        select(ProcessVersion).options(defer(ProcessVersion.files)).where(ProcessVersion.process_id == binding.called)
    )
    wanted: int | ScalarSelect[Any]
    if binding.binding == "version" and binding.version is not None:
        wanted = binding.version
    else:  # latest (and a "version" binding without a number, as resolve does)
        latest = aliased(ProcessVersion)
        wanted = select(func.max(latest.version)).where(latest.process_id == binding.called).scalar_subquery()
    with session.no_autoflush:
        return session.scalars(query.where(ProcessVersion.version == wanted)).first()


class CalledSpecs(dict[str, Any]):
    """The ``subprocess_specs`` of one load: a called process not yet recorded is resolved when
    the library first asks for its spec (the call is reached: ``start_workflow`` tests ``in``,
    then reads it), so a step that reaches no new call looks nothing up (issue 18)."""

    def __init__(self, base: dict[str, Any], pending: dict[str, Binding], resolve: Callable[[Binding], None]):
        super().__init__(base)
        self.pending = dict(pending)
        self.resolve = resolve

    def _reach(self, name: object) -> None:
        binding = self.pending.pop(name, None) if isinstance(name, str) else None
        if binding is not None:
            self.resolve(binding)

    def __getitem__(self, name: str) -> Any:
        self._reach(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self._reach(name)
        return super().__contains__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self._reach(name)
        return super().get(name, default)


def load(specs: SpecCache, session: Session, instance: Instance | None, version: ProcessVersion) -> LoadedVersion:
    """The version's specs with every recorded call running its recorded version; a call not yet
    recorded (binding ``latest`` or ``version``) is looked up only when it is reached, and the
    version it got goes into this load's ``called_ids`` (``record`` writes it into the instance)."""
    recorded = _recorded(session, instance, version)
    loaded = specs.get(version, recorded)
    done = set((instance.called_versions if instance is not None else None) or {})
    pending = {c: b for c, b in cached_bindings(version).items() if c not in done and b.binding != "deployment"}
    if not pending:
        return loaded
    keep = {*recorded, *pending}  # names the called version's own nested copies never replace
    forms, called_ids = dict(loaded.forms), dict(loaded.called_ids)

    def resolve(binding: Binding) -> None:
        found = _resolve_now(session, binding)
        if found is None:  # not deployed on its own: the copy deployed with the caller
            return
        own = specs.get(found)
        dict.__setitem__(subprocess_specs, binding.called, own.spec)
        for nested, nested_spec in own.subprocess_specs.items():
            if nested not in keep:
                dict.__setitem__(subprocess_specs, nested, nested_spec)
        forms.update(own.forms)
        called_ids[binding.called] = found.id

    subprocess_specs = CalledSpecs(loaded.subprocess_specs, pending, resolve)
    return dataclasses.replace(loaded, subprocess_specs=subprocess_specs, forms=forms, called_ids=called_ids)


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

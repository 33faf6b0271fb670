"""Process tests a designer writes without Python: ``<process>.scenarios.json``.

A scenario starts an instance with some data, walks a path (complete tasks, move the clock
and fire due timers, send messages) and states what must be true at the end (status,
summary, variables, audit actions, ready tasks). Each file runs against a throwaway SQLite
database with a fake clock; nothing touches the real database. The format is described
for designers in docs/PROCESS_TESTS.md.

This module reads the files, deploys their processes and runs each scenario; what a step does
and how expectations are checked is in engine/scenario_steps.py. ``deploy_problems`` is the
scenario check of a deploy: the scenarios about the deployed processes and those calling or
called by them (``scenarios_for``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import FakeClock
from .deploy import process_ids as defined_processes
from .deploy import with_referenced_files
from .errors import EngineError
from .parsing import BundleError, ParsedBundle, element_line, is_bpmn, parse_xml
from .problems import Problem
from .scenario_steps import Mismatch, check_expectations, clock_of, describe_step, parse_time, run_step
from .workdays import WorkCalendar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from .runtime import Engine

SUFFIX = ".scenarios.json"
DEFAULT_START = "2026-03-02T09:00:00+08:00"  # a Monday morning in Beijing


@dataclass
class ScenarioResult:
    file: str
    name: str
    passed: bool
    message: str = ""
    element_id: str | None = None  # the element of the incident that made it fail

    def line(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'}  {self.file} :: {self.name}"
        return head if self.passed else f"{head}\n      {self.message}"


def find_scenario_files(paths: list[str | Path]) -> list[Path]:
    """The given files, or every *.scenarios.json in the given folders."""
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(sorted(p.glob(f"*{SUFFIX}")) if p.is_dir() else [p])
    return found


def run_file(
    path: str | Path,
    engine_class: type[Engine],
    calendar: WorkCalendar | None = None,
    files: dict[str, bytes] | None = None,
) -> list[ScenarioResult]:
    """Run a scenario file with a new ``engine_class`` engine per step; with ``files``, against
    that bundle (a deploy being checked) instead of the process files beside it."""
    path = Path(path)
    label = path.name
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or not isinstance(spec.get("scenarios"), list):
            raise ValueError('the file must be an object with a "scenarios" list')
    except (OSError, ValueError) as exc:
        return [ScenarioResult(label, "(file)", False, f"cannot read the scenario file: {exc}")]
    found = files if files is not None else _files_of(path, spec)
    if isinstance(found, ScenarioResult):
        return [found]
    if calendar is None:
        calendar = WorkCalendar.from_file(path.parent / "calendar.json")
    results = []
    with tempfile.TemporaryDirectory(prefix="zhitongche-test-") as tmp:
        from .db import make_engine, make_sessionmaker
        from .models import Base

        db = make_engine(f"sqlite:///{Path(tmp) / 'scenarios.db'}")
        try:
            Base.metadata.create_all(db)
            Session = make_sessionmaker(db)
            try:
                deployed = _deploy(engine_class, Session, found, calendar, spec, label)
            except Mismatch as exc:  # e.g. a "clock" that is not a date-time
                deployed = ScenarioResult(label, "(file)", False, str(exc))
            if isinstance(deployed, ScenarioResult):
                return [deployed]
            for index, scenario in enumerate(spec["scenarios"], 1):
                name = str(scenario.get("name") or f"scenario {index}")
                try:
                    _run(engine_class, Session, calendar, spec, scenario, deployed)
                except Mismatch as exc:
                    results.append(ScenarioResult(label, name, False, str(exc), exc.element_id))
                else:
                    results.append(ScenarioResult(label, name, True))
        finally:
            db.dispose()
    return results


def _files_of(path: Path, spec: dict[str, Any]) -> dict[str, bytes] | ScenarioResult:
    names = spec.get("files")
    if names:
        paths = [path.parent / n for n in names]
    else:
        stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
        paths = [p for p in (path.parent / f"{stem}.bpmn", path.parent / f"{stem}.bpmn20.xml") if p.exists()]
        if not paths:
            return ScenarioResult(
                path.name,
                "(file)",
                False,
                f'no {stem}.bpmn beside the scenario file; name the process files in "files"',
            )
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return ScenarioResult(path.name, "(file)", False, f"file(s) not found: {', '.join(missing)}")
    return with_referenced_files(paths)


def _new_engine(engine_class: type[Engine], calendar: WorkCalendar, start: str | FakeClock) -> Engine:
    """A new engine (empty spec cache): every step of a scenario runs on its own, as if in
    another process (another web worker, after a restart), on the scenario's clock."""
    clock = start if isinstance(start, FakeClock) else FakeClock(parse_time(start))
    return engine_class(clock=clock, calendar=calendar)


def _deploy(
    engine_class: type[Engine],
    Session: sessionmaker[Session],
    files: dict[str, bytes],
    calendar: WorkCalendar,
    spec: dict[str, Any],
    label: str,
) -> str | ScenarioResult:
    engine = _new_engine(engine_class, calendar, spec.get("clock", DEFAULT_START))
    try:
        with Session.begin() as session:
            result = engine.deploy(session, files, "scenario")
    except BundleError as exc:
        return ScenarioResult(
            label,
            "(deploy)",
            False,
            "the process files do not deploy:\n      " + "\n      ".join(str(p) for p in exc.problems),
        )
    process_ids = [pid for pid, _ in result.created + result.unchanged]
    process_id = spec.get("process")
    if process_id is None:
        stem = label[: -len(SUFFIX)] if label.endswith(SUFFIX) else label
        main = [n for n in files if is_bpmn(n) and n in (f"{stem}.bpmn", f"{stem}.bpmn20.xml")][:1] or [
            n for n in files if is_bpmn(n)
        ][:1]
        candidates = [pid for pid in process_ids if main and _file_of(Session, engine, pid) == main[0]]
        if len(candidates) != 1:
            return ScenarioResult(
                label,
                "(file)",
                False,
                f'say which process to start with "process" (one of: {", ".join(sorted(process_ids))})',
            )
        process_id = candidates[0]
    elif process_id not in process_ids:
        return ScenarioResult(
            label,
            "(file)",
            False,
            f"process '{process_id}' is not in the files (found: {', '.join(sorted(process_ids))})",
        )
    return process_id


def _file_of(Session: sessionmaker[Session], engine: Engine, process_id: str) -> str:
    with Session() as session:
        return engine.version(session, process_id).main_file


def _run(
    engine_class: type[Engine],
    Session: sessionmaker[Session],
    calendar: WorkCalendar,
    spec: dict[str, Any],
    scenario: dict[str, Any],
    process_id: str,
) -> None:
    engine = _new_engine(engine_class, calendar, scenario.get("clock", spec.get("clock", DEFAULT_START)))
    try:
        with Session.begin() as session:
            instance = engine.start(
                session,
                process_id,
                scenario.get("data") or {},
                actor="scenario",
                business_key=scenario.get("business_key"),
            )
            instance_id = instance.id
    except EngineError as exc:
        raise Mismatch(f"the process does not start: {exc.message}") from None
    for number, step in enumerate(scenario.get("steps") or [], 1):
        engine = _new_engine(engine_class, calendar, clock_of(engine))
        try:
            run_step(Session, engine, calendar, instance_id, step)
        except Mismatch as exc:
            raise Mismatch(f"step {number} ({describe_step(step)}): {exc}", exc.element_id) from None
    check_expectations(
        Session,
        _new_engine(engine_class, calendar, clock_of(engine)),
        instance_id,
        scenario.get("expect") or {},
        "at the end",
    )


def _call_graph(files: dict[str, bytes]) -> dict[str, set[str]]:
    """process id -> the processes its call activities call (from the bundle's BPMN files)."""
    calls: dict[str, set[str]] = {}
    for name, content in files.items():
        if not is_bpmn(name):
            continue
        try:
            root = parse_xml(name, content).getroot()
        except BundleError:
            continue
        for process in root.iter("{*}process"):
            calls.setdefault(process.get("id") or "", set()).update(
                called for el in process.iter("{*}callActivity") if (called := el.get("calledElement"))
            )
    return calls


def related_processes(files: dict[str, bytes], process_ids: list[str]) -> set[str]:
    """The processes, the processes they call and the processes calling them (transitively):
    a change on either side of a call can break the other side's scenarios."""
    calls = _call_graph(files)
    callers: dict[str, set[str]] = {}
    for caller, callees in calls.items():
        for callee in callees:
            callers.setdefault(callee, set()).add(caller)
    related = set(process_ids)
    for graph in (calls, callers):
        pending = list(process_ids)
        seen = set(process_ids)
        while pending:
            for other in graph.get(pending.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    pending.append(other)
        related |= seen
    return related


def scenarios_for(folder: str | Path, files: dict[str, bytes], process_ids: list[str]) -> list[Path]:
    """The scenario files in ``folder`` about the given processes, the processes they call and
    the processes calling them (a scenario's "process", or a ``<name>.bpmn`` of the bundle that
    defines one of them)."""
    process_ids = sorted(related_processes(files, process_ids))
    found = []
    for path in find_scenario_files([folder]) if Path(folder).is_dir() else []:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            spec = {}
        pid = spec.get("process") if isinstance(spec, dict) else None
        stem = path.name[: -len(SUFFIX)]
        defined = set()
        for name in (f"{stem}.bpmn", f"{stem}.bpmn20.xml"):
            if name in files:
                defined |= defined_processes(files[name])
        if (pid in process_ids) or (pid is None and defined & set(process_ids)):
            found.append(path)
    return found


def deploy_problems(
    engine_class: type[Engine],
    scenario_dir: str | Path,
    calendar: WorkCalendar | None,
    bundle: ParsedBundle,
    files: dict[str, bytes],
    process_ids: list[str],
) -> list[Problem]:
    """The failing scenarios of ``scenario_dir`` about these processes, run on the bundle, as
    problems at the incident's element (when there is one): a deploy's scenario check
    (``Engine.deploy(scenario_dir=…)``)."""
    problems = []
    for path in scenarios_for(scenario_dir, files, process_ids):
        for result in run_file(path, engine_class, calendar, files):
            if result.passed:
                continue
            file, line = element_line(bundle.trees, result.element_id)
            problems.append(
                Problem(
                    file or result.file,
                    f"流程测试 {result.file}“{result.name}”未通过，拒绝部署："
                    f"{result.message} / scenario '{result.name}' of {result.file} failed",
                    line,
                    result.element_id,
                )
            )
    return problems

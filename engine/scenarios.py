"""Process tests a designer writes without Python: ``<process>.scenarios.json``.

A scenario starts an instance with some data, walks a path (complete tasks, move the clock
and fire due timers, send messages) and states what must be true at the end (status,
summary, variables, audit actions, ready tasks). Each file runs against a throwaway SQLite
database with a fake clock; nothing touches the real database. The format is described
for designers in docs/PROCESS_TESTS.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import FakeClock
from .deploy import process_ids as defined_processes
from .deploy import with_referenced_files
from .errors import EngineError
from .forms import FormValidationError
from .parsing import BundleError, ParsedBundle, element_line, is_bpmn, parse_xml
from .problems import Problem
from .workdays import CHINA, WorkCalendar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from .models import Instance
    from .runtime import Engine

SUFFIX = ".scenarios.json"
DEFAULT_START = "2026-03-02T09:00:00+08:00"  # a Monday morning in Beijing


class Mismatch(Exception):
    """The first thing that was not as the scenario expected (``element_id``: the incident's)."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.element_id = element_id


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
    clock = start if isinstance(start, FakeClock) else FakeClock(_parse_time(start))
    return engine_class(clock=clock, calendar=calendar)


def _clock_of(engine: Engine) -> FakeClock:
    clock = engine.clock
    assert isinstance(clock, FakeClock)  # every engine of a scenario runs on the scenario's clock
    return clock


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


def _parse_time(value: str) -> _dt.datetime:
    try:
        parsed = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise Mismatch(f"'{value}' is not a date-time like 2026-03-02T09:00:00+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)


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
        engine = _new_engine(engine_class, calendar, _clock_of(engine))
        try:
            _step(Session, engine, calendar, instance_id, step)
        except Mismatch as exc:
            raise Mismatch(f"step {number} ({_describe(step)}): {exc}", exc.element_id) from None
    _check(
        Session,
        _new_engine(engine_class, calendar, _clock_of(engine)),
        instance_id,
        scenario.get("expect") or {},
        "at the end",
    )


def _describe(step: dict) -> str:
    for key in ("complete", "message", "advance", "advance_to", "expect"):
        if key in step:
            return key if key == "expect" else f"{key} {json.dumps(step[key], ensure_ascii=False)}"
    return json.dumps(step, ensure_ascii=False)


def _step(
    Session: sessionmaker[Session], engine: Engine, calendar: WorkCalendar, instance_id: int, step: dict[str, Any]
) -> None:
    if "complete" in step:
        _complete(Session, engine, instance_id, step)
    elif "message" in step:
        with Session.begin() as session:
            try:
                engine.send_message(
                    session,
                    instance_id,
                    step["message"],
                    step.get("payload"),
                    step.get("correlations"),
                    actor=step.get("by", "scenario"),
                )
            except EngineError as exc:
                raise Mismatch(exc.message) from None
    elif "advance" in step or "advance_to" in step:
        clock = _clock_of(engine)
        if "advance_to" in step:
            target = _parse_time(step["advance_to"])
        else:
            target = _advance(clock.now(), step["advance"], calendar)
        if target < clock.now():
            raise Mismatch(f"the clock cannot go back (it is {clock.now().astimezone(CHINA).isoformat()})")
        clock.set(target)
        _fire_due_timers(Session, engine, instance_id)
    elif "expect" in step:
        _check(Session, engine, instance_id, step["expect"], "")
    else:
        raise Mismatch('a step needs one of "complete", "message", "advance", "advance_to", "expect"')


def _advance(now: _dt.datetime, amount: Any, calendar: WorkCalendar) -> _dt.datetime:
    if not isinstance(amount, dict):
        raise Mismatch('"advance" takes e.g. {"workdays": 3} or {"days": 1, "hours": 2}')
    amount = dict(amount)
    local = now.astimezone(CHINA)
    workdays = int(amount.pop("workdays", 0))
    if workdays:
        local = _dt.datetime.combine(calendar.add_workdays(local.date(), workdays), local.timetz())
    try:
        return local + _dt.timedelta(**{k: float(v) for k, v in amount.items()})
    except TypeError:
        raise Mismatch(f"unknown unit in {amount}; use workdays, days, hours, minutes") from None


def _fire_due_timers(Session: sessionmaker[Session], engine: Engine, instance_id: int) -> None:
    for _ in range(100):  # a timer can lead to the next one being due at once
        with Session.begin() as session:
            instance = engine.get_instance(session, instance_id)
            due = instance.next_timer_at
            if instance.status != "running" or due is None or due > engine.clock.now():
                return
            engine.fire_timers(session, instance, actor="timer")
    raise Mismatch("timers keep firing (a cycle timer without end?)")


def _complete(Session: sessionmaker[Session], engine: Engine, instance_id: int, step: dict[str, Any]) -> None:
    bpmn_id = step["complete"]
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        ready = engine.ready_tasks(session, instance_id)
        matching = [t for t in ready if t.bpmn_id == bpmn_id]
        if not matching:
            raise Mismatch(
                f"task {bpmn_id} is not ready (instance {instance.status}{_error(instance)}; "
                f"ready: {', '.join(t.bpmn_id for t in ready) or 'none'})",
                _element(instance),
            )
        task = matching[0]
        group = step.get("as")
        if group and group not in (task.candidate_groups or []):
            raise Mismatch(
                f"task {bpmn_id} is not offered to group {group} "
                f"(its groups: {', '.join(task.candidate_groups or []) or 'none'})"
            )
        try:
            engine.complete_task(session, task.id, step.get("data") or {}, step.get("by", group or "scenario"))
        except FormValidationError as exc:
            raise Mismatch(f"the form refuses the data: {exc}") from None
        except EngineError as exc:
            raise Mismatch(exc.message) from None


def _error(instance: Instance) -> str:
    """The incident, in words: its element (and name) and the engine's message, which names the
    expression that failed."""
    if instance.status == "error" and instance.error:
        name = instance.error.get("element_name")
        return (
            f": incident at {instance.error.get('element_id')}{f' ({name})' if name else ''}: "
            f"{instance.error.get('message')}"
        )
    return ""


def _element(instance: Instance) -> str | None:
    return (instance.error or {}).get("element_id") if instance.status == "error" else None


def _check(
    Session: sessionmaker[Session], engine: Engine, instance_id: int, expect: dict[str, Any], where: str
) -> None:
    where = f" {where}" if where else ""
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        ready = engine.ready_tasks(session, instance_id)
        if "status" in expect and instance.status != expect["status"]:
            raise Mismatch(
                f"expected status {expect['status']}{where}, got {instance.status}{_error(instance)} "
                f"(ready: {', '.join(t.bpmn_id for t in ready) or 'none'})",
                _element(instance),
            )
        if "ready" in expect:
            got = sorted(t.bpmn_id for t in ready)
            if got != sorted(expect["ready"]):  # an incident is the reason: say it rather than hide it
                raise Mismatch(
                    f"expected ready tasks {sorted(expect['ready'])}{where}, got {got}"
                    f"{f' (instance {instance.status}{_error(instance)})' if _error(instance) else ''}",
                    _element(instance),
                )
        for bpmn_id, groups in (expect.get("groups") or {}).items():
            rows = [t for t in ready if t.bpmn_id == bpmn_id]
            if not rows:
                raise Mismatch(f"expected task {bpmn_id} to be ready{where} to check its groups")
            if sorted(rows[0].candidate_groups or []) != sorted([groups] if isinstance(groups, str) else groups):
                raise Mismatch(f"task {bpmn_id} is offered to {rows[0].candidate_groups}, expected {groups}")
        _subset("summary", expect.get("summary"), instance.summary or {}, where)
        if expect.get("variables"):
            _subset("variable", expect["variables"], engine.workflow_data(instance), where)
        if "audit" in expect:
            _audit(expect["audit"], [a.action for a in engine.history(session, instance_id)], where)


def _subset(kind: str, expected: Any, actual: dict, where: str) -> None:
    for key, value in (expected or {}).items():
        if key not in actual:
            raise Mismatch(f"{kind} '{key}' is missing{where} (has: {', '.join(sorted(actual)) or 'nothing'})")
        if actual[key] != value:
            raise Mismatch(
                f"{kind} '{key}'{where}: expected {json.dumps(value, ensure_ascii=False)}, "
                f"got {json.dumps(actual[key], ensure_ascii=False, default=str)}"
            )


def _audit(expected: Any, actions: list[str], where: str) -> None:
    if isinstance(expected, list):
        if actions != expected:
            at = next(
                (i for i, (a, b) in enumerate(zip(actions, expected)) if a != b), min(len(actions), len(expected))
            )
            raise Mismatch(f"audit actions{where} differ at position {at + 1}: expected {expected}, got {actions}")
        return
    wanted = list((expected or {}).get("contains") or [])
    position = 0
    for action in actions:
        if position < len(wanted) and action == wanted[position]:
            position += 1
    if position < len(wanted):
        raise Mismatch(f"audit actions{where} lack '{wanted[position]}' in order {wanted}; got {actions}")


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

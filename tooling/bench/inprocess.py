"""(a) the bare library in memory, (b) our engine with persistence, (d) cost per step of a
looping case — all in this process, on the real case process."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.engine import Engine as SaEngine
from sqlalchemy.orm import Session, sessionmaker

from engine import cases
from engine.clock import FakeClock
from engine.config import Settings
from engine.db import make_engine, make_sessionmaker
from engine.deploy import collect_files
from engine.models import AuditEntry, Base, Instance
from engine.runtime import Engine
from engine.speccache import LoadedVersion
from engine.workdays import WorkCalendar

from . import scenario

START = "2026-03-02T01:00:00+00:00"  # Monday 09:00 Beijing time


def project_files() -> dict[str, bytes]:
    settings = Settings()
    return collect_files(settings.processes_dir, settings.forms_dir)


def make_engine_for_bench(start: str = START) -> Engine:
    settings = Settings()
    return Engine(clock=FakeClock(start), calendar=WorkCalendar.from_file(settings.calendar_file))


@dataclass
class Rig:
    """A migrated database with the project deployed, and an engine on a fixed clock."""

    Session: sessionmaker[Session]
    engine: Engine
    db: SaEngine

    @classmethod
    def sqlite(cls, directory: Path, name: str = "bench.db") -> Rig:
        db = make_engine(f"sqlite:///{directory / name}")
        return cls.on(db)

    @classmethod
    def on(cls, db: SaEngine, start: str = START) -> Rig:
        Base.metadata.create_all(db)
        Session = make_sessionmaker(db)
        engine = make_engine_for_bench(start)
        with Session.begin() as s:
            engine.deploy(s, project_files(), "bench")
        return cls(Session, engine, db)

    def submit(self, i: int = 0) -> int:
        with self.Session.begin() as s:
            return cases.start_case(s, self.engine, scenario.submission(i), actor="bench").id

    def step(self, instance_id: int, name: str, group: str, data: dict) -> None:
        """One web request's worth: find the ready task, complete it, commit."""
        with self.Session.begin() as s:
            found = [
                t
                for t in self.engine.ready_tasks(s, instance_id)
                if t.name == name and group in (t.candidate_groups or [])
            ]
            if len(found) != 1:
                raise AssertionError(f"expected one ready task '{name}' for {group}, found {len(found)}")
            inst = self.engine.complete_task(s, found[0].id, data, group)
            if inst.status == "error":
                raise AssertionError(f"case {instance_id} fell into an incident: {inst.error}")

    def status(self, instance_id: int) -> str:
        with self.Session() as s:
            return self.engine.get_instance(s, instance_id).status


# -- (a) the library alone --------------------------------------------------------------------
def library_default_engine(engine: Engine) -> Any:
    """The library's own script engine (``PythonScriptEngine`` on its ``TaskDataEnvironment``,
    no sandbox, no compiled-expression cache) with the same helper functions as ours, which the
    case process's expressions call."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

    from engine.sandbox import BASE_HELPERS

    helpers = engine.script_engine.environment.helpers
    return PythonScriptEngine(environment=TaskDataEnvironment({**BASE_HELPERS, **helpers.local}))


def _bare_case(engine: Engine, loaded: LoadedVersion, data: dict[str, Any], script_engine: Any = None) -> int:
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=script_engine or engine.script_engine)
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update(data)
    wf.do_engine_steps()
    done = 0
    for name, _group, form in scenario.HAPPY_PATH:
        ready = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_name == name]
        if len(ready) != 1:
            raise AssertionError(f"bare library: expected one ready '{name}', found {len(ready)}")
        task = ready[0]
        task.data.update(form)
        task.run()
        wf.do_engine_steps()
        done += 1
    if not wf.is_completed():
        raise AssertionError("bare library: the happy path did not complete the case")
    return done


def bare_library(rig: Rig, n_cases: int, library_default: bool = False) -> dict:
    """User tasks per second of SpiffWorkflow alone: spec parsed once, no persistence; with our
    sandboxed script engine, or (``library_default``) the library's default one."""
    from engine.clock import using

    with rig.Session() as s:
        pv = rig.engine.version(s, cases.CASE_PROCESS)
        loaded = rig.engine.specs.get(pv)
    script_engine = library_default_engine(rig.engine) if library_default else None
    with using(rig.engine.clock):
        times, cpu = [], []
        for i in range(n_cases):
            t0, c0 = time.perf_counter(), time.process_time()
            _bare_case(rig.engine, loaded, {**scenario.submission(i), "case_no": f"ZTC-2026-{i:04d}"}, script_engine)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return {**_rate(times, cpu, scenario.HAPPY_STEPS, n_cases), "all_completed": True}


# -- (b) the engine with persistence ------------------------------------------------------------
def persisted(rig: Rig, n_cases: int) -> dict:
    """User tasks per second through Engine.start/complete_task, one transaction per step."""
    times, cpu, ids = [], [], []
    for i in range(n_cases):
        t0, c0 = time.perf_counter(), time.process_time()
        instance_id = rig.submit(i)
        for name, group, data in scenario.HAPPY_PATH:
            rig.step(instance_id, name, group, data)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        ids.append(instance_id)
    with rig.Session() as s:
        done = s.scalar(
            select(func.count()).select_from(Instance).where(Instance.id.in_(ids), Instance.status == "completed")
        )
    return {**_rate(times, cpu, scenario.HAPPY_STEPS, n_cases), "all_completed": done == len(ids)}


def _rate(times: list[float], cpu: list[float], steps: int, n_cases: int) -> dict:
    """Per case: start (submission) plus ``steps`` user tasks; the rate counts the user tasks."""
    per_case = statistics.median(times)
    return {
        "cases": n_cases,
        "user_tasks": n_cases * steps,
        "median_case_s": per_case,
        "tasks_per_s": steps / per_case,
        "cpu_tasks_per_s": steps / statistics.median(cpu),
        "total_s": sum(times),
    }


# -- (d) one case sent round and round ----------------------------------------------------------
def loops(rig: Rig, checkpoints: list[int], window: int = 5) -> dict:
    """Median time per persisted step around loop k, for each k in ``checkpoints``; then the
    case is closed and must end completed with every loop in its history."""
    last = max(checkpoints) + window - 1
    warm = rig.submit(20_001)  # warm-up: the loop's expressions compiled, its queries cached
    for name, group, data in scenario.BEFORE_LOOP + scenario.LOOP * 2:
        rig.step(warm, name, group, data)
    instance_id = rig.submit(20_000)
    for name, group, data in scenario.BEFORE_LOOP:
        rig.step(instance_id, name, group, data)
    per_loop: list[list[float]] = []  # step times (wall) of each loop
    per_loop_cpu: list[list[float]] = []  # the same in CPU time of this process (less sensitive to load)
    sizes: dict[int, int] = {}
    for k in range(1, last + 1):
        times, cpu = [], []
        for name, group, data in scenario.LOOP:
            t0, c0 = time.perf_counter(), time.process_time()
            rig.step(instance_id, name, group, data)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        per_loop.append(times)
        per_loop_cpu.append(cpu)
        if k in checkpoints:
            with rig.Session() as s:
                sizes[k] = len(rig.engine.get_instance(s, instance_id).state)
    for name, group, data in scenario.AFTER_LOOP:
        rig.step(instance_id, name, group, data)
    with rig.Session() as s:
        status = rig.engine.get_instance(s, instance_id).status
        reviews = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.instance_id == instance_id,
                AuditEntry.action == "complete",
                AuditEntry.task_name == "结果审核",
            )
        )
    correct = status == "completed" and reviews == last + 1
    result = {
        "loops": last,
        "status": status,
        "reviews": reviews,
        "correct": correct,
        "state_bytes": sizes,
        "step_ms": {
            k: 1000 * statistics.median(t for loop in per_loop[k - 1 : k - 1 + window] for t in loop)
            for k in checkpoints
        },
        "step_cpu_ms": {
            k: 1000 * statistics.median(t for loop in per_loop_cpu[k - 1 : k - 1 + window] for t in loop)
            for k in checkpoints
        },
    }
    return result

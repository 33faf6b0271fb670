"""Drive a 直通车 case the way its users do: who completes which task with which data,
the clock moving on, timers firing as the worker would fire them."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from sqlalchemy import select

from engine import cases
from engine.deploy import collect_files
from engine.forms import uscc_check_digit
from engine.models import AuditEntry, HumanTask, Instance
from engine.workdays import CHINA
from tooling.bench import scenario as bench_scenario

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"


def make_uscc(body17: str = "91211300MA0Q1ABC2") -> str:
    return body17 + uscc_check_digit(body17)


def project_files(**replace: bytes) -> dict[str, bytes]:
    files = collect_files(PROCESSES, FORMS)
    files.update(replace)
    return files


def submission(**overrides) -> dict:
    """Valid intake data (the benchmark's), for one fixed enterprise."""
    return {
        **bench_scenario.submission(),
        "enterprise_name": "朝阳某新能源科技有限公司",
        "uscc": make_uscc(),
        **overrides,
    }


def beijing(day: str, hm: str = "09:00") -> _dt.datetime:
    return _dt.datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=CHINA)


class Case:
    """One case, by number; every call runs in a transaction of its own, as a web request would."""

    def __init__(self, Session, engine, clock, case_no: str):
        self.Session, self.engine, self.clock, self.case_no = Session, engine, clock, case_no

    # -- reading ---------------------------------------------------------------------
    def instance(self) -> Instance:
        with self.Session() as s:
            return cases.find_case(s, self.case_no)

    @property
    def summary(self) -> dict:
        return self.instance().summary

    @property
    def status(self) -> str:
        return self.instance().status

    def tasks(self) -> list[HumanTask]:
        with self.Session() as s:
            inst = cases.find_case(s, self.case_no)
            return self.engine.ready_tasks(s, inst.id)

    def open_tasks(self) -> list[tuple[str, list[str]]]:
        """(task name, candidate groups) of every task people can work on now."""
        return [(t.name, list(t.candidate_groups)) for t in self.tasks()]

    def task(self, name: str, group: str | None = None) -> HumanTask:
        found = [t for t in self.tasks() if t.name == name and (group is None or group in t.candidate_groups)]
        assert len(found) == 1, f"expected one ready task '{name}' for {group}, open: {self.open_tasks()}"
        return found[0]

    def task_data(self, name: str, group: str | None = None) -> dict:
        """What the form of a ready task is shown beside (suggestions, case data)."""
        task_id = self.task(name, group).id
        with self.Session() as s:
            return self.engine.task_data(self.engine.get_task(s, task_id))

    def workflow(self):
        with self.Session() as s:
            return self.engine.load(cases.find_case(s, self.case_no))[0]

    def audit(self) -> list[AuditEntry]:
        with self.Session() as s:
            inst = cases.find_case(s, self.case_no)
            return self.engine.history(s, inst.id)

    def completed_task_names(self) -> list[str]:
        return [a.task_name for a in self.audit() if a.action == "complete"]

    def timer_names(self) -> list[str]:
        return [name for a in self.audit() if a.action == "timer" for name in a.data["fired"]]

    # -- acting ----------------------------------------------------------------------
    def complete(self, name: str, group: str | None, data: dict | None = None, actor: str | None = None) -> None:
        """The one ready task ``name`` of ``group`` is completed with ``data`` (one transaction)."""
        with self.Session.begin() as s:
            inst = cases.find_case(s, self.case_no)
            ready = self.engine.ready_tasks(s, inst.id)
            found = [t for t in ready if t.name == name and (group is None or group in t.candidate_groups)]
            assert len(found) == 1, (
                f"expected one ready task '{name}' for {group}, open: {[(t.name, t.candidate_groups) for t in ready]}"
            )
            inst = self.engine.complete_task(s, found[0].id, data or {}, actor or (group or "tester"))
            assert inst.status != "error", inst.error

    def message(self, name: str, payload: dict | None = None, actor: str = "enterprise") -> None:
        with self.Session.begin() as s:
            cases.deliver_case_message(s, self.engine, self.case_no, name, payload or {}, actor)

    def move_to(self, when: _dt.datetime) -> None:
        """Move the clock and fire every timer that became due, as the worker does."""
        self.clock.set(when)
        fire_due(self.Session, self.engine, self.clock)
        inst = self.instance()
        assert inst.status != "error", inst.error


def fire_due(Session, engine, clock, rounds: int = 20) -> int:
    fired = 0
    for _ in range(rounds):
        with Session.begin() as s:
            due = list(
                s.scalars(select(Instance).where(Instance.status == "running", Instance.next_timer_at <= clock.now()))
            )
            for inst in due:
                engine.fire_timers(s, inst)
        if not due:
            return fired
        fired += len(due)
    return fired


def submit(Session, engine, clock, **overrides) -> Case:
    with Session.begin() as s:
        inst = cases.start_case(
            s, engine, submission(**overrides), actor="enterprise:" + overrides.get("uscc", make_uscc())
        )
        case_no = inst.business_key
    case = Case(Session, engine, clock, case_no)
    assert case.status == "running", case.instance().error
    return case

"""``zhitongche doctor`` finds stalled cases and cases whose tables disagree with their state;
it says nothing, and exits 0, on a database of healthy cases."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import update

from engine.models import HumanTask, Instance
from engine.runtime import Engine
from tests.fresh import lose_the_merge
from tests.scenarios.driver import project_files, submit
from tests.scenarios.test_case_paths import accept_and_dispatch
from webapp.cli import common, main


def doctor(monkeypatch, Session, *args):
    monkeypatch.setattr(common, "session_factory", lambda settings, migrate=True: Session)
    return CliRunner().invoke(main, ["doctor", *args])


def test_doctor_reports_stalled_and_inconsistent_cases(monkeypatch, Session, clock, deploy):
    engine = Engine(clock=clock)
    deploy(project_files())
    healthy = submit(Session, engine, clock)
    accept_and_dispatch(healthy, lead="fgw", coop=["gdgs"], mode="快速办")
    result = doctor(monkeypatch, Session)
    assert result.exit_code == 0, result.output
    assert "checked 1 case(s)" in result.output and "0 stalled, 0 other" in result.output

    # a case whose last cooperating unit answered in a process that lost the merge: the step
    # itself makes it an incident now; the doctor lists it
    stuck = submit(Session, engine, clock)
    accept_and_dispatch(stuck, lead="fgw", coop=["gdgs"], mode="快速办")
    stuck.complete("拟办办理结果", "unit:fgw", {"handling_result": "已协调", "solved": True})
    broken = Engine(clock=clock)
    lose_the_merge(broken, Session, stuck)
    stuck.engine = broken
    task = stuck.task("配合单位意见", "unit:gdgs")
    with Session.begin() as s:
        broken.complete_task(s, task.id, {"coop_agree": True, "coop_opinion_text": "同意"}, "unit:gdgs")
    # and a healthy case whose task list was changed behind the engine's back
    with Session.begin() as s:
        s.execute(
            update(HumanTask)
            .where(HumanTask.instance_id == healthy.instance().id, HumanTask.name == "配合单位意见")
            .values(state="cancelled")
        )
    result = doctor(monkeypatch, Session)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    print(result.output)
    assert any(stuck.case_no in line and "stalled incident" in line and "配合单位意见" in line for line in lines)
    assert any(healthy.case_no in line and "1 ready task(s) missing from the task list" in line for line in lines)
    assert "1 stalled, 1 other problem(s)" in lines[-1]


def test_doctor_marks_a_running_case_found_stalled(monkeypatch, Session, clock, deploy):
    """A case saved stalled before the engine checked each step (running, its timers armed)."""
    engine = Engine(clock=clock)
    deploy(project_files())
    case = submit(Session, engine, clock)
    accept_and_dispatch(case, lead="fgw", coop=["gdgs"], mode="快速办")
    case.complete("拟办办理结果", "unit:fgw", {"handling_result": "已协调", "solved": True})
    broken = Engine(clock=clock)
    lose_the_merge(broken, Session, case)
    task = case.task("配合单位意见", "unit:gdgs")
    with Session.begin() as s:
        inst = broken.complete_task(s, task.id, {"coop_agree": True, "coop_opinion_text": "同意"}, "unit:gdgs")
        inst.status, inst.error = "running", None  # as the old engine saved it
    result = doctor(monkeypatch, Session)
    assert result.exit_code == 1 and "stalled: no task is ready" in result.output
    result = doctor(monkeypatch, Session, "--mark")
    with Session() as s:
        inst = s.get(Instance, case.instance().id)
        assert (inst.status, inst.error["kind"], inst.next_timer_at) == ("error", "stalled", None)
    with Session.begin() as s:  # the admin's retry hands the children to their parent
        Engine(clock=clock).retry(s, inst.id, "admin")
    case.engine = Engine(clock=clock)
    assert case.open_tasks() == [("负责人审核", ["head:fgw"])]
    assert doctor(monkeypatch, Session).exit_code == 0

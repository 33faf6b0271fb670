"""A case goes on whichever process runs its next step.

Two engines live in two operating-system processes on one database, as two web workers do;
the steps of one case alternate between them, so that multi-instance children (cooperating
units, decision items) are created in one process and completed in the other. In the second
test every step runs in a process of its own, as if the server were restarted between any two
steps. Both must reach 已办结.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine import cases
from engine.db import make_sessionmaker
from engine.runtime import Engine
from tests.worker.test_processes import ROOT, worker_env

from .driver import Case, project_files

NOW = "2026-03-02T01:00:00+00:00"


class Stepper:
    """``python -m tests.scenarios.stepper`` kept running: one engine, one spec cache."""

    def __init__(self, db_engine) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.scenarios.stepper"],
            cwd=ROOT,
            env=worker_env(db_engine),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def __call__(self, **command) -> dict:
        self.proc.stdin.write(json.dumps({"now": NOW, **command}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "the process died"}')
        assert answer.pop("ok"), f"{command.get('op')} {command.get('name', '')}: {answer['error']}"
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


class Restarting:
    """A new process for every step: the server restarted between any two steps."""

    def __init__(self, db_engine) -> None:
        self.db_engine = db_engine

    def __call__(self, **command) -> dict:
        stepper = Stepper(self.db_engine)
        try:
            return stepper(**command)
        finally:
            stepper.close()

    def close(self) -> None:
        pass


def journey(a, b) -> str:
    """The whole mechanism, steps alternating between ``a`` and ``b``: cooperating units, an
    escalation to a 专题会议 with three decision items, the return visit."""
    case_no = a(op="submit")["case_no"]
    steps = [
        ("受理审查", "wg:city", {"intake_decision": "accept"}),
        (
            "分级交办",
            "wg:city",
            {"dispatch_action": "dispatch", "lead_unit": "fgw", "coop_units": ["gdgs", "zrzyj"], "mode": "快速办"},
        ),
        ("拟办办理结果", "unit:fgw", {"handling_result": "需市政府协调", "solved": False}),
        ("配合单位意见", "unit:gdgs", {"coop_agree": True, "coop_opinion_text": "同意"}),
        ("配合单位意见", "unit:zrzyj", {"coop_agree": True, "coop_opinion_text": "同意"}),
        ("负责人审核", "head:fgw", {"head_decision": "escalation", "head_reason": "涉及多部门"}),
        ("领导批示", "leader:city", {"leader_mode": "专题会议", "instruction": "召开专题会议研究"}),
        (
            "专题会议纪要",
            "wg:city",
            {
                "meeting_date": "2026-03-03",
                "attendees": ["市长"],
                "minutes": "议定三项",
                "decision_items": [
                    {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
                    {"content": "调整项目备案", "unit": "fgw", "deadline": "2026-03-16"},
                    {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
                ],
            },
        ),
        ("落实议定事项", "unit:zrzyj", {"item_report": "已落实"}),
        ("落实议定事项", "unit:fgw", {"item_report": "已落实"}),
        ("落实议定事项", "unit:gdgs", {"item_report": "已送电"}),
        ("结果审核", "wg:city", {"review_decision": "accept"}),
        ("回访评价", "wg:city", {"satisfaction": "满意", "visit_comment": "满意"}),
    ]
    for number, (name, group, data) in enumerate(steps):
        (b if number % 2 == 0 else a)(op="complete", case_no=case_no, name=name, group=group, data=data)
    return case_no


@pytest.mark.parametrize("mode", ["two-processes", "restart-between-every-step"])
def test_a_case_reaches_its_end_whichever_process_runs_each_step(db_engine, Session, clock, mode):
    with Session.begin() as s:
        Engine(clock=clock).deploy(s, project_files(), "tester")
    kind = Stepper if mode == "two-processes" else Restarting
    a, b = kind(db_engine), kind(db_engine)
    try:
        case_no = journey(a, b)
    finally:
        a.close()
        b.close()
    case = Case(make_sessionmaker(db_engine), Engine(clock=clock), clock, case_no)
    assert (case.status, case.summary["outcome"], case.summary["decision_items_done"]) == ("completed", "solved", 3)
    assert case.tasks() == []
    with Session() as s:
        assert cases.find_case(s, case_no).next_timer_at is None

"""Process tests written as data: a designer's scenario file passes, or says what differed first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.runtime import Engine
from engine.scenarios import run_file

DATA = Path(__file__).parent / "data"


def _write(tmp_path: Path, scenarios: list, **extra) -> Path:
    shutil.copy(DATA / "demo_v1.bpmn", tmp_path / "demo.bpmn")
    path = tmp_path / "demo.scenarios.json"
    path.write_text(json.dumps({"scenarios": scenarios, **extra}, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_demo_scenarios_pass():
    results = run_file(DATA / "demo.scenarios.json", Engine)
    assert [(r.name, r.passed, r.message) for r in results] == [
        ("按期办结", True, ""),
        ("补充材料后办结", True, ""),
        ("超期升级到领导督办", True, ""),
    ]


def test_a_wrong_expectation_fails_with_the_first_mismatch_explained(tmp_path):
    path = _write(
        tmp_path,
        [
            {
                "name": "wrong status",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"complete": "register"}],
                "expect": {"status": "completed"},
            },
            {
                "name": "wrong summary",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"complete": "register"}],
                "expect": {"summary": {"status": "已办结"}},
            },
            {
                "name": "wrong audit",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"complete": "register"}],
                "expect": {"audit": ["start", "timer"]},
            },
        ],
    )  # the bpmn beside it (demo.bpmn) is found by name
    wrong_status, wrong_summary, wrong_audit = run_file(path, Engine)
    assert not wrong_status.passed
    assert "expected status completed at the end, got running (ready: handle)" in wrong_status.message
    assert 'summary \'status\' at the end: expected "已办结", got "办理中"' in wrong_summary.message
    assert "differ at position 2" in wrong_audit.message
    assert wrong_audit.line().startswith("FAIL  demo.scenarios.json :: wrong audit")


def test_a_step_that_cannot_happen_names_the_step(tmp_path):
    path = _write(
        tmp_path,
        [
            {
                "name": "wrong task",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"complete": "register"}, {"complete": "leader_review"}],
            },
            {
                "name": "wrong group",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"complete": "register", "as": "unit:zjj"}],
            },
            {
                "name": "no such message",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [{"message": "material_supplied"}],
            },
        ],
    )
    wrong_task, wrong_group, no_message = run_file(path, Engine)
    assert wrong_task.message.startswith('step 2 (complete "leader_review"): task leader_review is not ready')
    assert "ready: handle" in wrong_task.message
    assert "not offered to group unit:zjj (its groups: wg:city)" in wrong_group.message
    assert "not waiting for message 'material_supplied'" in no_message.message


def test_advancing_working_days_skips_the_weekend_and_fires_due_timers(tmp_path):
    # started Friday 2026-03-06: deadline = 3 working days later = Wednesday 03-11 17:30
    path = _write(
        tmp_path,
        [
            {
                "name": "weekend",
                "data": {"title": "t", "lead_unit": "zjj"},
                "steps": [
                    {"complete": "register"},
                    {"expect": {"summary": {"deadline": "2026-03-11T17:30:00+08:00"}}},
                    {"advance": {"workdays": 3}},
                    {"expect": {"ready": ["handle"]}},
                    {"advance_to": "2026-03-11T17:31:00+08:00"},
                    {"expect": {"ready": ["leader_review"]}},
                ],
            }
        ],
        clock="2026-03-06T10:00:00+08:00",
    )
    [result] = run_file(path, Engine)
    assert result.passed, result.message


def test_process_files_that_do_not_deploy_fail_with_the_problem(tmp_path):
    path = _write(tmp_path, [{"name": "x"}])
    bpmn = tmp_path / "demo.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace("needs_material</", "${needs_material}</"), encoding="utf-8"
    )
    [result] = run_file(path, Engine)
    assert not result.passed and result.name == "(deploy)"
    assert "demo.bpmn:" in result.message and "[f6]: JUEL expressions" in result.message


def _shipped():
    from tests.conftest import ROOT

    return sorted((ROOT / "processes").glob("*.scenarios.json"))


@pytest.mark.parametrize("path", _shipped() or [None], ids=lambda p: p.name if p else "none")
def test_the_scenarios_shipped_beside_the_processes_pass(path):
    assert path is not None, "processes/ ships no *.scenarios.json"
    failures = [r.line() for r in run_file(path, Engine) if not r.passed]
    assert not failures, "\n".join(failures)

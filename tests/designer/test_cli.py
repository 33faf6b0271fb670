"""The designer's command line: validate, deploy, diff, migrate, test-process."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tests.conftest import CORPUS
from webapp.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture
def project(tmp_path, monkeypatch):
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    processes.mkdir()
    forms.mkdir()
    db = tmp_path / "cli.db"
    monkeypatch.setenv("ZHITONGCHE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("ZHITONGCHE_PROCESSES_DIR", str(processes))
    monkeypatch.setenv("ZHITONGCHE_FORMS_DIR", str(forms))
    monkeypatch.setenv("ZHITONGCHE_CALENDAR_FILE", str(processes / "calendar.json"))
    # the schema from the models (tests/test_migrations.py proves the migrations build the same)
    from engine.db import make_engine, make_sessionmaker
    from engine.models import Base
    from webapp import cli

    db_engine = make_engine(f"sqlite:///{db}")
    Base.metadata.create_all(db_engine)
    monkeypatch.setattr(cli, "_session_factory", lambda settings, migrate=True: make_sessionmaker(db_engine))
    yield processes, db
    db_engine.dispose()


def _count(db: Path, table: str) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"select count(*) from {table}")).scalar()
    finally:
        engine.dispose()


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_validate_prints_file_line_element_and_exits_1_for_unsupported_bpmn():
    result = run("validate", str(CORPUS / "miwg" / "C.9.0.bpmn"))
    assert result.exit_code == 1
    assert ("C.9.0.bpmn:268 [BusinessRuleTask_CheckApplicationAutomatically]: business rule task "
            "'Check application automatically' names no decision table") in result.output
    result = run("validate", str(CORPUS / "realworld" / "camunda-twitter-review" / "TwitterDemoProcess.bpmn"))
    assert result.exit_code == 1
    assert "TwitterDemoProcess.bpmn:30 [FormalExpression_1]: JUEL expressions (#{!approved}) are not supported" \
        in result.output


def test_validate_exits_0_for_good_files_and_ignores_unreferenced_siblings():
    # spiff/bpmn also holds service_task.bpmn, which is refused: it must not spoil this file
    result = run("validate", str(CORPUS / "spiff" / "bpmn" / "timer.bpmn"))
    assert result.exit_code == 0, result.output
    assert "ok      1 file(s)" in result.output


def test_deploy_stores_nothing_when_any_file_fails(project):
    processes, db = project
    shutil.copy(DATA / "demo_v1.bpmn", processes / "demo.bpmn")
    bad = (DATA / "demo_v1.bpmn").read_text(encoding="utf-8").replace('id="demo"', 'id="demo2"')
    (processes / "bad.bpmn").write_text(bad.replace("needs_material</", "#{needs_material}</"), encoding="utf-8")
    result = run("deploy")
    assert result.exit_code == 1
    assert "bad.bpmn:" in result.output and "[f6]: JUEL expressions" in result.output
    assert "nothing was deployed" in result.output
    assert _count(db, "process_version") == 0 and _count(db, "deployment") == 0
    (processes / "bad.bpmn").unlink()
    result = run("deploy")
    assert result.exit_code == 0 and "new     demo v1" in result.output
    assert _count(db, "process_version") == 1


def test_diff_and_migrate_commands(project):
    processes, db = project
    shutil.copy(DATA / "demo_v1.bpmn", processes / "demo.bpmn")
    assert run("deploy").exit_code == 0
    from engine.clock import SystemClock  # noqa: F401  (the CLI runs on the real clock)
    from engine.db import make_engine, make_sessionmaker
    from webapp.cli import Settings, build_engine

    engine = build_engine(Settings())
    db_engine = make_engine(f"sqlite:///{db}")
    Session = make_sessionmaker(db_engine)
    with Session.begin() as session:
        instance = engine.start(session, "demo", {"title": "t", "lead_unit": "zjj"})
        engine.complete_task(session, engine.ready_tasks(session, instance.id)[0].id, {}, "a")
        instance_id = instance.id
    db_engine.dispose()
    shutil.copy(DATA / "demo_v2.bpmn", processes / "demo.bpmn")
    assert "new     demo v2" in run("deploy").output

    result = run("diff", "demo", "1", "2")
    assert result.exit_code == 0
    assert "added   demo/review [UserTask] 复核" in result.output
    assert "removed demo/leader_review [UserTask] 领导督办" in result.output
    assert run("diff", "demo", "1", "7").exit_code == 1

    assert run("migrate", "demo").exit_code == 2  # neither --instance nor --all
    result = run("migrate", "demo", "--to", "2", "--dry-run")
    assert f"can move instance {instance_id}: v1 -> v2; changed open tasks: handle" in result.output
    assert "nothing changed" in result.output
    result = run("migrate", "demo", "--to", "2", "--instance", str(instance_id))
    assert result.exit_code == 0 and f"migrated instance {instance_id}: v1 -> v2" in result.output
    assert "no running instance on another version" in run("migrate", "demo", "--all").output
    assert _count(db, "audit_entry where action = 'migrate'") == 1


def test_test_process_command_exit_codes(tmp_path):
    result = run("test-process", str(DATA / "demo.scenarios.json"))
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") == 3 and "3 passed, 0 failed" in result.output
    shutil.copy(DATA / "demo_v1.bpmn", tmp_path / "demo.bpmn")
    (tmp_path / "demo.scenarios.json").write_text(
        '{"scenarios": [{"name": "too hopeful", "data": {"title": "t", "lead_unit": "x"},'
        ' "expect": {"status": "completed"}}]}', encoding="utf-8")
    result = run("test-process", str(tmp_path))
    assert result.exit_code == 1
    assert "FAIL  demo.scenarios.json :: too hopeful" in result.output
    assert "expected status completed at the end, got running (ready: register)" in result.output

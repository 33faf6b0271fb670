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
    from webapp.cli import common

    db_engine = make_engine(f"sqlite:///{db}")
    Base.metadata.create_all(db_engine)
    monkeypatch.setattr(common, "session_factory", lambda settings, migrate=True: make_sessionmaker(db_engine))
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
    assert (
        "C.9.0.bpmn:268 [BusinessRuleTask_CheckApplicationAutomatically]: business rule task "
        "'Check application automatically' names no decision table"
    ) in result.output
    result = run("validate", str(CORPUS / "realworld" / "camunda-twitter-review" / "TwitterDemoProcess.bpmn"))
    assert result.exit_code == 1
    assert (
        "TwitterDemoProcess.bpmn:30 [FormalExpression_1]: JUEL expressions (#{!approved}) are not supported"
        in result.output
    )


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
    from engine.config import Settings
    from engine.db import make_engine, make_sessionmaker
    from webapp.cli.common import build_engine

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
        ' "expect": {"status": "completed"}}]}',
        encoding="utf-8",
    )
    result = run("test-process", str(tmp_path))
    assert result.exit_code == 1
    assert "FAIL  demo.scenarios.json :: too hopeful" in result.output
    assert "expected status completed at the end, got running (ready: register)" in result.output


def _web_edit(db, old: str, new: str, by: str = "manager") -> None:
    """What the designer's editor does: a new version based on the latest, made on the web."""
    from engine.config import Settings
    from engine.db import make_engine, make_sessionmaker
    from webapp.cli.common import build_engine

    db_engine = make_engine(f"sqlite:///{db}")
    try:
        with make_sessionmaker(db_engine).begin() as session:
            engine = build_engine(Settings())
            latest = engine.version(session, "demo")
            files = {n: t.replace(old, new).encode() for n, t in latest.files.items()}
            engine.deploy(session, files, by, "web edit", origin="web", base_versions={"demo": latest.version})
    finally:
        db_engine.dispose()


def test_restarting_keeps_a_web_edit_and_changed_files_are_refused_naming_it(project, capsys):
    from engine.config import Settings
    from webapp.cli import common
    from webapp.cli.processes import deploy_quietly

    processes, db = project
    shutil.copy(DATA / "demo_v1.bpmn", processes / "demo.bpmn")
    assert "new     demo v1" in run("deploy").output
    _web_edit(db, "登记", "收件登记")
    settings = Settings()
    deploy_quietly(common.session_factory(settings), settings)  # `zhitongche run`'s deploy step
    assert "kept    demo v2" in capsys.readouterr().out
    assert _count(db, "process_version") == 2
    # the files change too: refused, naming the web version; nothing stored
    shutil.copy(DATA / "demo_v2.bpmn", processes / "demo.bpmn")
    deploy_quietly(common.session_factory(settings), settings)
    err = capsys.readouterr().err
    assert "最新版本 v2（网页，manager）不是从文件部署的" in err and "running with the versions deployed before" in err
    result = run("deploy")
    assert result.exit_code == 1 and "zhitongche export demo" in result.output
    assert _count(db, "process_version") == 2
    assert "new     demo v3" in run("deploy", "--force").output


def test_export_writes_the_web_version_into_the_files(project):
    processes, db = project
    shutil.copy(DATA / "demo_v1.bpmn", processes / "demo.bpmn")
    (processes.parent / "forms" / "unused.schema.json").write_text("{}", encoding="utf-8")
    assert run("deploy").exit_code == 0
    _web_edit(db, "登记", "收件登记")
    result = run("export", "demo")
    assert result.exit_code == 0 and "exported demo v2" in result.output
    assert "收件登记" in (processes / "demo.bpmn").read_text(encoding="utf-8")
    assert "same    demo v2" in run("deploy").output  # the files are the web version now
    text = (processes / "demo.bpmn").read_text(encoding="utf-8")
    (processes / "demo.bpmn").write_text(text.replace("收件登记", "收件登记（改）"), encoding="utf-8")
    assert "new     demo v3" in run("deploy").output  # and go on from it
    assert run("export", "demo", "--version", "9").exit_code == 1


def test_test_process_names_the_incident_instead_of_hiding_it(tmp_path):
    text = (DATA / "demo_v1.bpmn").read_text(encoding="utf-8")
    (tmp_path / "demo_v1.bpmn").write_text(
        text.replace("add_workdays(now(), 3)", "add_workdays(now(), lead_days)"), encoding="utf-8"
    )
    shutil.copy(DATA / "demo.scenarios.json", tmp_path / "demo.scenarios.json")
    result = run("test-process", str(tmp_path / "demo.scenarios.json"))
    assert result.exit_code == 1
    assert (
        "expected ready tasks ['handle'], got [] (instance error: incident at set_deadline (定期限): NameError: "
        "name 'lead_days' is not defined"
    ) in result.output


def test_migrate_maps_a_removed_activity_with_map(project):
    processes, db = project
    shutil.copy(DATA / "demo_v1.bpmn", processes / "demo.bpmn")
    assert run("deploy").exit_code == 0
    from engine.clock import FakeClock
    from engine.db import make_engine, make_sessionmaker
    from engine.runtime import Engine

    clock = FakeClock("2026-03-02T01:00:00+00:00")
    engine = Engine(clock=clock)
    db_engine = make_engine(f"sqlite:///{db}")
    Session = make_sessionmaker(db_engine)
    with Session.begin() as session:  # a case whose deadline passed: it waits on 领导督办
        instance = engine.start(session, "demo", {"title": "t", "lead_unit": "zjj"})
        engine.complete_task(session, engine.ready_tasks(session, instance.id)[0].id, {}, "a")
        instance_id = instance.id
    clock.advance(days=7)
    with Session.begin() as session:
        engine.fire_timers(session, engine.get_instance(session, instance_id))
    db_engine.dispose()
    shutil.copy(DATA / "demo_v2.bpmn", processes / "demo.bpmn")
    assert "new     demo v2" in run("deploy").output

    result = run("migrate", "demo", "--instance", str(instance_id))
    assert result.exit_code == 1
    assert f"refused instance {instance_id}: v1 -> v2: task leader_review (READY) is not in version 2" in result.output
    assert "hint    --map leader_review=NEW" in result.output
    result = run("migrate", "demo", "--instance", str(instance_id), "--map", "leader_review=nope")
    assert (
        result.exit_code == 1 and "error   mapping leader_review=nope: no element 'nope' in version 2" in result.output
    )
    assert run("migrate", "demo", "--all", "--map", "leader_review").exit_code == 1  # not OLD=NEW
    result = run("migrate", "demo", "--instance", str(instance_id), "--map", "leader_review=review")
    assert result.exit_code == 0, result.output
    assert f"migrated instance {instance_id}: v1 -> v2; leader_review mapped → review (复核)" in result.output
    assert _count(db, "human_task where state = 'ready' and bpmn_id = 'review' and name = '复核'") == 1

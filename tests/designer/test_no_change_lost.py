"""No change is lost (issue 15): deploys from files never supersede a web/API version, and a
deploy based on an old version is refused with what changed since."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.deployguard import DeployConflict
from engine.models import ProcessVersion

DATA = Path(__file__).parent / "data"
V1 = {"demo.bpmn": (DATA / "demo_v1.bpmn").read_bytes()}
V2 = {"demo.bpmn": (DATA / "demo_v2.bpmn").read_bytes()}


def renamed(files: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    return {k: v.replace(old.encode(), new.encode()) for k, v in files.items()}


def _deploy(engine, Session, files, **kw):
    with Session.begin() as session:
        return engine.deploy(session, files, kw.pop("by", "tester"), **kw)


def _latest(Session) -> tuple[int, str]:
    with Session() as session:
        v = session.query(ProcessVersion).order_by(ProcessVersion.version.desc()).first()
        return v.version, v.deployment.origin


def test_redeploying_unchanged_files_keeps_a_newer_web_version(engine, Session):
    _deploy(engine, Session, V1)
    _deploy(engine, Session, renamed(V1, "登记", "收件登记"), origin="web", base_versions={"demo": 1}, by="manager")
    result = _deploy(engine, Session, V1, by="run")  # what `zhitongche run` does at every start
    assert result.created == [] and result.kept == [("demo", 2)]
    assert _latest(Session) == (2, "web")
    assert any("kept    demo v2" in line for line in result.lines())


def test_changed_files_over_a_web_version_are_refused_naming_it_unless_forced(engine, Session):
    _deploy(engine, Session, V1)
    _deploy(engine, Session, renamed(V1, "登记", "收件登记"), origin="web", base_versions={"demo": 1}, by="manager")
    with pytest.raises(DeployConflict) as caught:
        _deploy(engine, Session, V2)
    item = caught.value.superseded[0]
    assert (item.process_id, item.latest_version, item.latest_origin, item.latest_by) == ("demo", 2, "web", "manager")
    assert "v2" in item.message() and "--force" in item.message()
    assert "收件登记" in item.diff
    assert _latest(Session) == (2, "web")  # nothing stored
    result = _deploy(engine, Session, V2, force=True)
    assert result.created == [("demo", 3)]


def test_after_export_the_files_continue_from_the_web_version(engine, Session):
    _deploy(engine, Session, V1)
    web = renamed(V1, "登记", "收件登记")
    _deploy(engine, Session, web, origin="web", base_versions={"demo": 1})
    assert _deploy(engine, Session, web).unchanged == [("demo", 2)]  # the exported files, deployed: adopted
    result = _deploy(engine, Session, renamed(web, "收件登记", "登记（新）"))
    assert result.created == [("demo", 3)]


def test_a_deploy_based_on_an_old_version_is_refused_with_the_diff(engine, Session):
    _deploy(engine, Session, V1)
    _deploy(engine, Session, renamed(V1, "登记", "收件登记"), origin="web", base_versions={"demo": 1}, by="alice")
    with pytest.raises(DeployConflict) as caught:  # bob's tab was also opened on v1
        _deploy(
            engine,
            Session,
            renamed(V1, "示范办理", "示范办理（新）"),
            origin="web",
            base_versions={"demo": 1},
            by="bob",
        )
    item = caught.value.superseded[0]
    assert (item.base_version, item.latest_version, item.latest_by) == (1, 2, "alice")
    assert "-" in item.diff and "+" in item.diff and "收件登记" in item.diff
    assert item.changed_since == ["demo.bpmn"] and item.edited == ["demo.bpmn"]
    assert not item.can_apply_on_latest  # the same file changed on both sides
    assert _latest(Session) == (2, "web")
    # based on the latest it goes through, and the version says what it was based on
    _deploy(
        engine,
        Session,
        renamed(renamed(V1, "登记", "收件登记"), "示范办理", "示范办理（新）"),
        origin="web",
        base_versions={"demo": 2},
        by="bob",
    )
    with Session() as session:
        v3 = session.query(ProcessVersion).filter_by(version=3).one()
        assert (v3.base_version, v3.deployment.origin, v3.deployment.deployed_by) == (2, "web", "bob")


# -- scenarios run as part of a deploy -------------------------------------------------------
BROKEN = {"demo_v1.bpmn": V1["demo.bpmn"].replace(b"add_workdays(now(), 3)", b"add_workdays(now(), lead_days)")}


def test_a_failing_scenario_refuses_the_deploy_naming_the_incident(engine, Session, tmp_path):
    from engine.parsing import BundleError

    (tmp_path / "demo.scenarios.json").write_bytes((DATA / "demo.scenarios.json").read_bytes())
    with pytest.raises(BundleError) as caught:
        _deploy(engine, Session, BROKEN, scenario_dir=tmp_path)
    problem = caught.value.problems[0]
    assert (problem.file, problem.element_id) == ("demo_v1.bpmn", "set_deadline") and problem.line
    assert "流程测试 demo.scenarios.json“按期办结”未通过" in problem.message
    assert "incident at set_deadline (定期限)" in problem.message and "lead_days" in problem.message
    with Session() as session:
        assert session.query(ProcessVersion).count() == 0
    # the same files, fixed: the scenarios pass and the version is stored
    fixed = {"demo_v1.bpmn": V1["demo.bpmn"]}
    assert _deploy(engine, Session, fixed, scenario_dir=tmp_path).created == [("demo", 1)]

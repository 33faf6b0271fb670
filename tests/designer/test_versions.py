"""Version diff and instance migration, as a process manager sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import migration, versions
from engine.errors import InvalidRequest
from engine.models import HumanTask

DATA = Path(__file__).parent / "data"
V1 = {"demo.bpmn": (DATA / "demo_v1.bpmn").read_bytes()}
V2 = {"demo.bpmn": (DATA / "demo_v2.bpmn").read_bytes()}


@pytest.fixture
def two_versions(deploy):
    deploy(V1)
    deploy(V2)


def _start(engine, Session, complete=("register",)):
    with Session.begin() as session:
        instance = engine.start(session, "demo", {"title": "t", "lead_unit": "zjj"}, actor="alice")
        for bpmn_id in complete:
            task = next(t for t in engine.ready_tasks(session, instance.id) if t.bpmn_id == bpmn_id)
            engine.complete_task(session, task.id, {}, "alice")
        return instance.id


def test_diff_lists_added_removed_and_changed_activities_by_element_id(engine, Session, two_versions):
    with Session() as session:
        diff = versions.diff_versions(session, engine, "demo", 1, 2)
    assert [(c.element_id, c.kind, c.name) for c in diff.added] == [("review", "UserTask", "复核")]
    assert [(c.element_id, c.name) for c in diff.removed] == [("leader_review", "领导督办")]
    changed = {c.element_id: c.attributes for c in diff.changed}
    assert "name" in changed["handle"] and "outgoing flows" in changed["handle"]
    assert "register" not in changed and "set_deadline" not in changed
    assert any(line == "added   demo/review [UserTask] 复核" for line in diff.lines())
    assert diff.as_dict()["added"][0]["element_id"] == "review"


def test_diff_of_a_version_with_itself_is_empty_and_unknown_version_is_refused(engine, Session, two_versions):
    with Session() as session:
        assert versions.diff_versions(session, engine, "demo", 2, 2).is_empty
        with pytest.raises(Exception, match="version 9"):
            versions.diff_versions(session, engine, "demo", 1, 9)


def test_preview_changes_nothing_and_instances_stay_on_their_version(engine, Session, deploy):
    deploy(V1)
    instance_id = _start(engine, Session)
    deploy(V2)
    with Session.begin() as session:
        [preview] = migration.preview_migration(session, engine, "demo")
        assert preview.can_migrate and preview.from_version == 1 and preview.to_version == 2
        fates = {t.element_id: (t.state, t.fate) for t in preview.tasks}
        assert fates["handle"] == ("READY", "changed") and fates["register"] == ("COMPLETED", "kept")
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.process_version.version == 1
        assert [a.action for a in engine.history(session, instance_id)] == ["start", "complete"]
    # a new instance starts on the latest version; the old one keeps running on v1
    new_id = _start(engine, Session, complete=())
    with Session() as session:
        assert engine.get_instance(session, new_id).process_version.version == 2
        assert engine.get_instance(session, instance_id).process_version.version == 1


def test_migrate_moves_the_instance_keeps_its_task_row_and_timer_and_audits(engine, Session, deploy):
    deploy(V1)
    instance_id = _start(engine, Session)
    with Session.begin() as session:
        before = engine.get_instance(session, instance_id)
        due = before.next_timer_at
        [row] = engine.ready_tasks(session, instance_id)
        row_id, assert_name = row.id, row.name
        assert assert_name == "办理"
    deploy(V2)
    with Session.begin() as session:
        [result] = migration.migrate(session, engine, "demo", 2, [instance_id], actor="manager")
        assert result.migrated
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.process_version.version == 2
        assert instance.next_timer_at == due  # the deadline timer did not restart
        [row] = engine.ready_tasks(session, instance_id)
        assert (row.id, row.name, row.candidate_groups) == (row_id, "承办", ["unit:zjj"])
        audit = engine.history(session, instance_id)[-1]
        assert (audit.action, audit.actor) == ("migrate", "manager")
        assert audit.data["from_version"] == 1 and audit.data["to_version"] == 2
        # it now follows version 2: the added review task comes next
        engine.complete_task(session, row.id, {"needs_material": False, "outcome": "solved"}, "bob")
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["review"]
    with Session.begin() as session:  # and its saved state loads on the new version
        workflow, _ = engine.load(engine.get_instance(session, instance_id))
        assert "review" in workflow.spec.task_specs


def test_migration_is_refused_when_a_ready_task_was_removed(engine, Session, deploy, clock):
    deploy(V1)
    instance_id = _start(engine, Session)
    clock.advance(days=7)  # past the 3-working-day deadline: the timer escalates to leader_review
    with Session.begin() as session:
        engine.fire_timers(session, engine.get_instance(session, instance_id))
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["leader_review"]
    deploy(V2)
    with Session.begin() as session:
        [result] = migration.migrate(session, engine, "demo", 2, actor="manager")
        assert not result.can_migrate and not result.migrated
        assert "leader_review (READY) is not in version 2" in result.reason
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        assert instance.process_version.version == 1
        assert "migrate" not in [a.action for a in engine.history(session, instance_id)]
        assert [t.bpmn_id for t in engine.ready_tasks(session, instance_id)] == ["leader_review"]


def test_migrate_all_moves_only_what_can_move(engine, Session, deploy, clock):
    deploy(V1)
    stuck = _start(engine, Session)
    clock.advance(days=7)
    movable = _start(engine, Session)  # started later: its deadline is still ahead
    with Session.begin() as session:
        engine.fire_timers(session, engine.get_instance(session, stuck))  # escalated to leader_review
    deploy(V2)
    with Session.begin() as session:
        results = {r.instance_id: r for r in migration.migrate(session, engine, "demo", actor="m")}
    assert results[movable].migrated and not results[stuck].migrated
    with Session() as session:
        assert session.query(HumanTask).filter_by(instance_id=stuck, state="ready").one().bpmn_id == "leader_review"


def test_migrating_an_instance_of_another_process_or_version_is_refused(engine, Session, deploy):
    deploy(V1)
    instance_id = _start(engine, Session)
    with Session.begin() as session:
        with pytest.raises(InvalidRequest, match="already runs version 1"):
            migration.migrate(session, engine, "demo", 1, [instance_id])
        with pytest.raises(InvalidRequest, match="do not exist"):
            migration.migrate(session, engine, "demo", 1, [999])


def test_diff_shows_old_and_new_values(engine, Session, two_versions):
    with Session() as session:
        diff = versions.diff_versions(session, engine, "demo", 1, 2)
    handle = next(c for c in diff.changed if c.element_id == "handle")
    assert {"what": "name", "old": "办理", "new": "承办"} in handle.details
    assert "name: '办理' -> '承办'" in "\n".join(diff.lines())


def test_a_form_or_table_only_change_is_a_difference_with_its_values(engine, Session, deploy):
    import json

    from tests.scenarios.driver import project_files

    files = project_files()
    deploy(files)
    form = json.loads(files["intake-review.schema.json"])
    form["properties"]["intake_reason"]["title"] = "审查理由"
    form_bytes = json.dumps(form, ensure_ascii=False).encode()
    deploy(project_files(**{"intake-review.schema.json": form_bytes}))
    table = files["deadline.dmn"].replace(b"<text>7</text>", b"<text>8</text>", 1)
    deploy(project_files(**{"intake-review.schema.json": form_bytes, "deadline.dmn": table}))
    with Session() as session:
        form_only = versions.diff_versions(session, engine, "ztc_case", 1, 2)
        table_only = versions.diff_versions(session, engine, "ztc_case", 2, 3)
    assert not form_only.is_empty and form_only.changes == []
    (changed,) = form_only.files
    assert changed.file == "intake-review.schema.json"
    (row,) = changed.details
    assert row["what"] == "field intake_reason.title" and row["new"] == "审查理由" and row["old"] != "审查理由"
    (changed,) = table_only.files
    assert changed.details == [
        {"what": "ztc_deadline rule 2 (ztc_deadline_rule2) [办理时限（工作日）]", "old": "7", "new": "8"}
    ]


def test_a_rule_added_above_others_is_the_only_dmn_change_and_rules_are_named_by_position():
    """A rule inserted as the table's new first rule moves every other rule down: the diff lists
    the new rule's cells only (rules are matched by id), each named by its place in the new table."""
    from engine.valuediff import file_changes

    old = (Path(__file__).resolve().parents[2] / "processes" / "deadline.dmn").read_bytes()
    first_rule = old.index(b'<rule id="ztc_deadline_rule1">')
    inserted = (
        b'<rule id="r_new"><inputEntry id="r_new_in0"><text>"\xe7\x89\xb9\xe6\x80\xa5"</text></inputEntry>'
        b'<inputEntry id="r_new_in1"><text>"\xe7\x8e\xb0\xe5\x9c\xba\xe5\x8a\x9e"</text></inputEntry>'
        b'<outputEntry id="r_new_out0"><text>3</text></outputEntry></rule>'
    )
    new = old[:first_rule] + inserted + old[first_rule:]
    new = new.replace(b"<text>7</text>", b"<text>8</text>", 1)  # and rule 2 of old, now 3, changes
    (change,) = file_changes({"deadline.dmn": old}, {"deadline.dmn": new})
    whats = [row["what"] for row in change.details]
    assert [w for w in whats if "(r_new)" in w] == [
        "ztc_deadline rule 1 (r_new) [紧急程度]",
        "ztc_deadline rule 1 (r_new) [办理方式]",
        "ztc_deadline rule 1 (r_new) [办理时限（工作日）]",
    ]
    assert change.details[-1] == {
        "what": "ztc_deadline rule 3 (ztc_deadline_rule2) [办理时限（工作日）]",
        "old": "7",
        "new": "8",
    }
    assert len(change.details) == 4  # the rules that only moved down are not listed

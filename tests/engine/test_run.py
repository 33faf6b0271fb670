"""Start, list, complete, persist: the engine's main path as a user of it sees it."""

from __future__ import annotations

import json
import threading

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from sqlalchemy import event

from engine.errors import Conflict
from engine.forms import FormValidationError
from engine.models import AuditEntry, HumanTask
from engine.sandbox import SandboxedScriptEngine
from engine.serializer import SERIALIZER_VERSION

from .util import loop_files


@pytest.fixture
def loop_case(deploy, engine, Session):
    deploy(loop_files())
    with Session.begin() as session:
        return engine.start(session, "loop", {"county": "jianping"}, actor="alice").id


def _ready(engine, Session, instance_id):
    with Session.begin() as session:
        tasks = engine.ready_tasks(session, instance_id)
        assert len(tasks) == 1
        return tasks[0].id


def test_task_lists_its_group_form_and_working_day_deadline(engine, Session, loop_case):
    with Session.begin() as session:
        task = engine.ready_tasks(session, loop_case)[0]
        assert task.name == "审核"
        assert task.candidate_groups == ["wg:jianping"]
        assert task.form == "review.schema.json"
        # started Monday 2026-03-02 09:00 Beijing: 3 working days later, 17:30 Beijing
        assert task.due_at.isoformat() == "2026-03-05T09:30:00+00:00"
        assert engine.ready_tasks(session, groups=["wg:city"]) == []
        assert [t.id for t in engine.ready_tasks(session, groups=["wg:jianping"])] == [task.id]


def test_invalid_form_data_is_refused_per_field_and_nothing_changes(engine, Session, loop_case):
    task_id = _ready(engine, Session, loop_case)
    with pytest.raises(FormValidationError) as err, Session.begin() as session:
        engine.complete_task(
            session,
            task_id,
            {"decision": "maybe", "opinion": "x", "mobile": "12345", "uscc": "91350100M000100Y44"},
            "bob",
        )
    fields = err.value.by_field("zh")
    assert set(fields) == {"decision", "opinion", "mobile", "uscc"}
    assert "手机号码无效" in fields["mobile"]
    assert "统一社会信用代码无效" in fields["uscc"]
    assert err.value.by_field("en")["opinion"] == "At least 2 characters"
    with Session.begin() as session:
        assert engine.get_task(session, task_id).state == "ready"
        assert [a.action for a in engine.history(session, loop_case)] == ["start"]


def test_valid_uscc_and_mobile_pass(engine, Session, loop_case):
    task_id = _ready(engine, Session, loop_case)
    with Session.begin() as session:
        engine.complete_task(
            session,
            task_id,
            {"decision": "done", "opinion": "同意", "mobile": "13800138000", "uscc": "91350100M000100Y43"},
            "bob",
        )
    with Session.begin() as session:
        assert engine.get_instance(session, loop_case).status == "completed"


def test_completion_advances_persists_and_audits_in_one_transaction(engine, Session, loop_case):
    task_id = _ready(engine, Session, loop_case)
    with Session.begin() as session:
        engine.complete_task(session, task_id, {"decision": "redo", "opinion": "补充材料"}, "bob")
    with Session.begin() as session:
        instance = engine.get_instance(session, loop_case)
        assert instance.summary == {"rounds": 1, "decision": "redo"}
        assert engine.get_task(session, task_id).completed_by == "bob"
        history = engine.history(session, loop_case)
        assert [(a.action, a.actor, a.task_name) for a in history] == [
            ("start", "alice", None),
            ("complete", "bob", "审核"),
        ]
        assert history[1].data == {"decision": "redo", "opinion": "补充材料"}
        assert len(engine.ready_tasks(session, loop_case)) == 1


def test_a_step_writes_the_instance_once(engine, Session, loop_case, db_engine):
    """One UPDATE of the instance row per step, so lock_version moves by one (a second write
    would cost a round trip and make a concurrent request's conflict check meaningless)."""
    updates = []

    def count(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE INSTANCE"):
            updates.append(statement)

    task_id = _ready(engine, Session, loop_case)
    with Session.begin() as session:
        before = engine.get_instance(session, loop_case).lock_version
    event.listen(db_engine, "before_cursor_execute", count)
    try:
        with Session.begin() as session:
            engine.complete_task(session, task_id, {"decision": "redo", "opinion": "补充材料"}, "bob")
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert len(updates) == 1
    with Session.begin() as session:
        assert engine.get_instance(session, loop_case).lock_version == before + 1


def test_state_is_stored_without_the_spec_and_with_the_serializer_version(engine, Session, loop_case):
    with Session.begin() as session:
        instance = engine.get_instance(session, loop_case)
        state = json.loads(instance.state)
        assert "spec" not in state and "subprocess_specs" not in state
        assert instance.serializer_version == SERIALIZER_VERSION
        assert instance.process_version.version == 1


def test_a_loaded_workflow_always_gets_the_sandboxed_engine(engine, Session, loop_case):
    with Session.begin() as session:
        workflow, _ = engine.load(engine.get_instance(session, loop_case))
        assert isinstance(workflow.script_engine, SandboxedScriptEngine)
        assert type(workflow.script_engine) is not PythonScriptEngine


def test_a_task_completed_twice_at_once_succeeds_once(engine, Session, loop_case, db_engine):
    task_id = _ready(engine, Session, loop_case)
    barrier = threading.Barrier(2, timeout=20)
    # PostgreSQL: both transactions read the ready task before either writes. SQLite takes
    # its write lock at BEGIN, so there the second waits for the first, then sees it done.
    read_first = db_engine.dialect.name == "postgresql"
    results: list[str] = []

    def complete(who):
        session = Session()
        try:
            if not read_first:
                barrier.wait()
            session.begin()
            session.get(HumanTask, task_id)
            if read_first:
                barrier.wait()
            engine.complete_task(session, task_id, {"decision": "redo", "opinion": who}, who)
            session.commit()
            results.append("ok")
        except Conflict:
            session.rollback()
            results.append("conflict")
        finally:
            session.close()

    threads = [threading.Thread(target=complete, args=(n,)) for n in ("amy", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["conflict", "ok"]
    with Session.begin() as session:
        completes = [a for a in engine.history(session, loop_case) if a.action == "complete"]
        assert len(completes) == 1
        assert engine.get_instance(session, loop_case).summary["rounds"] == 1
        assert len(engine.ready_tasks(session, loop_case)) == 1


def test_completing_a_finished_task_is_a_conflict(engine, Session, loop_case):
    task_id = _ready(engine, Session, loop_case)
    with Session.begin() as session:
        engine.complete_task(session, task_id, {"decision": "done", "opinion": "好的"}, "bob")
    with pytest.raises(Conflict), Session.begin() as session:
        engine.complete_task(session, task_id, {"decision": "done", "opinion": "好的"}, "bob")


def test_running_instances_stay_on_their_version(engine, Session, deploy, loop_case):
    files = loop_files()
    files["loop.bpmn"] = files["loop.bpmn"].replace(b'name="\xe5\xae\xa1\xe6\xa0\xb8"', 'name="复核"'.encode())
    result = deploy(files)
    assert result.created == [("loop", 2)]
    with Session.begin() as session:
        new = engine.start(session, "loop", {"county": "city"})
        assert engine.ready_tasks(session, new.id)[0].name == "复核"
        assert engine.get_instance(session, loop_case).process_version.version == 1
    task_id = _ready(engine, Session, loop_case)
    with Session.begin() as session:
        engine.complete_task(session, task_id, {"decision": "redo", "opinion": "再审"}, "bob")
        assert engine.ready_tasks(session, loop_case)[0].name == "审核"


def test_a_case_sent_round_a_thousand_times_ends_correctly_with_bounded_state(engine, Session, loop_case):
    sizes = {}
    for n in range(1, 1001):
        task_id = _ready(engine, Session, loop_case)
        with Session.begin() as session:
            engine.complete_task(
                session, task_id, {"decision": "redo" if n < 1000 else "done", "opinion": f"第{n}次"}, "bob"
            )
            if n in (1, 10, 100, 999):
                sizes[n] = len(engine.get_instance(session, loop_case).state)
    with Session.begin() as session:
        instance = engine.get_instance(session, loop_case)
        assert instance.status == "completed"
        assert instance.summary == {"rounds": 1000, "decision": "done"}
        assert engine.ready_tasks(session, loop_case) == []
        assert session.query(AuditEntry).filter_by(instance_id=loop_case, action="complete").count() == 1000
    assert sizes[999] <= sizes[10] * 1.1, sizes

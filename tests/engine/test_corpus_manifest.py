"""Material we did not write: SpiffWorkflow's own feature files, run through our whole
path (deploy → start → complete → persist, a database transaction per step, every step
loaded back from its saved state), must end as they end with the bare library.
Timers are driven by moving the clock; awaited messages go through Engine.send_message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.deploy import files_from_paths
from engine.errors import MessageNotAccepted
from engine.parsing import BundleError
from engine.runtime import Engine
from engine.sandbox import run_expression
from tests.conftest import CORPUS
from tests.fresh import FreshEngine, fingerprint

MANIFEST = CORPUS / "spiff" / "manifest.json"
# files the bare library runs that deploy refuses, with what it says (tests/designer/test_corpus_deploy.py)
REFUSED_AT_DEPLOY = {"spiff/business_rule_task.bpmn": "hit policy UNIQUE, but rules 1 and 3 both match"}


@pytest.fixture(params=["one-engine", "fresh-engine-per-step"])
def engine(request, clock):
    """Every file runs with one engine, and with a new engine (new spec cache) for every step."""
    return Engine(clock=clock) if request.param == "one-engine" else FreshEngine(clock)


def _cases():
    entries = json.loads(MANIFEST.read_text(encoding="utf-8"))["entries"]
    params = []
    for entry in entries:
        for outcome in entry["observed_outcome"]:
            params.append(pytest.param(entry, outcome, id=f"{entry['file']}::{outcome['entry']}"))
    return params


def _data_for(spec, visit: int, task_data: dict):
    if isinstance(spec, list):
        spec = spec[min(visit, len(spec) - 1)]
    if isinstance(spec, str) and spec.startswith("expr:"):
        return run_expression(spec[5:], task_data)
    return dict(spec or {})


def _drive(engine, Session, clock, entry, outcome):
    base = MANIFEST.parent
    paths = [base / entry["file"]] + [base / f for f in entry["support_files"]]
    try:
        with Session.begin() as session:
            engine.deploy(session, files_from_paths(paths), "corpus")
    except BundleError as exc:
        refused_by_checks = REFUSED_AT_DEPLOY.get(entry["file"])
        if refused_by_checks:  # the bare library runs it; our deploy checks refuse it on purpose
            assert any(refused_by_checks in p.message for p in exc.problems), exc.problems
            return None, exc.problems
        if not outcome["outcome"].startswith(("stuck", "error")):
            raise
        return None, exc.problems
    data = entry.get("data") or {}
    start = data.get("__start__")
    if isinstance(start, str) and start.startswith("expr:"):
        start = run_expression(start[5:])
    process_id = outcome["entry"].split(":", 1)[1]
    with Session.begin() as session:
        instance_id = engine.start(session, process_id, start, actor="corpus").id
    priority = data.get("__priority__", [])
    visits: Counter = Counter()
    completed: list[str] = []
    for _ in range(200):
        with Session.begin() as session:
            instance = engine.get_instance(session, instance_id)
            if instance.status != "running":
                break
            ready = engine.ready_tasks(session, instance_id)
            due = instance.next_timer_at
            if due is not None and (not ready or data.get("__wait_timers_first__")):
                clock.set(max(clock.now(), due) + dt.timedelta(seconds=1))
                engine.fire_timers(session, instance)
                continue
            if not ready:
                break
            # the bare library's order: the workflow's own task order, then the manifest's priority
            workflow, _ = engine.load(instance)
            order = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
            ready.sort(key=lambda t: order.index(t.task_guid))
            ready.sort(key=lambda t: priority.index(t.bpmn_id) if t.bpmn_id in priority else len(priority))
            task = ready[0]
            payload = _data_for(data.get(task.bpmn_id), visits[task.bpmn_id], engine.task_data(task))
            visits[task.bpmn_id] += 1
            engine.complete_task(session, task.id, payload, "corpus")
            completed.append(task.bpmn_id)
    if isinstance(engine, Engine):  # running the file left the spec it shares as a fresh parse gives it
        with Session() as session:
            instance = engine.get_instance(session, instance_id)
            assert fingerprint(engine.load(instance)[1]) == fingerprint(Engine(clock=clock).load(instance)[1])
    return instance_id, completed


@pytest.mark.parametrize("entry,outcome", _cases())
def test_corpus_file_ends_as_with_the_bare_library(engine, Session, clock, entry, outcome):
    instance_id, completed = _drive(engine, Session, clock, entry, outcome)
    expected = outcome["outcome"]
    if instance_id is None:  # what the bare library cannot finish, deploy may refuse clearly
        problems = completed
        assert problems and all(p.element_id and p.line and p.message for p in problems)
        return
    with Session.begin() as session:
        instance = engine.get_instance(session, instance_id)
        if expected.startswith("completed"):
            assert instance.status == "completed", instance.error
            expected_tasks = Counter(name.split(".")[-1] for name in outcome["user_tasks_completed"])
            assert Counter(name.split(".")[-1] for name in completed) == expected_tasks
            assert engine.ready_tasks(session, instance_id) == []
        elif expected.startswith("waiting"):
            assert instance.status == "running"
            workflow, _ = engine.load(instance)
            waiting = {f"{e.event_type}:{e.name}" for e in workflow.waiting_events()}
            for awaited in expected.split(":", 1)[1].split(","):
                assert awaited.strip() in waiting
            # and our message call delivers the first awaited message
            name = expected.split(":", 1)[1].split(",")[0].split(":", 1)[1].strip()
            try:
                engine.send_message(session, instance_id, name, payload={}, actor="corpus")
            except MessageNotAccepted as exc:  # e.g. a correlation value the payload lacks
                assert name in str(exc)
            else:
                assert "message" in [a.action for a in engine.history(session, instance_id)]
        elif expected.startswith("stuck"):
            assert instance.status == "running"
            assert engine.ready_tasks(session, instance_id) == []
        elif expected == "error":
            assert instance.status == "error"
            assert instance.error["element_id"]
            assert instance.error["message"]


def test_manifest_is_read(engine):
    assert MANIFEST.exists(), f"corpus manifest missing at {MANIFEST}"
    assert len(_cases()) >= 44

"""SQLite: one worker loop and the web process writing at the same time — no lost update,
no 'database is locked' surfacing. (PostgreSQL: the same test, row locks instead.)"""

from __future__ import annotations

import threading

from sqlalchemy import select

from engine.errors import Conflict
from engine.models import HumanTask, Instance
from engine.runtime import Engine

from .util import audit_count


def test_worker_and_task_completions_at_once(Session, engine, clock, processes, make_worker):
    n = 60
    with Session.begin() as session:
        ids = [engine.start(session, "worker_reminder", {"unit": "zrzyj"}).id for _ in range(n)]
    clock.advance(hours=2)  # every yellow warning is due
    worker = make_worker(poll_seconds=0.01, batch=5)
    web = Engine(clock=clock)  # the web process's own engine
    errors: list[BaseException] = []
    conflicts = []

    def complete_all():
        try:
            with Session() as session:
                tasks = [t.id for t in session.scalars(select(HumanTask).where(HumanTask.bpmn_id == "handle"))]
            for task_id in tasks:
                while True:
                    try:
                        with Session.begin() as session:
                            web.complete_task(session, task_id, {"answer": f"done {task_id}"}, "clerk")
                        break
                    except Conflict:  # the worker moved the case on meanwhile: reload and retry
                        conflicts.append(task_id)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def work():
        try:
            worker.run()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    loop = threading.Thread(target=work)
    loop.start()
    completer = threading.Thread(target=complete_all)
    completer.start()
    completer.join(120)
    worker.stop()
    loop.join(30)
    assert errors == [] and not loop.is_alive()
    assert worker.totals.db_errors == 0
    worker.run(once=True)  # whatever the loop had not reached yet
    with Session() as session:
        for iid in ids:
            instance = session.get(Instance, iid)
            assert instance.status == "completed", instance.error
            assert instance.summary["answer"].startswith("done ")  # the completion was not lost
            fired = audit_count(session, "timer", iid)
            assert fired <= 1  # the warning fired at most once (not at all if the task was done first)
            assert (instance.summary.get("warning") == "yellow") == (fired == 1)

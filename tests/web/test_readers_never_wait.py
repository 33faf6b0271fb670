"""Readers never wait for writers (issue 18 item 1), on SQLite and PostgreSQL: while another
connection holds the write lock (SQLite: BEGIN IMMEDIATE) or a write transaction
(PostgreSQL), the inbox, a case page, the API task list and a case's API state answer;
writing requests work again once it is released; a read request that must write (a
session's last-seen time, an idle session ended) still succeeds."""

from __future__ import annotations

import datetime as _dt
import threading

from sqlalchemy import select, update

from engine.models import HumanTask, Instance, UserSession, WorkerHeartbeat
from tests.api.conftest import make_token

from .conftest import INTAKE_OK, ready_task


class HeldWriteLock:
    """Another connection holding the write lock until ``release`` (or ``hold_s`` seconds)."""

    def __init__(self, db_engine, clock, hold_s: float = 600.0):
        self.db_engine, self.clock, self.hold_s = db_engine, clock, hold_s
        self.held, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with self.db_engine.connect() as other:
            other.execute(update(WorkerHeartbeat).values(fired=1))  # SQLite: BEGIN IMMEDIATE
            self.held.set()
            self.done.wait(self.hold_s)
            other.rollback()

    def __enter__(self):
        with self.db_engine.begin() as conn:  # a row to update, so PostgreSQL holds a row lock too
            conn.execute(
                WorkerHeartbeat.__table__.insert().values(
                    worker_id="w-lock", last_seen=self.clock.now(), started_at=self.clock.now()
                )
            )
        self.thread.start()
        assert self.held.wait(60)
        return self

    def release(self):
        self.done.set()
        self.thread.join(60)

    def __exit__(self, *exc):
        self.release()


def _seen(Session):
    with Session() as session:
        return session.scalars(select(UserSession.last_seen_at).where(UserSession.ended_at.is_(None))).all()


def test_pages_and_api_lists_answer_while_another_connection_writes(
    app, as_user, Session, db_engine, clock, start_case
):
    case = start_case()
    browser = as_user("wg.city")
    secret = make_token(Session, "wg.city")
    api = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/tasks", headers=auth).status_code == 200  # the token's first use is written
    with HeldWriteLock(db_engine, clock):
        inbox = browser.get("/inbox")
        page = browser.get(f"/cases/{case}")
        tasks = api.get("/api/v1/tasks", headers=auth)
        state = api.get(f"/api/v1/instances/{case}", headers=auth)
    assert inbox.status_code == 200 and "厂房用地手续办理" in inbox.get_data(as_text=True)
    assert page.status_code == 200 and "厂房用地手续办理" in page.get_data(as_text=True)
    assert tasks.status_code == 200 and len(tasks.get_json()["items"]) == 1, tasks.get_data(as_text=True)
    assert state.status_code == 200 and state.get_json()["id"] == case
    # released: a writing request goes through
    task = ready_task(Session, case, "intake")
    browser.get(f"/tasks/{task}")
    done = browser.post(f"/tasks/{task}", {**INTAKE_OK, "action": "complete"})
    assert done.status_code in (302, 303), done.get_data(as_text=True)[:500]
    with Session() as session:
        assert session.get(HumanTask, task).state == "completed"


def test_a_read_that_must_write_still_succeeds(app, as_user, Session, db_engine, clock):
    browser = as_user("wg.city")
    old = clock.now() - _dt.timedelta(minutes=5)
    with Session.begin() as session:
        session.execute(update(UserSession).values(last_seen_at=old))
    with HeldWriteLock(db_engine, clock):
        assert browser.get("/inbox").status_code == 200  # its last-seen write waits for no one
    assert browser.get("/inbox").status_code == 200
    assert _seen(Session) == [clock.now()]  # moved once the lock was free


def test_a_read_that_meets_a_writer_while_writing_runs_again_as_a_writer(app, as_user, Session, db_engine, clock):
    """An idle session is ended by the next request, a GET: with the write lock held its
    read run cannot write, so it runs again as a writer and waits for the lock."""
    browser = as_user("wg.city")
    with Session.begin() as session:
        session.execute(update(UserSession).values(last_seen_at=clock.now() - _dt.timedelta(hours=1)))
    lock = HeldWriteLock(db_engine, clock, hold_s=0.5)
    with lock:
        response = browser.get("/inbox")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    with Session() as session:
        assert session.scalars(select(UserSession.end_reason)).all() == ["idle"]


def test_a_long_case_history_shows_its_newest_entries_first_then_all(app, as_user, Session, engine, start_case):
    case = start_case()
    with Session.begin() as session:
        for i in range(60):
            engine.audit(session, "wg.city", "comment", session.get(Instance, case), data={"i": i})
    browser = as_user("wg.city")
    page = browser.get(f"/cases/{case}").get_data(as_text=True)
    assert page.count('<li class="tl-') == 50 and "显示最近 50 条，共 61 条" in page
    everything = browser.get(f"/cases/{case}?timeline=all").get_data(as_text=True)
    assert everything.count('<li class="tl-') == 61 and "显示最近" not in everything

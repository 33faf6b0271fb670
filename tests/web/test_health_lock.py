"""/healthz never waits for a lock (issue 16 item 3): while another connection holds the
write lock (SQLite) or a write transaction (PostgreSQL), a logged-in health check still
answers, with the database and the worker's heartbeat read."""

from __future__ import annotations

from sqlalchemy import update

from engine.models import WorkerHeartbeat


def test_a_logged_in_health_check_answers_while_another_connection_writes(app, as_user, Session, db_engine, clock):
    browser = as_user("wg.city")
    with Session.begin() as session:
        session.add(WorkerHeartbeat(worker_id="w1", last_seen=clock.now(), started_at=clock.now()))
    with db_engine.connect() as other:
        # SQLite: this transaction begins with BEGIN IMMEDIATE, i.e. it holds the write lock
        other.execute(update(WorkerHeartbeat).values(fired=1))
        response = browser.get("/healthz")
        other.rollback()
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["database"]["state"] == "ok" and body["worker"]["state"] == "ok"
    assert browser.get("/inbox").status_code == 200  # the session still works afterwards


def test_health_check_reports_a_database_it_cannot_read(app, monkeypatch):
    from sqlalchemy import create_engine

    from engine.db import make_sessionmaker

    app.config["SESSIONMAKER"] = make_sessionmaker(create_engine("sqlite:////nonexistent-dir/x.db"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"]["state"] == "down"

"""Issue 20: /metrics in the Prometheus text format (requests, latency, steps, incidents,
timers, notification backlog, failed log-ins, workers), guarded; /livez and /readyz; a dead
worker noticed within seconds."""

from __future__ import annotations

import datetime as _dt

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from engine.models import Instance, Notification, WorkerHeartbeat


def scrape(client, **headers) -> dict[tuple, float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_steps_and_database_figures(app, as_user, Session, clock, start_case):
    client = app.test_client()
    for _ in range(3):
        client.get("/login")
    as_user("wg.city")
    bad = as_user("wg.city").client
    before = scrape(client)
    ids = [start_case() for _ in range(3)]
    started = scrape(client)  # the new cases queued their own notifications
    with Session.begin() as session:
        session.execute(update(Instance).where(Instance.id == ids[0]).values(status="error"))
        session.execute(
            update(Instance).where(Instance.id == ids[1]).values(next_timer_at=clock.now() - _dt.timedelta(minutes=5))
        )
        for minutes in (1, 7):
            session.add(
                Notification(
                    kind="notice",
                    recipient="wg.city",
                    channel="log",
                    status="pending",
                    next_attempt_at=clock.now() - _dt.timedelta(minutes=minutes),
                )
            )
        session.add(
            Notification(
                kind="notice",
                recipient="wg.city",
                channel="log",
                status="pending",
                next_attempt_at=clock.now() + _dt.timedelta(minutes=30),
            )
        )
    token_page = bad.get("/login").get_data(as_text=True)
    from tests.web.conftest import csrf_of

    assert (
        bad.post(
            "/login", data={"username": "wg.city", "password": "wrong-password", "csrf_token": csrf_of(token_page)}
        ).status_code
        == 401
    )
    samples = scrape(client)
    assert value(samples, "zhitongche_http_requests_total", endpoint="/login", method="GET", status="200") >= 3
    assert value(samples, "zhitongche_http_request_duration_seconds_count", endpoint="/login", method="GET") >= 3
    assert (
        value(samples, "zhitongche_http_request_duration_seconds_bucket", endpoint="/login", method="GET", le="+Inf")
        >= 3
    )
    assert (
        value(samples, "zhitongche_step_duration_seconds_count", kind="start", outcome="ok")
        - value(before, "zhitongche_step_duration_seconds_count", kind="start", outcome="ok")
        == 3
    )
    assert (
        value(samples, "zhitongche_login_failures_total", reason="password")
        - value(before, "zhitongche_login_failures_total", reason="password")
        == 1
    )
    assert value(samples, "zhitongche_login_failures_recent") == 1
    assert value(samples, "zhitongche_open_incidents") == 1
    assert value(samples, "zhitongche_cases", status="running") == 2
    assert value(samples, "zhitongche_timers_due") == 1
    assert value(samples, "zhitongche_timers_lag_seconds") == 300
    assert value(samples, "zhitongche_notifications_backlog") - value(started, "zhitongche_notifications_backlog") == 3
    assert value(samples, "zhitongche_notifications_due") - value(started, "zhitongche_notifications_due") == 2
    assert value(samples, "zhitongche_notifications_lag_seconds") == 420
    assert value(samples, "zhitongche_workers_alive") == 0
    assert value(samples, "zhitongche_worker_heartbeat_age_seconds") == -1
    assert value(samples, "zhitongche_database_up") == 1


def test_metrics_are_guarded(app, monkeypatch):
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 404
    monkeypatch.setenv("ZHITONGCHE_METRICS_TOKEN", "s3cret-scrape-token")
    assert client.get("/metrics").status_code == 404  # even from this machine, the token is needed
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get(
        "/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert ok.status_code == 200 and b"zhitongche_http_requests_total" in ok.data


def test_livez_and_readyz(app):
    from engine.db import make_engine, make_sessionmaker

    client = app.test_client()
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["storage"]["backend"] == "database"
    app.config["SESSIONMAKER"] = make_sessionmaker(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["database"]["state"] == "down"
    assert client.get("/livez").status_code == 200  # alive, just not ready
    scraped = client.get("/metrics")
    assert scraped.status_code == 200 and b"zhitongche_database_up 0.0" in scraped.data


def test_a_dead_worker_shows_within_seconds(app, Session, clock):
    client = app.test_client()
    with Session.begin() as session:
        session.add(
            WorkerHeartbeat(
                worker_id="w1",
                host="h",
                pid=1,
                poll_seconds=2.0,
                started_at=clock.now(),
                last_seen=clock.now() - _dt.timedelta(seconds=3),
                fired=0,
                sent=0,
            )
        )
    assert client.get("/healthz").get_json()["worker"]["state"] == "ok"
    clock.advance(seconds=9)  # 12 s without a heartbeat: three missed passes and more
    report = client.get("/healthz").get_json()
    assert report["worker"]["state"] == "down" and report["status"] == "degraded"
    assert value(scrape(client), "zhitongche_workers_alive") == 0

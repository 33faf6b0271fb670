"""``GET /metrics`` (Prometheus text format), ``GET /livez`` and ``GET /readyz``.

Recorded in each process: requests by endpoint (the URL rule, never the raw path), method and
status, with a latency histogram; failed log-ins; the engine's persisted steps
(engine/telemetry.py). With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn workers, the timer
worker) every process writes its values into that folder and a scrape adds them up.

Read from the database at scrape time: open incidents (= stuck cases, instances with status
``error``), running cases, timers due and how late the oldest is, the notification backlog and
how late its oldest message is, failed log-ins in the throttle window, live workers and the
age of the newest heartbeat.

``/metrics`` answers only with ``Authorization: Bearer <ZHITONGCHE_METRICS_TOKEN>`` when that
is set, else only to this machine (127.0.0.1/::1); anyone else gets 404.
``/livez``: the process answers (no database). ``/readyz``: the database and the file store
answer (200) or not (503) — what a load balancer asks before sending traffic.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import os
import re
import time

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from engine import clock
from engine.models import Instance, LoginAttempt, Notification, WorkerHeartbeat

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("zhitongche_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "zhitongche_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOGIN_FAILURES = Counter("zhitongche_login_failures_total", "Failed log-ins on the log-in page", ["reason"])
LOCAL = {"127.0.0.1", "::1"}
_CONVERTER_ARGS = re.compile(r"<(\w+)\([^)]*\):")  # <int(max=…):id> → <int:id>


class DatabaseCollector:
    """Figures read from the database when /metrics is scraped."""

    def __init__(self, sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    def collect(self):
        try:
            yield from self._collect()
        except Exception as exc:  # noqa: BLE001 - a scrape reports the database down, never a 500
            current_app.logger.warning("metrics: database figures unavailable: %s", str(exc).splitlines()[0][:200])
            yield _gauge("zhitongche_database_up", "The database answered this scrape", 0)

    def _collect(self):
        now = clock.now()
        with self.sessionmaker() as db:
            by_status = dict(db.execute(select(Instance.status, func.count()).group_by(Instance.status)).all())
            due = db.execute(
                select(func.count(), func.min(Instance.next_timer_at)).where(
                    Instance.status == "running", Instance.next_timer_at <= now
                )
            ).one()
            backlog = db.execute(
                select(func.count(), func.min(Notification.next_attempt_at)).where(Notification.status == "pending")
            ).one()
            backlog_due = db.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            )
            failed = db.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= now - _dt.timedelta(minutes=15))
            )
            beats = list(db.execute(select(WorkerHeartbeat.last_seen, WorkerHeartbeat.poll_seconds)))
        from engine.heartbeat import alive_window

        yield _gauge("zhitongche_database_up", "The database answered this scrape", 1)
        yield _gauge(
            "zhitongche_open_incidents",
            "Cases stopped by an incident (status error): stuck cases",
            by_status.get("error", 0),
        )
        cases = GaugeMetricFamily("zhitongche_cases", "Cases by engine status", labels=["status"])
        for status, count in sorted(by_status.items()):
            cases.add_metric([status], count)
        yield cases
        yield _gauge("zhitongche_timers_due", "Timers of running cases due now and not yet fired", due[0])
        yield _gauge(
            "zhitongche_timers_lag_seconds", "How late the oldest due timer is (0: none due)", _age(now, due[1])
        )
        yield _gauge("zhitongche_notifications_backlog", "Notifications waiting to be sent", backlog[0])
        yield _gauge("zhitongche_notifications_due", "Notifications due now and not yet sent", backlog_due)
        yield _gauge(
            "zhitongche_notifications_lag_seconds", "How late the oldest due notification is", _age(now, backlog[1])
        )
        yield _gauge("zhitongche_login_failures_recent", "Failed log-ins in the last 15 minutes", failed)
        alive = [seen for seen, poll in beats if seen >= now - alive_window(poll)]
        yield _gauge("zhitongche_workers_alive", "Workers whose heartbeat is recent", len(alive))
        newest = max((seen for seen, _poll in beats), default=None)
        yield _gauge(
            "zhitongche_worker_heartbeat_age_seconds",
            "Seconds since the newest worker heartbeat (-1: no worker ever seen)",
            (now - newest).total_seconds() if newest else -1,
        )


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


def _age(now: _dt.datetime, since: _dt.datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:
        since = since.replace(tzinfo=_dt.UTC)
    return max(0.0, (now - since).total_seconds())


def _allowed() -> bool:
    token = os.environ.get("ZHITONGCHE_METRICS_TOKEN") or current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.remote_addr in LOCAL


@bp.get("/metrics")
def metrics():
    if not _allowed():
        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector(current_app.config["SESSIONMAKER"]))
    return Response(body + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/livez")
def livez():
    return jsonify(status="ok", pid=os.getpid())


@bp.get("/readyz")
def readyz():
    from .health import readiness

    report = readiness(current_app.config["SESSIONMAKER"])
    return jsonify(report), (503 if report["status"] == "error" else 200)


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g._metrics_t0 = time.perf_counter()

    @app.after_request
    def _record(response):
        started = g.pop("_metrics_t0", None)
        endpoint = (
            _CONVERTER_ARGS.sub(r"<\1:", request.url_rule.rule) if request.url_rule is not None else "(unmatched)"
        )
        if started is not None:
            LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if request.endpoint == "public.login" and request.method == "POST" and response.status_code in (401, 429):
            LOGIN_FAILURES.labels("throttled" if response.status_code == 429 else "password").inc()
        return response

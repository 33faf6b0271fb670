"""``GET /healthz``: is the database reachable, is a timer worker alive (its heartbeat)? Does
this year and the next have an official working-day calendar (a warning only)? How many
incidents are open, and how many of them are stalled cases? How many cases wait for the
worker's statistics fold (``statistics.unfolded``: a few right after steps; growing, the worker is
behind)?

The check reads on a connection of its own in a read-only transaction with short timeouts
(``engine.db.read_only_session``) and is answered before the request opens its own session
(no user is loaded for it): on SQLite, whose request sessions take the write lock when they
begin, a health check never waits for a lock — neither its own request's nor another's.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from sqlalchemy import text

from engine import clock
from engine.db import read_only_session

ENDPOINT = "public.healthz"


def _worker_state(db) -> dict:
    from engine.heartbeat import worker_status

    status = worker_status(db, clock)
    return {"state": "ok" if status["workers"] else "down", **status}


def calendar_state(calendar, now) -> dict:
    """A warning (not an outage) when this year or the next has no official calendar: their
    deadlines are estimates (临时时限) until an administrator enters the State Council's notice."""
    missing = calendar.missing_years(now)
    if not missing:
        return {"state": "ok"}
    return {
        "state": "warning",
        "missing_years": missing,
        "message": f"no official working-day calendar for {', '.join(map(str, missing))}: deadlines there "
        "are provisional; enter the holidays on /admin/calendar",
    }


def health(sessionmaker, calendar=None, now=None) -> dict:
    report: dict = {"status": "ok"}
    try:
        with read_only_session(sessionmaker.kw["bind"]) as db:
            db.execute(text("select 1"))
            report["database"] = {"state": "ok", "dialect": db.get_bind().dialect.name}
            if calendar is not None:
                calendar.sync(db)
                report["calendar"] = calendar_state(calendar, now or clock.now())
            try:
                from engine.incidents import count_incidents, count_stalled

                report["incidents"] = {"open": count_incidents(db), "stalled": count_stalled(db)}
                report["worker"] = _worker_state(db)
                # cases whose last change the statistics do not count yet: the worker folds them each pass
                from engine.stats import unfolded

                report["statistics"] = {"unfolded": unfolded(db)}
            except Exception as exc:  # noqa: BLE001 - e.g. the heartbeat table is not migrated yet
                report["worker"] = {"state": "unknown", "detail": str(exc).splitlines()[0][:200]}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["status"] = "error"
        report["database"] = {"state": "down", "detail": str(exc).splitlines()[0][:200]}
        report["worker"] = {"state": "unknown"}
    _storage_state(sessionmaker, report)  # issue 20
    if report["worker"].get("state") != "ok" and report["status"] == "ok":
        report["status"] = "degraded"
    return report


def response():
    engine = current_app.config["ENGINE"]
    report = health(current_app.config["SESSIONMAKER"], engine.calendar, engine.clock.now())
    return jsonify(report), (200 if report["status"] == "ok" else 503)


def init_app(app: Flask) -> None:
    """Answer /healthz before the user of the request is loaded (which opens the request's
    database session); call before ``views_auth.register_user_loading``."""

    @app.before_request
    def _healthz_first():
        if request.endpoint == ENDPOINT:
            return response()
        return None


def _storage_state(sessionmaker, report: dict) -> None:
    """Where files are kept and whether that store answers (engine/storage.py)."""
    from flask import current_app

    from .files import file_store

    try:
        with read_only_session(sessionmaker.kw["bind"]) as db:  # never waits on a write lock
            report["storage"] = file_store().state(db)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["storage"] = {"state": "down", "detail": str(exc).splitlines()[0][:200]}
        current_app.logger.warning("storage check failed: %s", report["storage"]["detail"])
    if report["storage"].get("state") != "ok" and report["status"] == "ok":
        report["status"] = "degraded"


def readiness(sessionmaker) -> dict:
    """``GET /readyz`` (issue 20): may this web process take traffic — the database and the file
    store answer. The worker is not asked: a dead worker shows on /healthz and /metrics, and
    taking every web process out of a load balancer for it would not help."""
    report: dict = {"status": "ok"}
    try:
        with read_only_session(sessionmaker.kw["bind"]) as db:
            db.execute(text("select 1"))
        report["database"] = {"state": "ok"}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["status"] = "error"
        report["database"] = {"state": "down", "detail": str(exc).splitlines()[0][:200]}
        return report
    _storage_state(sessionmaker, report)
    if report["storage"].get("state") == "down":
        report["status"] = "error"
    return report

"""``GET /healthz``: is the database reachable, is a timer worker alive (its heartbeat)?"""
from __future__ import annotations

from sqlalchemy import text

from engine import clock


def _worker_state(db) -> dict:
    try:
        from engine.worker import worker_status
    except ImportError:  # pragma: no cover - the worker module is part of the engine
        return {"state": "unknown"}
    status = worker_status(db, clock)
    return {"state": "ok" if status["workers"] else "down", **status}


def health(sessionmaker) -> dict:
    report: dict = {"status": "ok"}
    try:
        with sessionmaker() as db:
            db.execute(text("select 1"))
            report["database"] = {"state": "ok", "dialect": db.get_bind().dialect.name}
            try:
                report["worker"] = _worker_state(db)
            except Exception as exc:  # noqa: BLE001 - e.g. the heartbeat table is not migrated yet
                db.rollback()
                report["worker"] = {"state": "unknown", "detail": str(exc).splitlines()[0][:200]}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["status"] = "error"
        report["database"] = {"state": "down", "detail": str(exc).splitlines()[0][:200]}
        report["worker"] = {"state": "unknown"}
    _storage_state(sessionmaker, report)  # issue 20
    if report["worker"].get("state") != "ok" and report["status"] == "ok":
        report["status"] = "degraded"
    return report


def _storage_state(sessionmaker, report: dict) -> None:
    """Where files are kept and whether that store answers (engine/storage.py)."""
    from flask import current_app

    from .files import file_store

    try:
        with sessionmaker() as db:
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
        with sessionmaker() as db:
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

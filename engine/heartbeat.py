"""Which timer workers are alive: each worker writes its heartbeat row (``beat``) every pass and
at least every ``HEARTBEAT_EVERY_S`` of a long one, and removes it when it stops (``sign_off``);
``worker_status`` (``/healthz``) and ``alive_window`` (``/metrics``) read them. A worker counts as
alive when seen within three of its poll intervals, at least ``ALIVE_MIN_SECONDS``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .models import WorkerHeartbeat

log = logging.getLogger("zhitongche.worker")

HEARTBEAT_PRUNE_AFTER = _dt.timedelta(days=1)
ALIVE_MIN_SECONDS = 10.0


def beat(
    Session: sessionmaker, worker_id: str, now: _dt.datetime, started_at: _dt.datetime, poll_seconds: float, totals: Any
) -> None:
    """Write the worker's heartbeat (its totals: ``fired``, ``notifications.sent``) and drop the
    rows of workers silent for a day."""
    with Session.begin() as session:
        row = session.get(WorkerHeartbeat, worker_id)
        if row is None:
            row = WorkerHeartbeat(
                worker_id=worker_id, host=socket.gethostname(), pid=os.getpid(), started_at=started_at, fired=0, sent=0
            )
            session.add(row)
        row.last_seen = now
        row.poll_seconds = poll_seconds
        row.fired = totals.fired
        row.sent = totals.notifications.sent
        session.execute(
            delete(WorkerHeartbeat).where(
                WorkerHeartbeat.last_seen < now - HEARTBEAT_PRUNE_AFTER, WorkerHeartbeat.worker_id != worker_id
            )
        )


def sign_off(Session: sessionmaker, worker_id: str) -> None:
    """A stopping worker removes its heartbeat (best effort)."""
    try:
        with Session.begin() as session:
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))
    except Exception:  # noqa: BLE001 - stopping anyway
        log.warning("could not remove the heartbeat of %s", worker_id)


def alive_window(poll_seconds: float | None) -> _dt.timedelta:
    """How recent a heartbeat must be for its worker to count as alive: three poll intervals,
    at least ALIVE_MIN_SECONDS (a busy pass refreshes the heartbeat every HEARTBEAT_EVERY_S)."""
    return _dt.timedelta(seconds=max(ALIVE_MIN_SECONDS, 3 * (poll_seconds or 0)))


def worker_status(session: Session, clock: Clock) -> dict[str, Any]:
    """{"workers": how many workers were seen recently, "last_seen": ISO time of the latest}.

    A worker counts as alive when it was seen within ``alive_window`` (three poll intervals,
    at least 10 s). ``clock``: anything with ``now()`` (an engine.clock clock, or an Engine's ``clock``).
    """
    now = clock.now()
    rows = list(session.scalars(select(WorkerHeartbeat)))
    alive = [r for r in rows if r.last_seen >= now - alive_window(r.poll_seconds)]
    latest = max((r.last_seen for r in rows), default=None)
    return {"workers": len(alive), "last_seen": latest.isoformat() if latest else None}

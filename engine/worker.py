"""The worker: fires due timers, sends notifications, reports a heartbeat.

One pass (``Worker.step``):

1. heartbeat — upsert this worker's ``worker_heartbeat`` row;
2. timer starts — the schedules of processes with a timer start event are brought up to their
   latest version and every due one starts its instance (engine/timerstart.py: one row per
   process locked with SKIP LOCKED, a unique row per fire time, one instance after downtime);
3. timers — repeatedly take the instance with the earliest due ``next_timer_at``
   (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the work and
   never hold the same instance; SQLite's ``BEGIN IMMEDIATE`` serializes writers), fire its
   timers, advance it, write the audit and commit — one transaction per instance. A worker
   killed mid-step loses its transaction and its row lock with it; another worker (or the
   next pass) fires the timer then, exactly once;
4. domain passes — by default the statistics fold (engine/domain.py ``DOMAIN_PASSES``: the
   rollups brought up to the case records the steps marked due, engine/stats/fold.py);
5. notifications — claim due outbox rows and send them (engine/delivery.py);
6. pruning — at most every ``GROUP_ROWS_EVERY``, the inbox rows of tasks no longer ready
   (``step.prune_group_rows``: a completion leaves them, issue 18); at most every ``PRUNE_EVERY``,
   sent outbox rows and read in-app notices older than ``ZHITONGCHE_NOTIFICATION_RETENTION_DAYS``
   (engine/notices.py).

An instance that fails (a script, expression or decision table raising) becomes an incident
(``status = "error"``, see engine/incidents.py); an unexpected exception is recorded the same
way, so one bad instance is never retried in a hot loop while the others go on. Database
hiccups (a lock timeout, a lost connection) are logged and the pass ends; the next pass
tries again. SIGTERM/SIGINT stop the loop after the current step; a script runs in a script
process that is killed at the time limit (engine/sandbox), so a step ends within that limit even
when a script would run forever, and such an instance becomes an incident like any other.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from . import delivery, notices, notify, timerstart
from .domain import DOMAIN_PASSES, WorkerPass
from .errors import Conflict, incident_record
from .heartbeat import beat, sign_off
from .models import Instance
from .runtime import Engine
from .step import prune_group_rows

log = logging.getLogger("zhitongche.worker")

HEARTBEAT_EVERY_S = 2.0  # during a long pass, the heartbeat is refreshed this often
PRUNE_EVERY = _dt.timedelta(minutes=10)
GROUP_ROWS_EVERY = _dt.timedelta(seconds=30)
GROUP_ROWS_BATCH = 5000
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@dataclass
class PassStats:
    fired: int = 0
    started: int = 0  # instances started by timer start events
    incidents: int = 0
    conflicts: int = 0
    folded: int = 0  # work done by the domain's passes (cases whose statistics were folded)
    notifications: delivery.DeliveryStats = field(default_factory=delivery.DeliveryStats)
    db_errors: int = 0

    @property
    def idle(self) -> bool:
        """Nothing was done: wait a poll interval before the next pass."""
        n = self.notifications
        busy = self.fired or self.started or self.incidents or self.conflicts or self.folded
        return not (busy or n.sent or n.failed or n.skipped)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        Session: sessionmaker,
        engine: Engine,
        *,
        worker_id: str | None = None,
        poll_seconds: float = 2.0,
        batch: int = 200,
        notify_batch: int = 50,
        channels: Mapping[str, notify.Channel] | None = None,
        backoff_base_s: float = delivery.BACKOFF_BASE_S,
        retention_days: int | None = None,
        passes: tuple[WorkerPass, ...] | None = None,
    ) -> None:
        self.Session = Session
        self.engine = engine
        self.clock = engine.clock
        self.worker_id = worker_id or default_worker_id()
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.notify_batch = notify_batch
        self.channels = dict(channels) if channels is not None else notify.channels_from_env()
        self.backoff_base_s = backoff_base_s
        self.retention_days = retention_days if retention_days is not None else notices.retention_days()
        self.passes = DOMAIN_PASSES if passes is None else passes
        self._pruned_at: _dt.datetime | None = None  # only spaces the pruning out; any worker may prune
        self._groups_pruned_at: _dt.datetime | None = None
        self.totals = PassStats()
        self._stop = threading.Event()
        self._started_at = self.clock.now()
        self._last_beat = 0.0

    # -- control -------------------------------------------------------------------------
    def stop(self, *_args: Any) -> None:
        """Ask the loop to end after the current step (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)

    def run(self, *, once: bool = False) -> PassStats:
        """Loop until stopped; with ``once``, until nothing more is due now. Returns the totals."""
        log.info(
            "worker %s started (poll %.1fs, channels %s)",
            self.worker_id,
            self.poll_seconds,
            ", ".join(sorted(self.channels)),
        )
        try:
            while not self.stopping:
                stats = self.step()
                if once and (stats.idle or stats.db_errors):
                    break
                if (stats.idle or stats.db_errors) and not once:
                    self._stop.wait(self.poll_seconds)
        finally:
            self._sign_off()
            log.info(
                "worker %s stopped: %s timers fired, %s incidents, %s notifications sent",
                self.worker_id,
                self.totals.fired,
                self.totals.incidents,
                self.totals.notifications.sent,
            )
        return self.totals

    # -- one pass ------------------------------------------------------------------------
    def step(self) -> PassStats:
        stats = PassStats()
        try:
            self.heartbeat()
            self.start_due_processes(stats)
            self.fire_due_timers(stats)
            for run_pass in self.passes:
                if not self.stopping:
                    stats.folded += run_pass(self.Session)
            if not self.stopping:
                stats.notifications = delivery.deliver_due(
                    self.Session,
                    self.channels,
                    clock=self.clock,
                    worker_id=self.worker_id,
                    batch=self.notify_batch,
                    backoff_base_s=self.backoff_base_s,
                    should_stop=self._beat_then_stopping,
                )
            if not self.stopping:
                self.prune_group_rows()
                self.prune_notifications()
        except TRANSIENT_DB_ERRORS as exc:
            stats.db_errors += 1
            log.warning(
                "database unavailable or busy, trying again in %.1fs: %s", self.poll_seconds, str(exc).splitlines()[0]
            )
        self._add(stats)
        return stats

    def start_due_processes(self, stats: PassStats | None = None) -> PassStats:
        """Start the instances of due timer start events, one process per transaction."""
        stats = stats or PassStats()
        with self.Session.begin() as session:
            timerstart.sync(session, self.engine)
        seen: list[str] = []
        while not self.stopping and len(seen) < self.batch:
            try:
                with self.Session.begin() as session:
                    done = timerstart.start_next_due(session, self.engine, seen)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception:  # noqa: BLE001 - (a unique fire row taken meanwhile …): the next pass retries
                log.exception("timer start failed; trying again on the next pass")
                break
            if done is None:
                break
            seen.append(done[0])
            if done[1] is not None:
                stats.started += 1
                log.info("timer start: started instance %s of %s", done[1], done[0])
        return stats

    def fire_due_timers(self, stats: PassStats | None = None) -> PassStats:
        """Fire every timer due now, one instance per transaction, at most ``batch`` instances."""
        stats = stats or PassStats()
        seen: list[int] = []  # handled this pass: a timer that stays due waits for the next pass
        while not self.stopping and len(seen) < self.batch:
            self._heartbeat_if_due()
            instance_id = self._fire_next(seen, stats)
            if instance_id is None:
                break
            seen.append(instance_id)
        return stats

    def _fire_next(self, seen: list[int], stats: PassStats) -> int | None:
        now = self.clock.now()
        instance_id = None
        session: Session = self.Session()
        try:
            with session.begin():
                query = (
                    select(Instance)
                    .where(Instance.status == "running", Instance.next_timer_at <= now)
                    .order_by(Instance.next_timer_at, Instance.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if seen:
                    query = query.where(Instance.id.not_in(seen))
                instance = session.scalars(query).first()
                if instance is None:
                    return None
                instance_id = instance.id
                self.engine.calendar.sync(session)  # the administrators' latest calendar
                self.engine.fire_timers(session, instance)
                if instance.status == "error":
                    stats.incidents += 1
                    log.warning(
                        "instance %s: incident at %s: %s",
                        instance_id,
                        (instance.error or {}).get("element_id"),
                        (instance.error or {}).get("message"),
                    )
                else:
                    stats.fired += 1
            return instance_id
        except (Conflict, StaleDataError):
            stats.conflicts += 1  # changed by someone else meanwhile: it is picked up again if still due
            log.info("instance %s changed meanwhile; skipped", instance_id)
            return instance_id
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - never let one instance stop the worker
            if instance_id is None:
                raise
            log.exception("instance %s: unexpected error while firing timers", instance_id)
            self._record_incident(instance_id, exc)
            stats.incidents += 1
            return instance_id
        finally:
            session.close()

    def _record_incident(self, instance_id: int, exc: Exception) -> None:
        with self.Session.begin() as session:
            instance = session.get(Instance, instance_id, with_for_update=True)
            if instance is None or instance.status != "running":
                return
            instance.status = "error"
            instance.next_timer_at = None
            instance.error = incident_record(f"{exc.__class__.__name__}: {exc}", self.clock.now().isoformat())
            instance.updated_at = self.clock.now()
            self.engine.audit(session, "system", "incident", instance, data=instance.error)

    # -- heartbeat -----------------------------------------------------------------------
    def _beat_then_stopping(self) -> bool:
        """Between two notifications: refresh the heartbeat if due, then say whether to stop."""
        self._heartbeat_if_due()
        return self.stopping

    def _heartbeat_if_due(self) -> None:
        """Refresh the heartbeat during a long pass, so /healthz's short window holds."""
        if time.monotonic() - self._last_beat >= HEARTBEAT_EVERY_S:
            self.heartbeat()

    def heartbeat(self) -> None:
        self._last_beat = time.monotonic()
        beat(self.Session, self.worker_id, self.clock.now(), self._started_at, self.poll_seconds, self.totals)

    def prune_group_rows(self, force: bool = False) -> int:
        """Delete the inbox rows of tasks no longer ready (at most every GROUP_ROWS_EVERY unless forced)."""
        now = self.clock.now()
        if not force and self._groups_pruned_at is not None and now - self._groups_pruned_at < GROUP_ROWS_EVERY:
            return 0
        total = 0
        while not self.stopping:
            with self.Session.begin() as session:
                n = prune_group_rows(session, GROUP_ROWS_BATCH)
            total += n
            if n < GROUP_ROWS_BATCH:
                break
        self._groups_pruned_at = now
        return total

    def prune_notifications(self, force: bool = False) -> tuple[int, int]:
        """Delete old sent notifications and read notices (at most every PRUNE_EVERY unless forced)."""
        now = self.clock.now()
        if not force and self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0, 0
        with self.Session.begin() as session:
            pruned = notices.prune(session, now, self.retention_days)
        self._pruned_at = now
        if any(pruned):
            log.info(
                "pruned %s sent notifications and %s read notices older than %s days", *pruned, self.retention_days
            )
        return pruned

    def _sign_off(self) -> None:
        sign_off(self.Session, self.worker_id)

    def _add(self, stats: PassStats) -> None:
        t = self.totals
        t.fired += stats.fired
        t.started += stats.started
        t.incidents += stats.incidents
        t.conflicts += stats.conflicts
        t.folded += stats.folded
        t.db_errors += stats.db_errors
        for name in ("sent", "retried", "failed", "skipped"):
            setattr(t.notifications, name, getattr(t.notifications, name) + getattr(stats.notifications, name))


def run_forever(
    Session: sessionmaker,
    engine: Engine,
    *,
    once: bool = False,
    poll_seconds: float = 2.0,
    worker_id: str | None = None,
) -> PassStats:
    """What ``zhitongche worker`` runs: a worker with signal handlers installed."""
    from .sandbox.pool import POOL

    worker = Worker(Session, engine, worker_id=worker_id, poll_seconds=poll_seconds)
    worker.install_signal_handlers()
    POOL.warm_up()  # the script processes import while the worker starts
    return worker.run(once=once)

"""Delivering the notification outbox (engine/notify.py writes it): the worker's sending side.

``deliver_due`` first resolves due groups rows into one row per member (``notify.expand_due``),
then sends: a row is *claimed* by a status transition (pending → sending, under
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under SQLite's write lock), sent outside any
transaction, then marked sent — so two workers never send the same row. A channel that is down
leaves the row pending with exponential backoff (nothing is lost); a permanent refusal marks it
failed with the reason. A worker that dies between sending and marking leaves a claim that
expires after ``CLAIM_LEASE`` and is sent again: delivery is at-least-once only across that
crash window. Admins send failed rows again with ``requeue_failed``. The channels themselves
are in engine/channels.py.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from .channels import Channel, DeliveryError, Message, Recipient
from .clock import Clock
from .db import rowcount
from .models import Notification, User
from .notify import FANOUT, expand_due

log = logging.getLogger("zhitongche.notify")

CLAIM_LEASE = _dt.timedelta(minutes=5)
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 3600.0


def backoff(attempts: int, base_s: float = BACKOFF_BASE_S, max_s: float = BACKOFF_MAX_S) -> _dt.timedelta:
    return _dt.timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), max_s))


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


def _claim(Session: sessionmaker, worker_id: str, now: _dt.datetime, batch: int) -> list[Message]:
    with Session.begin() as session:
        session.execute(
            update(Notification)
            .where(
                Notification.status == "sending",
                Notification.claimed_at < now - CLAIM_LEASE,
            )
            .values(status="pending", claimed_by=None, claimed_at=None)
        )
        rows = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.status == "pending",
                    Notification.next_attempt_at <= now,
                    Notification.channel != FANOUT,
                )
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return []
        users = {
            u.username: u for u in session.scalars(select(User).where(User.username.in_({r.recipient for r in rows})))
        }
        messages = []
        for row in rows:
            row.status, row.claimed_by, row.claimed_at = "sending", worker_id, now
            row.attempts += 1
            user = users.get(row.recipient)
            recipient = Recipient(
                row.recipient,
                user.display_name if user else "",
                user.email if user else None,
                user.phone if user else None,
            )
            messages.append(
                Message(row.id, row.kind, row.level, row.subject, row.body, recipient, row.channel, row.attempts)
            )
    return messages


def _finish(Session: sessionmaker, message: Message, worker_id: str, values: dict) -> bool:
    with Session.begin() as session:
        result = session.execute(
            update(Notification)
            .where(
                Notification.id == message.id,
                Notification.status == "sending",
                Notification.claimed_by == worker_id,
            )
            .values(claimed_by=None, claimed_at=None, **values)
        )
        return bool(rowcount(result))


def deliver_due(
    Session: sessionmaker[Session],
    channels: Mapping[str, Channel],
    *,
    clock: Clock,
    worker_id: str,
    batch: int = 50,
    backoff_base_s: float = BACKOFF_BASE_S,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryStats:
    """Claim due outbox rows and send them; one short transaction to claim, one per result."""
    stats = DeliveryStats()
    expand_due(Session, clock.now(), batch)  # groups rows first: their members' rows go out in this pass
    messages = _claim(Session, worker_id, clock.now(), batch)
    done = 0
    for message in messages:
        done += 1
        channel = channels.get(message.channel)
        attempts = message.attempts
        try:
            if channel is None:
                raise DeliveryError(f"channel '{message.channel}' is not configured in this worker")
            channel.send(message)
        except Exception as exc:  # noqa: BLE001 - a channel's failure must not stop the worker
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            reason = str(exc) if isinstance(exc, DeliveryError) else f"{exc.__class__.__name__}: {exc}"
            if permanent:
                status = "skipped" if "no e-mail address" in reason else "failed"
                _finish(Session, message, worker_id, {"status": status, "last_error": reason})
                if status == "failed":
                    stats.failed += 1
                    log.warning("notification %s failed for good: %s", message.id, reason)
                else:
                    stats.skipped += 1
            else:
                when = clock.now() + backoff(attempts, backoff_base_s)
                _finish(
                    Session, message, worker_id, {"status": "pending", "next_attempt_at": when, "last_error": reason}
                )
                stats.retried += 1
                log.info(
                    "notification %s not sent (attempt %s), retry at %s: %s",
                    message.id,
                    attempts,
                    when.isoformat(),
                    reason,
                )
        else:
            if _finish(Session, message, worker_id, {"status": "sent", "sent_at": clock.now(), "last_error": None}):
                stats.sent += 1
        if should_stop():
            break
    # rows claimed but not attempted because we were asked to stop go back at once
    unsent = [m.id for m in messages[done:]]
    if unsent:
        with Session.begin() as session:
            session.execute(
                update(Notification)
                .where(
                    Notification.id.in_(unsent),
                    Notification.status == "sending",
                    Notification.claimed_by == worker_id,
                )
                .values(status="pending", claimed_by=None, claimed_at=None, attempts=Notification.attempts - 1)
            )
    return stats


def requeue_failed(session: Session, now: _dt.datetime, ids: Iterable[int] | None = None) -> int:
    """Admins: send failed notifications again (after fixing an address or a channel)."""
    query = update(Notification).where(Notification.status == "failed")
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    return rowcount(session.execute(query.values(status="pending", next_attempt_at=now, last_error=None))) or 0

"""The in-app notification centre (channel ``inapp``) and the pruning of old notifications.

A notice is a ``user_notice`` row written in the caller's transaction by engine/notify.py
(``enqueue`` with the ``inapp`` channel), so it is there exactly when the change that caused
it is committed. People list their notices, see how many are unread and mark them read.

Pruning (run by the worker): outbox rows that are done (``sent``, ``skipped``, ``cancelled``)
and in-app notices that were read are deleted once older than the retention age
(``ZHITONGCHE_NOTIFICATION_RETENTION_DAYS``, default 30). Pending and failed outbox rows and
unread notices are never pruned.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .db import rowcount
from .models import HumanTask, Notification, UserNotice

DEFAULT_RETENTION_DAYS = 30
DONE_STATUSES = ("sent", "skipped", "cancelled")


def retention_days(env: Mapping[str, str] | None = None) -> int:
    """``ZHITONGCHE_NOTIFICATION_RETENTION_DAYS`` (a whole number ≥ 1; default 30)."""
    env = os.environ if env is None else env
    raw = env.get("ZHITONGCHE_NOTIFICATION_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(
            f"ZHITONGCHE_NOTIFICATION_RETENTION_DAYS must be a whole number of days, not {raw!r}"
        ) from None
    if days < 1:
        raise ValueError("ZHITONGCHE_NOTIFICATION_RETENTION_DAYS must be at least 1")
    return days


def add(
    session: Session,
    *,
    username: str,
    kind: str,
    level: str | None,
    subject: str,
    body: str,
    now: _dt.datetime,
    instance_id: int | None = None,
    task: HumanTask | None = None,
) -> UserNotice:
    """One notice for one user (flush left to the caller)."""
    notice = UserNotice(
        username=username,
        kind=kind[:30],
        level=level,
        subject=subject[:300],
        body=body,
        instance_id=instance_id,
        created_at=now,
    )
    if task is not None:
        notice.task = task  # linked by the relationship: a task created in this step has no id yet
    session.add(notice)
    return notice


def unread_count(session: Session, username: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(UserNotice)
            .where(UserNotice.username == username, UserNotice.read_at.is_(None))
        )
        or 0
    )


def page(
    session: Session, username: str, *, offset: int = 0, limit: int = 50, unread_only: bool = False
) -> tuple[list[UserNotice], int]:
    """A user's notices, newest first, and how many there are in all."""
    where = [UserNotice.username == username]
    if unread_only:
        where.append(UserNotice.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(UserNotice).where(*where)) or 0
    rows = list(
        session.scalars(
            select(UserNotice)
            .where(*where)
            .order_by(UserNotice.created_at.desc(), UserNotice.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return rows, total


def get(session: Session, username: str, notice_id: int) -> UserNotice | None:
    """The user's own notice, or None (someone else's is never returned)."""
    notice = session.get(UserNotice, notice_id)
    return notice if notice is not None and notice.username == username else None


def mark_read(session: Session, username: str, now: _dt.datetime, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read: those of ``ids``, or all unread ones."""
    query = update(UserNotice).where(UserNotice.username == username, UserNotice.read_at.is_(None))
    if ids is not None:
        query = query.where(UserNotice.id.in_(list(ids)))
    return rowcount(session.execute(query.values(read_at=now))) or 0


def prune(session: Session, now: _dt.datetime, days: int | None = None) -> tuple[int, int]:
    """Delete done outbox rows and read notices older than the retention age.
    Returns (outbox rows, notices) deleted."""
    cutoff = now - _dt.timedelta(days=days if days is not None else retention_days())
    outbox = (
        rowcount(
            session.execute(
                delete(Notification).where(
                    Notification.status.in_(DONE_STATUSES),
                    Notification.created_at < cutoff,
                    func.coalesce(Notification.sent_at, Notification.created_at) < cutoff,
                )
            )
        )
        or 0
    )
    notices = (
        rowcount(
            session.execute(delete(UserNotice).where(UserNotice.read_at.is_not(None), UserNotice.read_at < cutoff))
        )
        or 0
    )
    return outbox, notices

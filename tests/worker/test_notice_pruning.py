"""The worker prunes old notifications: sent (or skipped, cancelled) outbox rows and read in-app
notices older than ZHITONGCHE_NOTIFICATION_RETENTION_DAYS; nothing pending, failed or unread."""

from __future__ import annotations

import datetime as _dt

import pytest
from sqlalchemy import select

from engine import notices
from engine.models import Notification, UserNotice


def _outbox(s, subject, status, age_days, now):
    at = now - _dt.timedelta(days=age_days)
    s.add(
        Notification(
            kind="notice",
            recipient="u",
            channel="log",
            subject=subject,
            body="",
            status=status,
            attempts=1,
            next_attempt_at=at,
            created_at=at,
            sent_at=at if status == "sent" else None,
        )
    )


def _notice(s, subject, age_days, read, now):
    at = now - _dt.timedelta(days=age_days)
    s.add(
        UserNotice(username="u", kind="notice", subject=subject, body="", created_at=at, read_at=at if read else None)
    )


def test_only_old_sent_rows_and_old_read_notices_are_pruned(Session, make_worker, clock):
    now = clock.now()
    with Session.begin() as s:
        for status in ("sent", "skipped", "cancelled", "pending", "failed", "sending"):
            _outbox(s, f"old {status}", status, 31, now)
        _outbox(s, "recent sent", "sent", 29, now)
        _notice(s, "old read", 31, True, now)
        _notice(s, "old unread", 31, False, now)
        _notice(s, "recent read", 29, True, now)
    worker = make_worker(retention_days=30)
    assert worker.prune_notifications() == (3, 1)
    with Session() as s:
        assert sorted(s.scalars(select(Notification.subject))) == [
            "old failed",
            "old pending",
            "old sending",
            "recent sent",
        ]
        assert sorted(s.scalars(select(UserNotice.subject))) == ["old unread", "recent read"]
    assert worker.prune_notifications(force=True) == (0, 0)


def test_the_worker_prunes_in_its_pass(Session, make_worker, clock):
    with Session.begin() as s:
        _outbox(s, "old sent", "sent", 8, clock.now())
    make_worker(retention_days=7).step()
    with Session() as s:
        assert list(s.scalars(select(Notification.subject))) == []


def test_retention_comes_from_the_environment():
    assert notices.retention_days({}) == 30
    assert notices.retention_days({"ZHITONGCHE_NOTIFICATION_RETENTION_DAYS": "90"}) == 90
    for bad in ("0", "-3", "thirty"):
        with pytest.raises(ValueError):
            notices.retention_days({"ZHITONGCHE_NOTIFICATION_RETENTION_DAYS": bad})

"""Notifications: an outbox written with the change that causes it, sent by the worker.

Rows are created in the caller's transaction (so a notification exists exactly when the
task or warning that caused it was committed). A notification to groups is one row that names
the groups (channel ``groups``, no recipient): the step never looks people up (issue 18). The
worker resolves it at send time (``expand_due``): in one transaction it reads the active members
of the groups, writes one row per recipient and channel (and their in-app notices) and marks the
groups row sent, so each member is told exactly once, as people are when the row is sent.

- ``task_created``: a new human task → every active user in its candidate groups;
- ``requested``: a process asks for one with the ``notify`` property of a task or event
  (yellow/red warnings, escalation; see docs/CONVENTIONS.md).

The worker delivers them (engine/delivery.py ``deliver_due``: claimed, sent, retried with
backoff; at-least-once only across a worker's crash).

Channels (engine/channels.py): ``inapp`` (the notification centre, engine/notices.py: a
``user_notice`` row written at once, no outbox row), ``log`` (default), ``email`` (SMTP), ``webhook`` (JSON text
message as WeCom / DingTalk group robots accept), configured from ``ZHITONGCHE_*`` variables.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.orm import Session, sessionmaker

from . import notices
from .channels import (  # noqa: F401 - re-exported: callers configure channels through this module
    CHANNELS,
    INAPP,
    Channel,
    DeliveryError,
    EmailChannel,
    LogChannel,
    Message,
    Recipient,
    WebhookChannel,
    channel_names,
    channels_from_env,
)
from .db import rowcount
from .models import HumanTask, Instance, Notification, User
from .properties import NOTIFY  # noqa: F401 - the property a process uses to ask for a notification

log = logging.getLogger("zhitongche.notify")


# -- recipients and outbox rows ---------------------------------------------------------
def usernames_in_groups(session: Session, groups: Iterable[str]) -> list[str]:
    """Usernames of the active users in any of ``groups`` (their ``groups`` JSON list; enterprises by USCC,
    admins by kind, as engine.access does)."""
    wanted = sorted({str(g) for g in groups if g})
    if not wanted:
        return []
    dialect = session.get_bind().dialect.name
    conditions = []
    if dialect == "postgresql":
        conditions.append(type_coerce(User.groups, JSONB).has_any(array(wanted)))
    elif dialect == "sqlite":
        each = func.json_each(User.groups).table_valued("value")
        conditions.append(exists(select(1).select_from(each).where(each.c.value.in_(wanted))))
    usccs = [g.split(":", 1)[1] for g in wanted if g.startswith("enterprise:")]
    if usccs:
        conditions.append((User.kind == "enterprise") & User.uscc.in_(usccs))
    if "admin" in wanted:
        conditions.append(User.kind == "admin")
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the engine runs on these two only
        raise NotImplementedError(f"recipients on {dialect}")
    query = select(User.username).where(User.active.is_(True), or_(*conditions)).order_by(User.username)
    with session.no_autoflush:  # called while the engine changes an instance: flushing is its business
        return list(session.scalars(query))


FANOUT = "groups"  # the channel of a row that names groups, resolved by the worker at send time
USER = "user:"  # in such a row's groups: one person named by the process (``users`` of ``notify``)


def enqueue(
    session: Session,
    *,
    kind: str,
    recipients: Iterable[str],
    subject: str,
    body: str,
    now: _dt.datetime,
    instance: Instance | None = None,
    task: HumanTask | None = None,
    level: str | None = None,
    channels: Iterable[str] | None = None,
    instance_id: int | None = None,
) -> list[Notification]:
    """Add one outbox row per recipient and channel, or an in-app notice for the ``inapp``
    channel (flush left to the caller); returns the outbox rows."""
    rows = []
    if instance is not None:
        instance_id = instance.id
    for username in dict.fromkeys(r for r in recipients if r):
        for channel in channels if channels is not None else channel_names():
            if channel == INAPP:  # the notification centre: stored at once, nothing to deliver
                notices.add(
                    session,
                    username=username,
                    kind=kind,
                    level=level,
                    subject=subject,
                    body=body,
                    now=now,
                    instance_id=instance_id,
                    task=task,
                )
                continue
            rows.append(
                _outbox_row(
                    session, kind, level, subject, body, now, instance_id, task, recipient=username, channel=channel
                )
            )
    return rows


def _outbox_row(
    session: Session,
    kind: str,
    level: str | None,
    subject: str,
    body: str,
    now: _dt.datetime,
    instance_id: int | None,
    task: HumanTask | None,
    **where: Any,
) -> Notification:
    """One pending outbox row (``where``: its recipient and channel, or the groups to resolve)."""
    row = Notification(
        kind=kind[:30],
        level=level,
        subject=subject[:300],
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        instance_id=instance_id,
        **where,
    )
    if task is not None:
        row.task = task
    session.add(row)
    return row


def enqueue_groups(
    session: Session,
    *,
    kind: str,
    groups: Iterable[str],
    subject: str,
    body: str,
    now: _dt.datetime,
    instance: Instance | None = None,
    task: HumanTask | None = None,
    level: str | None = None,
) -> list[Notification]:
    """One outbox row naming ``groups`` (no query: their members are read when it is sent)."""
    wanted = sorted({str(g) for g in groups if g})
    if not wanted:
        return []
    row = _outbox_row(
        session,
        kind,
        level,
        subject,
        body,
        now,
        instance.id if instance is not None else None,
        task,
        recipient="",
        groups=wanted,
        channel=FANOUT,
    )
    return [row]


def expand_due(Session: sessionmaker, now: _dt.datetime, batch: int = 50) -> int:
    """Resolve due groups rows into one row per member and channel (and in-app notices), in one
    transaction; a row is taken once (``FOR UPDATE SKIP LOCKED``, SQLite's write lock), and a
    worker killed on the way leaves it pending for the next pass. Returns the rows resolved."""
    with Session.begin() as session:
        rows = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.status == "pending",
                    Notification.channel == FANOUT,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        channels = channel_names()
        for row in rows:
            named = [g[len(USER) :] for g in row.groups or [] if g.startswith(USER)]
            recipients = named + usernames_in_groups(session, [g for g in row.groups or [] if not g.startswith(USER)])
            if not recipients:
                log.warning("notification %s (%s) has no recipients in groups %s", row.id, row.subject, row.groups)
            enqueue(
                session,
                kind=row.kind,
                level=row.level,
                recipients=recipients,
                subject=row.subject,
                body=row.body,
                now=now,
                instance_id=row.instance_id,
                task=row.task if row.task_id is not None else None,
                channels=channels,
            )
            row.status, row.sent_at, row.last_error = "sent", now, None
        return len(rows)


def case_label(instance: Instance | None) -> str:
    if instance is None:
        return ""
    summary = instance.summary or {}
    number = summary.get("case_no") or instance.business_key or f"#{instance.id}"
    title = summary.get("title")
    return f"{number} {title}" if title else str(number)


def task_created(session: Session, task: HumanTask, now: _dt.datetime) -> list[Notification]:
    """A new human task: tell every member of its candidate groups (or its assignee)."""
    case = case_label(task.instance)
    body = f"案件 {case}：您有一项新的待办「{task.name}」，请及时登录直通车系统办理。"
    if task.due_at is not None:
        body += f"办理期限：{task.due_at.astimezone(_dt.timezone(_dt.timedelta(hours=8))):%Y-%m-%d %H:%M}。"
    subject = f"【直通车】新待办：{task.name}"
    if task.assignee:
        return enqueue(
            session,
            kind="assignment",
            recipients=[task.assignee],
            subject=subject,
            body=body,
            now=now,
            instance=task.instance,
            task=task,
        )
    return enqueue_groups(
        session,
        kind="assignment",
        groups=task.candidate_groups or [],
        subject=subject,
        body=body,
        now=now,
        instance=task.instance,
        task=task,
    )


class NotifyRequestError(ValueError):
    """The value of a ``notify`` property is not a notification request."""


def requested(
    session: Session, instance: Instance, value: Any, now: _dt.datetime, source: str = ""
) -> list[Notification]:
    """Notifications a process asked for with the ``notify`` property: a dict (or a list of
    dicts) with ``groups`` and/or ``users``, ``subject``, ``text``, optional ``kind``
    (warning, escalation, notice…) and ``level`` (yellow, red). None or {} asks for nothing."""
    if not value:
        return []
    requests = value if isinstance(value, (list, tuple)) else [value]
    rows: list[Notification] = []
    for request in requests:
        if not isinstance(request, dict):
            raise NotifyRequestError(f"notify must give a dict or a list of dicts, not {type(request).__name__}")
        groups = request.get("groups") or []
        users = request.get("users") or []
        groups = [groups] if isinstance(groups, str) else list(groups)
        users = [users] if isinstance(users, str) else list(users)
        if not users and not any(groups):
            log.warning("notify of %s on instance %s has no recipients (groups %s)", source, instance.id, groups)
            continue
        case = case_label(instance)
        subject = str(request.get("subject") or source or "直通车通知")
        text = str(request.get("text") or subject)
        kind, level = str(request.get("kind") or "notice"), request.get("level")
        named = [str(u) for u in users if u]
        if any(groups):  # one row for the worker: the groups' members and the named users, each once
            rows += enqueue_groups(
                session,
                kind=kind,
                level=level,
                groups=[*groups, *(USER + u for u in named)],
                subject=f"【直通车】{subject}",
                body=f"案件 {case}：{text}",
                now=now,
                instance=instance,
            )
        else:
            rows += enqueue(
                session,
                kind=kind,
                level=level,
                recipients=named,
                subject=f"【直通车】{subject}",
                body=f"案件 {case}：{text}",
                now=now,
                instance=instance,
            )
    return rows


def cancel_pending(session: Session, instance_id: int) -> int:
    """Drop the unsent notifications of an instance (it was terminated)."""
    result = session.execute(
        update(Notification)
        .where(Notification.instance_id == instance_id, Notification.status == "pending")
        .values(status="cancelled")
    )
    return rowcount(result) or 0

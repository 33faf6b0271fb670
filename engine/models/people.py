"""People and what they keep: users, sessions, API tokens, log-in attempts, notifications and
in-app notices, saved filters, 抄送 copies and 常用意见 phrases."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from .base import Base, default_now

if TYPE_CHECKING:
    from .process import HumanTask


class User(Base):
    """A person: an official (groups give their roles, units and county), an enterprise, an admin."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="official")  # official | enterprise | admin
    groups: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["wg:city"], ["unit:zrzyj", "head:zrzyj"]
    county: Mapped[str | None] = mapped_column(String(50))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))  # for e-mail notifications
    active: Mapped[bool] = mapped_column(default=True)
    # a password someone else knows (the printed first administrator's, an admin's reset): the
    # user must choose their own before anything else (webapp/views_auth.py)
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class ApiToken(Base):
    """A per-user API token; only its hash is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    last_used_at: Mapped[_dt.datetime | None] = mapped_column()
    revoked_at: Mapped[_dt.datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class UserSession(Base):
    """A log-in on the web pages: the cookie carries a random secret whose SHA-256 is ``id``.

    Logout, deactivation and password change set ``ended_at``; an idle or too old session
    is ended when it is next seen (engine/sessions.py)."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    last_seen_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    ended_at: Mapped[_dt.datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginAttempt(Base):
    """One log-in attempt on the web form, for throttling across all web processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_user_ip_at", "username", "ip", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    username: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)


# -- statistics (issue 8): typed projections of the case summary, bulletins, work records -------


class Notification(Base):
    """The outbox: one message to one recipient over one channel, sent by a worker.

    ``status``: pending → sending (claimed by a worker) → sent, or back to pending with
    ``next_attempt_at`` pushed out (backoff) while the channel is down; ``failed`` when the
    channel refused it for good (``last_error`` says why), ``skipped`` when the recipient
    has no address on that channel, ``cancelled`` when its case was terminated.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # assignment | warning | escalation | notice
    level: Mapped[str | None] = mapped_column(String(20))  # yellow | red | None
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(100), index=True)  # a username ("" on a groups row)
    # channel "groups": the people are not named yet; the worker resolves these groups at send
    # time into one row per member and channel (engine/notify.py ``expand_due``)
    groups: Mapped[list[Any] | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20))  # log | email | webhook
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[_dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    sent_at: Mapped[_dt.datetime | None] = mapped_column()
    # lets SQLite take a step's outbox rows in one INSERT … RETURNING (SQLAlchemy's "insertmanyvalues"
    # needs it to match the returned ids to the rows; PostgreSQL orders them by the id): issue 18
    insert_sentinel: Mapped[int | None] = orm_insert_sentinel()

    task: Mapped[HumanTask | None] = relationship()


class UserNotice(Base):
    """The in-app notification centre: one notice to one user (channel ``inapp``), written in
    the transaction of the change that causes it; ``read_at`` is set when the user reads it.
    Read notices older than the retention age are pruned by the worker (engine/notify.py)."""

    __tablename__ = "user_notice"
    __table_args__ = (Index("ix_user_notice_unread", "username", "read_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now, index=True)
    read_at: Mapped[_dt.datetime | None] = mapped_column()

    task: Mapped[HumanTask | None] = relationship()


class SavedFilter(Base):
    """A named inbox or case-list filter (the query string), a person's own or shared with a group."""

    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    shared_group: Mapped[str | None] = mapped_column(String(200), index=True)
    page: Mapped[str] = mapped_column(String(20))  # inbox | cases
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class CaseCopy(Base):
    """抄送: a case copied to a person or a group for reading (engine/office_verbs.py)."""

    __tablename__ = "case_copy"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str | None] = mapped_column(String(100), index=True)  # a username, or
    group: Mapped[str | None] = mapped_column(String(200), index=True)  # a group
    copied_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class Phrase(Base):
    """常用意见: a person's saved phrase, inserted into opinion fields."""

    __tablename__ = "phrase"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)

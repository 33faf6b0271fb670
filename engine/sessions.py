"""Server-side web sessions: a row per log-in, so that a session can end at once.

The cookie carries only a random secret (``new_session``); the row's id is its SHA-256,
so a database dump reveals no usable session. ``check`` is asked on every request: it
refuses an ended session, a deactivated user, a session idle longer than ``idle`` or older
than ``max_age`` (and ends it), and moves ``last_seen_at`` at most once a minute, so a busy
page costs no write per request. Logout ends one session; a password change ends the
user's other sessions; deactivation and a password reset end all of them. No web here;
the caller owns the transaction.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .db import rowcount
from .models import User, UserSession

SEEN_EVERY = _dt.timedelta(minutes=1)  # last_seen_at is written at most this often
KEEP_ENDED = _dt.timedelta(days=30)  # ended rows are deleted after this


@dataclass(frozen=True)
class Limits:
    idle: _dt.timedelta = _dt.timedelta(minutes=30)
    max_age: _dt.timedelta = _dt.timedelta(hours=8)


def session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_session(session: Session, user: User, now: _dt.datetime | None = None) -> str:
    """Start a session of ``user``; returns the secret for the cookie (never stored)."""
    now = now or clock_mod.now()
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(id=session_id(secret), user_id=user.id, created_at=now, last_seen_at=now))
    if secrets.randbelow(50) == 0:  # now and then, forget sessions that ended long ago
        session.execute(delete(UserSession).where(UserSession.ended_at < now - KEEP_ENDED))
    session.flush()
    return secret


def check(
    session: Session,
    secret: str | None,
    limits: Limits = Limits(),
    now: _dt.datetime | None = None,
    touch: Callable[[Callable[[Session], object]], None] | None = None,
) -> User | None:
    """The active user of a live session, or None (an expired session is ended here).

    ``touch`` (a read-only request): the last-seen write is handed to it as a function of a
    session of its own, instead of being made in ``session``."""
    if not secret or not isinstance(secret, str) or len(secret) > 200:
        return None
    row = session.get(UserSession, session_id(secret))
    if row is None or row.ended_at is not None:
        return None
    now = now or clock_mod.now()
    reason = None
    if now - row.created_at > limits.max_age:
        reason = "expired"
    elif now - row.last_seen_at > limits.idle:
        reason = "idle"
    user = session.get(User, row.user_id)
    if reason is None and (user is None or not user.active):
        reason = "inactive"
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        session.flush()
        return None
    if now - row.last_seen_at >= SEEN_EVERY:
        if touch is None:
            row.last_seen_at = now
        else:
            sid = row.id
            touch(
                lambda other: other.execute(update(UserSession).where(UserSession.id == sid).values(last_seen_at=now))
            )
    return user


def end(session: Session, secret: str | None, reason: str = "logout", now: _dt.datetime | None = None) -> None:
    """End the session of this cookie secret (logout)."""
    if not secret or not isinstance(secret, str) or len(secret) > 200:
        return
    row = session.get(UserSession, session_id(secret))
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now or clock_mod.now(), reason
        session.flush()


def end_all(session: Session, user: User, reason: str, keep: str | None = None, now: _dt.datetime | None = None) -> int:
    """End every live session of ``user`` but the one of cookie secret ``keep``; returns how many."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.id != session_id(keep))
    result = session.execute(query.values(ended_at=now or clock_mod.now(), end_reason=reason))
    return rowcount(result) or 0


def live_sessions(
    session: Session, user: User, limits: Limits = Limits(), now: _dt.datetime | None = None
) -> Select[UserSession]:
    """A select of the user's sessions that are neither ended nor expired, newest first."""
    now = now or clock_mod.now()
    return (
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at >= now - limits.idle,
            UserSession.created_at >= now - limits.max_age,
        )
        .order_by(UserSession.created_at.desc())
    )


__all__ = ["Limits", "new_session", "check", "end", "end_all", "live_sessions", "session_id"]

"""Log-in throttling shared by every web process: attempts are rows in the database.

A user name tried from one address gets ``PER_USER_IP`` failures per ``WINDOW``; one
address gets ``PER_IP`` failures per window over all user names (password spraying). A
successful log-in forgives the earlier failures of that name and address. No web here.
"""
from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .models import LoginAttempt

WINDOW = _dt.timedelta(minutes=15)
PER_USER_IP = 5
PER_IP = 30


@dataclass(frozen=True)
class Throttle:
    window: _dt.timedelta = WINDOW
    per_user_ip: int = PER_USER_IP
    per_ip: int = PER_IP


def _key(username: str, ip: str) -> tuple[str, str]:
    return (username or "").strip().lower()[:100], (ip or "unknown")[:64]


def retry_after(session: Session, username: str, ip: str, throttle: Throttle = Throttle(),
                now: _dt.datetime | None = None) -> int | None:
    """Seconds until this name may try again from this address, or None when it may now."""
    now = now or clock_mod.now()
    username, ip = _key(username, ip)
    since = now - throttle.window
    last_ok = session.scalar(select(func.max(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(True),
        LoginAttempt.at >= since))
    pair = select(LoginAttempt.at).where(LoginAttempt.username == username, LoginAttempt.ip == ip,
                                         LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since,
                                         LoginAttempt.id > (last_ok or 0))
    from_ip = select(LoginAttempt.at).where(LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False),
                                            LoginAttempt.at >= since)
    waits = []
    for query, limit in ((pair, throttle.per_user_ip), (from_ip, throttle.per_ip)):
        recent = list(session.scalars(query.order_by(LoginAttempt.id.desc()).limit(limit)))
        if len(recent) >= limit:  # the oldest of the last `limit` failures must leave the window
            waits.append((recent[-1] + throttle.window - now).total_seconds())
    return max(1, int(max(waits)) + 1) if waits else None


def record(session: Session, username: str, ip: str, succeeded: bool, now: _dt.datetime | None = None) -> None:
    now = now or clock_mod.now()
    username, ip = _key(username, ip)
    session.add(LoginAttempt(at=now, username=username, ip=ip, succeeded=succeeded))
    if secrets.randbelow(50) == 0:  # now and then, keep the table small: old attempts say nothing
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - _dt.timedelta(days=1)))
    session.flush()


__all__ = ["Throttle", "retry_after", "record", "WINDOW", "PER_USER_IP", "PER_IP"]

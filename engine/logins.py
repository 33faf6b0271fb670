"""Log-in throttling shared by every web process: attempts are rows in the database.

Three counts of failed log-ins over ``WINDOW`` (15 minutes), each forgiven by a later
successful log-in of the same name (and address):

- one user name from one address (``per_user_ip``, 5): that name is locked *for that
  address* — even the right password waits;
- one user name from all addresses (``per_account``, 20): the account is locked everywhere
  (guessing spread over many addresses);
- one address over all names (``per_ip``, 30, password spraying): the address is *busy*,
  which only slows down failing attempts: unknown names and wrong passwords answer 429,
  but the right password of an account that is not itself locked still logs in, so
  colleagues behind one proxy or NAT cannot lock each other out.

User names are counted as typed (whether or not the account exists), so a lock says
nothing about which names exist. Behind a reverse proxy set ``ZHITONGCHE_TRUSTED_PROXIES``
so that the address is the client's, not the proxy's. No web here.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .models import LoginAttempt

WINDOW = _dt.timedelta(minutes=15)
PER_USER_IP = 5
PER_ACCOUNT = 20
PER_IP = 30


@dataclass(frozen=True)
class Throttle:
    window: _dt.timedelta = WINDOW
    per_user_ip: int = PER_USER_IP
    per_account: int = PER_ACCOUNT
    per_ip: int = PER_IP


@dataclass(frozen=True)
class Verdict:
    """``locked``: seconds until this name may try again from this address (nothing is checked
    until then); ``busy``: the address is over its limit, a failure answers 429 with this wait."""

    locked: int | None = None
    busy: int | None = None


def _key(username: str, ip: str) -> tuple[str, str]:
    return (username or "").strip().lower()[:100], (ip or "unknown")[:64]


def _wait(
    session: Session, query: Select[_dt.datetime], limit: int, throttle: Throttle, now: _dt.datetime
) -> int | None:
    recent = list(session.scalars(query.order_by(LoginAttempt.id.desc()).limit(limit)))
    if len(recent) < limit:
        return None
    # the oldest of the last `limit` failures must leave the window
    return max(1, int((recent[-1] + throttle.window - now).total_seconds()) + 1)


def check(
    session: Session, username: str, ip: str, throttle: Throttle = Throttle(), now: _dt.datetime | None = None
) -> Verdict:
    """Whether this name may try to log in from this address now (see the module's docstring)."""
    now = now or clock_mod.now()
    username, ip = _key(username, ip)
    since = now - throttle.window
    failed = select(LoginAttempt.at).where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    ok = select(func.max(LoginAttempt.id)).where(
        LoginAttempt.succeeded.is_(True), LoginAttempt.at >= since, LoginAttempt.username == username
    )
    last_ok_pair = session.scalar(ok.where(LoginAttempt.ip == ip)) or 0
    last_ok_account = session.scalar(ok) or 0
    waits = [
        _wait(
            session,
            failed.where(LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.id > last_ok_pair),
            throttle.per_user_ip,
            throttle,
            now,
        ),
        _wait(
            session,
            failed.where(LoginAttempt.username == username, LoginAttempt.id > last_ok_account),
            throttle.per_account,
            throttle,
            now,
        ),
    ]
    locked = max((w for w in waits if w is not None), default=None)
    if locked is not None:
        return Verdict(locked=locked)
    return Verdict(busy=_wait(session, failed.where(LoginAttempt.ip == ip), throttle.per_ip, throttle, now))


def record(session: Session, username: str, ip: str, succeeded: bool, now: _dt.datetime | None = None) -> None:
    now = now or clock_mod.now()
    username, ip = _key(username, ip)
    session.add(LoginAttempt(at=now, username=username, ip=ip, succeeded=succeeded))
    if secrets.randbelow(50) == 0:  # now and then, keep the table small: old attempts say nothing
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - _dt.timedelta(days=1)))
    session.flush()


__all__ = ["Throttle", "Verdict", "check", "record", "WINDOW", "PER_USER_IP", "PER_ACCOUNT", "PER_IP"]

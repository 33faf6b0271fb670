"""Managing accounts: create officials, designers and administrators, set and change passwords,
deactivate and reactivate, list; the first administrator of a database without one.

Used by the admin pages (webapp/admin_users.py), the ``zhitongche user`` commands and the
change-password page. Every password goes through the policy (engine/passwords.py); a
password change ends the user's other sessions, a reset or a deactivation ends all of them
(engine/sessions.py). Every change writes an audit entry. No web here; the caller owns the
transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import passwords, sessions
from .errors import InvalidRequest, NotAllowed
from .models import AuditEntry, User
from .names import Directory
from .users import USERNAME_RE, find_user, hash_password, verify_password

KINDS = ("official", "admin")  # enterprises register themselves (engine/users.py)
ROLE_PREFIXES = ("wg", "leader", "unit", "head")
PLAIN_GROUPS = ("admin", "designer")


def known_groups(directory: Directory) -> list[str]:
    """Every group an official may be given: admin, designer, wg:/leader: of a county, unit:/head: of a unit."""
    groups = list(PLAIN_GROUPS)
    for county in directory.counties:
        groups += [f"wg:{county}", f"leader:{county}"]
    for unit in directory.units:
        groups += [f"unit:{unit}", f"head:{unit}"]
    return groups


def _audit(session: Session, actor: str, action: str, data: dict) -> None:
    session.add(AuditEntry(at=clock_mod.now(), actor=(actor or "-")[:100], action=action, data=data))


def _clean_groups(groups: Iterable[str], directory: Directory) -> list[str]:
    allowed = set(known_groups(directory))
    cleaned: list[str] = []
    for group in groups:
        group = (group or "").strip()
        if not group:
            continue
        if group not in allowed:
            raise InvalidRequest(f"unknown group '{group[:100]}'", field="groups", code="group")
        if group not in cleaned:
            cleaned.append(group)
    return cleaned


def create_user(
    session: Session,
    directory: Directory,
    *,
    username: str,
    password: str,
    display_name: str = "",
    kind: str = "official",
    groups: Iterable[str] = (),
    county: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    actor: str = "system",
) -> User:
    """A new official or administrator. Raises InvalidRequest(field=…, code=…) on the first problem."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise InvalidRequest("user name: 3–100 letters, digits or . _ - @", field="username", code="username")
    if kind not in KINDS:
        raise InvalidRequest("kind: official or admin", field="kind", code="kind")
    display_name = (display_name or "").strip()
    if len(display_name) > 200:
        raise InvalidRequest("name: at most 200 characters", field="display_name", code="too_long")
    cleaned = _clean_groups(groups, directory)
    if kind == "admin" and "admin" not in cleaned:
        cleaned.insert(0, "admin")
    if kind == "official" and not cleaned:
        raise InvalidRequest("an official needs at least one group", field="groups", code="no_group")
    county = (county or "").strip() or None
    if county is not None and county not in directory.counties:
        raise InvalidRequest(f"unknown county '{county[:50]}'", field="county", code="county")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or "@" not in email or any(c.isspace() for c in email)):
        raise InvalidRequest("invalid e-mail address", field="email", code="email")
    phone = (phone or "").strip() or None
    if phone is not None and len(phone) > 20:
        raise InvalidRequest("phone: at most 20 characters", field="phone", code="too_long")
    passwords.check(password, username)
    if find_user(session, username) is not None:
        raise InvalidRequest("this user name is taken", field="username", code="username_taken")
    user = User(
        username=username,
        password_hash=hash_password(password),
        display_name=display_name or username,
        kind=kind,
        groups=cleaned,
        county=county,
        email=email,
        phone=phone,
        active=True,
        created_at=clock_mod.now(),
    )
    session.add(user)
    session.flush()
    _audit(session, actor, "user_created", {"user": username, "kind": kind, "groups": cleaned, "county": county})
    return user


def reset_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """An administrator sets ``user``'s password: every session of the user ends."""
    passwords.check(password, user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = True  # the administrator knows it: the user chooses their own at log-in
    sessions.end_all(session, user, "password_reset")
    _audit(session, actor, "password_reset", {"user": user.username})
    session.flush()


def change_password(session: Session, user: User, current: str, new: str, *, keep_session: str | None) -> None:
    """The user changes their own password; their other sessions end, this one (``keep_session``) stays."""
    if not verify_password(user.password_hash, current or ""):
        raise InvalidRequest("the current password is wrong", field="current", code="wrong_password")
    passwords.check(new, user.username, field="new")
    if verify_password(user.password_hash, new):
        raise InvalidRequest("the new password is the current one", field="new", code="password_same")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    sessions.end_all(session, user, "password_changed", keep=keep_session)
    _audit(session, user.username, "password_changed", {"user": user.username})
    session.flush()


def set_active(session: Session, user: User, active: bool, *, actor: str) -> None:
    """Deactivate (every session ends; log-in and API tokens are refused) or reactivate ``user``."""
    if not active and user.username == actor:
        raise NotAllowed("you cannot deactivate yourself")
    if user.active == active:
        return
    user.active = active
    if not active:
        sessions.end_all(session, user, "deactivated")
    _audit(session, actor, "user_activated" if active else "user_deactivated", {"user": user.username})
    session.flush()


def list_users(q: str | None = None, kind: str | None = None, active: bool | None = None) -> Select[User]:
    """A select of users by name or display name (``q``), kind and state, by user name."""
    query = select(User).order_by(User.username)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
        )
    if kind:
        query = query.where(User.kind == kind)
    if active is not None:
        query = query.where(User.active.is_(active))
    return query


def has_admin(session: Session) -> bool:
    """Whether any account (active or not) is an administrator."""
    if session.scalar(select(User.id).where(User.kind == "admin").limit(1)) is not None:
        return True
    return any(
        "admin" in (groups or []) for groups in session.scalars(select(User.groups).where(User.kind == "official"))
    )


def ensure_first_admin(session: Session, username: str = "admin") -> tuple[User, str] | None:
    """On a database without any administrator: create one with a random password and return
    it with the password (to print once; it must be changed at the first log-in); otherwise None."""
    if has_admin(session):
        return None
    name = username
    while find_user(session, name) is not None:
        name = f"{username}-{secrets.token_hex(2)}"
    password = passwords.generate()
    user = User(
        username=name,
        password_hash=hash_password(password),
        display_name="系统管理员",
        kind="admin",
        groups=["admin"],
        active=True,
        must_change_password=True,  # printed to the start-up output (service logs)
        created_at=clock_mod.now(),
    )
    session.add(user)
    session.flush()
    _audit(session, "system", "user_created", {"user": name, "kind": "admin", "groups": ["admin"], "first": True})
    return user, password


__all__ = [
    "KINDS",
    "known_groups",
    "create_user",
    "reset_password",
    "change_password",
    "set_active",
    "list_users",
    "has_admin",
    "ensure_first_admin",
]

"""People: argon2 password hashes, log-in, enterprise registration, demo users.

Officials and administrators are created and managed in engine/accounts.py; the password
policy is engine/passwords.py. No web here; the caller owns the transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import passwords
from .errors import InvalidRequest
from .forms import is_valid_uscc, uscc_check_digit
from .models import User
from .names import Directory

_hasher = PasswordHasher()
# verifying against this keeps the time of "no such user" equal to "wrong password"
_DUMMY_HASH = _hasher.hash("not a password")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,100}$")
MIN_PASSWORD = passwords.MIN_LENGTH


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost either way)."""
    user = find_user(session, (username or "").strip())
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def register_enterprise(
    session: Session,
    *,
    username: str,
    password: str,
    name: str,
    uscc: str,
    phone: str | None = None,
    county: str | None = None,
) -> User:
    """A new enterprise account. Raises InvalidRequest(field=...) on the first problem."""
    username = (username or "").strip()
    uscc = (uscc or "").strip().upper()
    if not USERNAME_RE.match(username):
        raise InvalidRequest("user name: 3–100 letters, digits or . _ - @", field="username", code="username")
    passwords.check(password, username)
    if not is_valid_uscc(uscc):
        raise InvalidRequest("invalid unified social credit code", field="uscc", code="uscc")
    if find_user(session, username) is not None:
        raise InvalidRequest("this user name is taken", field="username", code="username_taken")
    if session.scalars(select(User).where(User.uscc == uscc, User.kind == "enterprise")).first() is not None:
        raise InvalidRequest("this enterprise is already registered", field="uscc", code="uscc_taken")
    user = User(
        username=username,
        password_hash=hash_password(password),
        display_name=name.strip(),
        kind="enterprise",
        groups=[f"enterprise:{uscc}"],
        county=county or None,
        uscc=uscc,
        phone=phone or None,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


# -- demo users ----------------------------------------------------------------------------
# published in the README: only ever set by `zhitongche run --demo` / `demo-users` / `demo`
DEMO_PASSWORD = "zhitongche"


def demo_uscc(seed: str) -> str:
    """A valid unified social credit code for demo enterprises."""
    first17 = ("91211300MA0" + seed.upper() + "000000")[:17]
    return first17 + uscc_check_digit(first17)


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    kind: str
    groups: tuple[str, ...]
    county: str | None = None
    uscc: str | None = None


def demo_users(directory: Directory) -> list[DemoUser]:
    """One user per role, unit and county (names follow docs/CONVENTIONS.md)."""
    users = [
        DemoUser("admin", "系统管理员", "admin", ("admin",)),
        DemoUser("designer", "流程设计员", "official", ("designer", "wg:city")),
        DemoUser("wg.city", "市直通车工作组", "official", ("wg:city",), "city"),
        DemoUser("wg.city2", "市直通车工作组（二）", "official", ("wg:city",), "city"),
        DemoUser("leader.secretary", "市委书记", "official", ("leader:city",), "city"),
        DemoUser("leader.mayor", "市长", "official", ("leader:city",), "city"),
        DemoUser("leader.vice", "分管副市长", "official", ("leader:city",), "city"),
    ]
    for code, name in directory.counties.items():
        if code == "city":
            continue
        users.append(DemoUser(f"wg.{code}", f"{name}直通车工作组", "official", (f"wg:{code}",), code))
        users.append(DemoUser(f"leader.{code}", f"{name}领导", "official", (f"leader:{code}",), code))
    for code, name in directory.units.items():
        county = code.split(".", 1)[0] if "." in code else "city"
        users.append(DemoUser(f"unit.{code}", f"{name}经办人", "official", (f"unit:{code}",), county))
        users.append(DemoUser(f"unit2.{code}", f"{name}经办人（二）", "official", (f"unit:{code}",), county))
        users.append(DemoUser(f"head.{code}", f"{name}负责人", "official", (f"head:{code}",), county))
    for login, seed, name, county in (
        ("ent.demo1", "CY0001", "朝阳示范新材料有限公司", "jianping"),
        ("ent.demo2", "CY0002", "朝阳示范能源有限公司", "shuangta"),
    ):
        uscc = demo_uscc(seed)
        users.append(DemoUser(login, name, "enterprise", (f"enterprise:{uscc}",), county, uscc))
    return users


def ensure_demo_users(session: Session, directory: Directory, password: str = DEMO_PASSWORD) -> list[DemoUser]:
    """Create the demo users that do not exist yet (idempotent); returns all of them."""
    wanted = demo_users(directory)
    existing = set(session.scalars(select(User.username).where(User.username.in_([u.username for u in wanted]))))
    password_hash = None
    for demo in wanted:
        if demo.username in existing:
            continue
        password_hash = password_hash or hash_password(password)
        session.add(
            User(
                username=demo.username,
                password_hash=password_hash,
                display_name=demo.display_name,
                kind=demo.kind,
                groups=list(demo.groups),
                county=demo.county,
                uscc=demo.uscc,
                active=True,
            )
        )
    session.flush()
    return wanted

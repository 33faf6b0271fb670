"""Per-user API tokens for programs (``Authorization: Bearer <token>``).

A token is ``ztc_`` + 32 random bytes (URL-safe base64); only its SHA-256 is stored, so a
database dump reveals no usable token. A token is shown once, when it is created, and
stays valid until it is revoked or its user is deactivated. No web here; the caller owns
the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .errors import InvalidRequest, NotFound
from .models import ApiToken, User

PREFIX = "ztc_"
MAX_NAME = 100


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token of ``user``; returns the row and the secret (shown this once only)."""
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"token name: at most {MAX_NAME} characters", field="name")
    if not user.active:
        raise InvalidRequest(f"user {user.username} is not active", field="user")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), created_at=clock_mod.now())
    session.add(row)
    session.flush()
    return row, secret


Touch = Callable[[Callable[[Session], object]], None]


def user_for_token(session: Session, secret: str, touch: Touch | None = None) -> User | None:
    """The active user of a valid, unrevoked token (marks it used), or None.

    One query on the unique index of the hash, the user joined. ``last_used_at`` moves at
    most once a minute: in this session, or, when ``touch`` is given (a read-only request),
    handed to ``touch`` as a function of a session of its own."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    digest = token_hash(secret)
    found = session.execute(
        select(ApiToken, User).join(User, ApiToken.user_id == User.id).where(ApiToken.token_hash == digest)
    ).first()
    if found is None:
        return None
    row, user = found
    # the lookup is by hash; compare again in constant time for good measure
    if not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None or not user.active:
        return None
    now = clock_mod.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:  # not a write per request
        if touch is None:
            row.last_used_at = now
        else:
            token_id = row.id
            touch(lambda other: other.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)))
    return user


def tokens_of(session: Session, user: User) -> Select[ApiToken]:
    """A select of the user's tokens, newest first (revoked ones included)."""
    return select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())


def revoke_token(session: Session, user: User | None, token_id: int) -> ApiToken:
    """Revoke a token; ``user`` None means an administrator (any token)."""
    row = session.get(ApiToken, token_id)
    if row is None or (user is not None and row.user_id != user.id):
        raise NotFound(f"token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = clock_mod.now()
        session.flush()
    return row


__all__ = ["PREFIX", "token_hash", "create_token", "user_for_token", "tokens_of", "revoke_token"]

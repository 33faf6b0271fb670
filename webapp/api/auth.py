"""Who calls the API: the user of the ``Authorization: Bearer <token>`` header.

The API never uses the session cookie: a browser cannot be tricked into calling it with the
visitor's rights, so it needs no CSRF token. The access rules are the pages' rules
(engine/access.py); these helpers only refuse early.
"""

from __future__ import annotations

from flask import g, request

from engine import access, tokens
from engine.access import Principal
from engine.errors import NotAllowed

from .. import dbmode
from ..context import get_db
from .errors import AuthRequired

ADMIN = access.ADMIN_GROUPS
DESIGNERS = access.DESIGNER_GROUPS


def authenticate() -> None:
    """before_request of every API blueprint: the caller from the bearer token, or 401."""
    g.user = None  # whatever the session cookie said: the API goes by the token only
    g.principal = None
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthRequired()
    user = tokens.user_for_token(get_db(), secret.strip(), touch=dbmode.touch())
    if user is None:
        raise AuthRequired()
    g.user = user
    g.principal = Principal.of(user)


def protect(blueprint) -> None:
    """Authenticate first, before the blueprint's own before_request functions."""
    blueprint.before_request_funcs.setdefault(None, []).insert(0, authenticate)


def require_groups(groups: frozenset[str], what: str) -> None:
    access.check(
        not g.principal.is_enterprise and bool(g.principal.groups & groups),
        f"only {', '.join(sorted(groups))} may {what}",
    )


def require_official(what: str) -> None:
    if g.principal.is_enterprise:
        raise NotAllowed(f"enterprises may not {what}")

"""Who is logged in: the user of the session, loaded once per request, and the guards
every page of an audience uses.

The session cookie carries only a random session secret (``sid``); the session itself is a
row in ``user_session`` (engine/sessions.py), checked on every request, so logout,
deactivation and a password change end it at once, and it ends after
``ZHITONGCHE_SESSION_IDLE_MINUTES`` (30) without a request or ``ZHITONGCHE_SESSION_MAX_HOURS``
(8) after the log-in.

``attempt_log_in`` is the log-in itself: the throttle (engine/logins.py), the password, the
attempt row and the audit entry (``login`` / ``login_failed``, no instance), written where the
outcome is known.
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from engine import logins, sessions, users
from engine.access import Principal
from engine.errors import NotAllowed
from engine.models import User

from . import dbmode
from .context import get_db, get_engine
from .security import client_ip

# what a user whose password must be changed may still open (a log-in with a password someone
# else knows: the printed first administrator's, an administrator's reset)
FIRST_PASSWORD_ENDPOINTS = frozenset(
    {"account.password", "public.logout", "public.login", "public.set_lang", "static", "public.healthz"}
)


def session_limits(app: Flask) -> sessions.Limits:
    settings = app.config["SETTINGS"]
    idle = float(app.config.get("SESSION_IDLE_MINUTES", settings.session_idle_minutes))
    max_hours = float(app.config.get("SESSION_MAX_HOURS", settings.session_max_hours))
    return sessions.Limits(idle=_dt.timedelta(minutes=idle), max_age=_dt.timedelta(hours=max_hours))


def register_user_loading(app: Flask) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = session_limits(app).max_age  # the cookie's own expiry

    @app.before_request
    def _load_user():
        g.user = None
        g.principal = None
        if request.endpoint == "static":  # style sheets and scripts need no one
            return
        if "sid" not in session:
            if "uid" in session:  # a cookie from before server-side sessions
                _clear_keeping_lang()
            return
        user = sessions.check(get_db(), session.get("sid"), session_limits(current_app), touch=dbmode.touch())
        if user is None:
            _clear_keeping_lang()
            return
        g.user = user
        g.principal = Principal.of(user)
        if user.must_change_password and request.endpoint not in FIRST_PASSWORD_ENDPOINTS:
            if request.path.startswith("/api/"):
                raise NotAllowed("change your password first (/account/password)", code="password_change_required")
            flash(_("请先修改密码：当前密码是管理员设置或系统生成的。"), "error")
            return redirect(url_for("account.password"))
        return None

    @app.context_processor
    def _inject_user():
        return {"current_user": g.get("user"), "principal": g.get("principal")}


def _clear_keeping_lang() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def log_in(user: User) -> None:
    """Start a new server-side session for ``user`` (ending the one this browser had)."""
    sessions.end(get_db(), session.get("sid"), "replaced")
    _clear_keeping_lang()  # a new session (and CSRF secret) for the new identity
    session.permanent = True
    session["sid"] = sessions.new_session(get_db(), user)


def log_out() -> None:
    """End this browser's session on the server, then forget it in the cookie."""
    sessions.end(get_db(), session.get("sid"), "logout")
    _clear_keeping_lang()


@dataclass(frozen=True)
class LogInOutcome:
    """``user``: logged in (a new session); else ``wait``: seconds to answer 429 with (a locked
    name, or a failure from a busy address), or None: a plain failure (wrong name or password)."""

    user: User | None = None
    wait: int | None = None


def attempt_log_in(username: str, password: str) -> LogInOutcome:
    """The log-in form's attempt. A name locked for this address (or everywhere) is refused
    before its password is checked; from a busy address only a failure waits, the right password
    of an account that is not locked logs in. Every outcome is recorded and audited here."""
    db = get_db()
    verdict = logins.check(db, username, client_ip(), current_app.config["LOGIN_THROTTLE"])
    if verdict.locked is not None:
        _audit_log_in(username, succeeded=False, reason="throttled")
        return LogInOutcome(wait=verdict.locked)
    user = users.authenticate(db, username, password)
    logins.record(db, username, client_ip(), user is not None)
    if user is None:
        _audit_log_in(username, succeeded=False, reason="busy" if verdict.busy else None)
        return LogInOutcome(wait=verdict.busy)  # a busy address: a failure waits, guessing is slowed down
    _audit_log_in(username, succeeded=True)
    log_in(user)
    return LogInOutcome(user=user)


def _audit_log_in(username: str, succeeded: bool, reason: str | None = None) -> None:
    data = {"ip": client_ip(), "user_agent": request.user_agent.string[:200]}
    if reason:
        data["reason"] = reason
    get_engine().audit(
        get_db(), (username or "").strip()[:100] or "-", "login" if succeeded else "login_failed", data=data
    )
    if not succeeded:
        g.force_commit = True  # a failed log-in answers 401/429: keep its audit entry and attempt row


def current_session_secret() -> str | None:
    return session.get("sid")


def _guard(kind_ok):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("user") is None:
                return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
            if not kind_ok(g.user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


official_required = _guard(lambda u: u.kind in ("official", "admin"))
enterprise_required = _guard(lambda u: u.kind == "enterprise")

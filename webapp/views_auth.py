"""Who is logged in: the user of the session, loaded once per request, and the guards
every page of an audience uses.

The session cookie carries only a random session secret (``sid``); the session itself is a
row in ``user_session`` (engine/sessions.py), checked on every request, so logout,
deactivation and a password change end it at once, and it ends after
``ZHITONGCHE_SESSION_IDLE_MINUTES`` (30) without a request or ``ZHITONGCHE_SESSION_MAX_HOURS``
(8) after the log-in.
"""
from __future__ import annotations

import datetime as _dt
import functools

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from engine import sessions
from engine.access import Principal
from engine.models import User


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
        from . import dbmode
        from .context import get_db

        user = sessions.check(get_db(), session.get("sid"), session_limits(current_app), touch=dbmode.touch())
        if user is None:
            _clear_keeping_lang()
            return
        g.user = user
        g.principal = Principal.of(user)

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
    from .context import get_db

    sessions.end(get_db(), session.get("sid"), "replaced")
    _clear_keeping_lang()  # a new session (and CSRF secret) for the new identity
    session.permanent = True
    session["sid"] = sessions.new_session(get_db(), user)


def log_out() -> None:
    """End this browser's session on the server, then forget it in the cookie."""
    from .context import get_db

    sessions.end(get_db(), session.get("sid"), "logout")
    _clear_keeping_lang()


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

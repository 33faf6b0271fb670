"""Who is logged in: the user of the session, loaded once per request, and the guards
every page of an audience uses."""
from __future__ import annotations

import functools

from flask import abort, g, redirect, request, session, url_for

from engine.access import Principal
from engine.models import User


def register_user_loading(app) -> None:
    @app.before_request
    def _load_user():
        g.user = None
        g.principal = None
        user_id = session.get("uid")
        if user_id is None:
            return
        from . import get_db

        user = get_db().get(User, user_id)
        if user is None or not user.active or session.get("pwv") != user.password_hash[-16:]:
            session.clear()
            return
        g.user = user
        g.principal = Principal.of(user)

    @app.context_processor
    def _inject_user():
        return {"current_user": g.get("user"), "principal": g.get("principal")}


def log_in(user: User) -> None:
    lang = session.get("lang")
    session.clear()  # a new session id for the new identity
    session.permanent = True
    session["uid"] = user.id
    session["pwv"] = user.password_hash[-16:]  # a password change ends other sessions
    if lang:
        session["lang"] = lang


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

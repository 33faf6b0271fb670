"""Admin pages for accounts (group ``admin``, under /admin/users): list and find users, create
officials, designers and administrators, reset a password, deactivate and reactivate.

Every change is engine/accounts.py's (password policy, known groups, audit, ending sessions);
bad input answers 422 with a message at the field and the typed values kept (never the
passwords). A generated password is shown once on the answering page, never put in the
(signed, not encrypted) session cookie.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import accounts
from engine.errors import InvalidRequest, NotAllowed
from engine.models import User

from .account import field_message, new_password_from_form
from .admin import admin_required, bp
from .context import get_db, get_directory

PAGE_LIMIT = 500


def _group_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    directory = get_directory()
    counties, units = directory.counties.items(), directory.units.items()
    return [
        (_("系统"), [("admin", _("系统管理员")), ("designer", _("流程设计"))]),
        (_("直通车工作组"), [(f"wg:{c}", f"{name} · " + _("工作组")) for c, name in counties]),
        (_("领导"), [(f"leader:{c}", f"{name} · " + _("领导")) for c, name in counties]),
        (_("责任单位经办人"), [(f"unit:{u}", f"{name} · " + _("经办人")) for u, name in units]),
        (_("责任单位负责人"), [(f"head:{u}", f"{name} · " + _("负责人")) for u, name in units]),
    ]


def _user(user_id: int) -> User:
    user = get_db().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users")
@admin_required
def users_list():
    q = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    kind = kind if kind in ("official", "admin", "enterprise") else None
    state = request.args.get("state", "")
    active = {"active": True, "inactive": False}.get(state)
    rows = list(get_db().scalars(accounts.list_users(q or None, kind, active).limit(PAGE_LIMIT + 1)))
    return render_template(
        "admin/users.html",
        users=rows[:PAGE_LIMIT],
        more=len(rows) > PAGE_LIMIT,
        q=q,
        kind=kind or "",
        state=state if active is not None else "",
    )


def _render_new(values: dict, errors: dict, status: int = 200):
    directory = get_directory()
    return render_template(
        "admin/user_new.html",
        values=values,
        errors=errors,
        group_choices=_group_choices(),
        counties=list(directory.counties.items()),
    ), status


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    if request.method == "GET":
        return _render_new({"kind": "official", "groups": []}, {})
    form = request.form
    values = {
        name: form.get(name, "").strip() for name in ("username", "display_name", "kind", "county", "email", "phone")
    }
    values["groups"] = [group for group in form.getlist("groups") if group][:50]
    values["generate"] = form.get("generate") == "1"
    try:
        password, generated = new_password_from_form(values["username"])
        user = accounts.create_user(
            get_db(),
            current_app.config["DIRECTORY"],
            username=values["username"],
            password=password,
            display_name=values["display_name"],
            kind=values["kind"],
            groups=values["groups"],
            county=values["county"],
            email=values["email"],
            phone=values["phone"],
            actor=g.user.username,
        )
    except InvalidRequest as exc:
        field = exc.details.get("field", "")
        return _render_new(values, {field: field_message(exc.details.get("code"))}, 422)
    return _render_user(
        user, new_password=password if generated else None, message=_("已创建账号 %(name)s", name=user.username)
    )


def _render_user(
    user: User,
    *,
    new_password: str | None = None,
    message: str | None = None,
    errors: dict | None = None,
    status: int = 200,
):
    from engine import sessions

    from .views_auth import session_limits

    live = len(list(get_db().scalars(sessions.live_sessions(get_db(), user, session_limits(current_app)))))
    return render_template(
        "admin/user.html",
        user=user,
        shown_password=new_password,
        message=message,
        errors=errors or {},
        live_sessions=live,
    ), status


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id: int):
    return _render_user(_user(user_id))


@bp.post("/users/<int:user_id>/password")
@admin_required
def user_password(user_id: int):
    user = _user(user_id)
    try:
        password, generated = new_password_from_form(user.username)
        accounts.reset_password(get_db(), user, password, actor=g.user.username)
    except InvalidRequest as exc:
        field = exc.details.get("field", "")
        return _render_user(user, errors={field: field_message(exc.details.get("code"))}, status=422)
    return _render_user(
        user, new_password=password if generated else None, message=_("密码已重置，该用户的所有会话已结束")
    )


@bp.post("/users/<int:user_id>/active")
@admin_required
def user_active(user_id: int):
    user = _user(user_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(get_db(), user, active, actor=g.user.username)
    except NotAllowed:
        flash(_("不能停用自己的账号"), "error")
    else:
        flash(_("账号已启用") if active else _("账号已停用，其会话和 API 令牌已失效"), "ok")
    return redirect(url_for("admin.user_detail", user_id=user.id))

"""/account/password: a logged-in person changes their own password; and the helpers every
password form shares (the admin pages too): the field messages and the new password typed twice.

The current password is asked first, and wrong guesses count as failed log-ins of that name
(engine/logins.py), so a borrowed session cannot be used to guess the password. The new one
must meet the policy (engine/passwords.py). The person's other sessions end at once, this one
stays (engine/accounts.change_password).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import accounts, logins, passwords
from engine.errors import InvalidRequest

from .context import get_db
from .security import client_ip
from .views_auth import current_session_secret

bp = Blueprint("account", __name__, url_prefix="/account")


def field_message(code: str | None) -> str:
    """The page's message for an engine error code (engine/accounts.py, engine/passwords.py)."""
    return {
        "username": _("用户名为3至100位字母、数字或 . _ - @"),
        "username_taken": _("该用户名已被使用"),
        "kind": _("请选择账号类型"),
        "group": _("请选择列表中的角色"),
        "no_group": _("官员账号至少需要一个角色"),
        "county": _("请选择列表中的县（市）区"),
        "email": _("电子邮箱地址无效"),
        "too_long": _("内容过长"),
        "password_short": _("密码至少12位；或用空格分隔的至少4个词；或至少8个汉字"),
        "password_long": _("密码最多256位"),
        "password_username": _("密码不能包含用户名"),
        "password_common": _("密码过于常见，请换一个"),
        "mismatch": _("两次输入的密码不一致"),
        "wrong_password": _("当前密码不正确"),
        "password_same": _("新密码不能与当前密码相同"),
        "required": _("必填"),
    }.get(code or "", _("请检查输入"))


def new_password_from_form(username: str, field: str = "password", may_generate: bool = True) -> tuple[str, bool]:
    """The password typed twice (``field``, ``field``2) or, when asked (admin pages), a generated one;
    raises InvalidRequest(field=…) when it breaks the policy or the two differ."""
    if may_generate and request.form.get("generate") == "1":
        return passwords.generate(), True
    password = request.form.get(field, "")
    if not password:
        raise InvalidRequest("password required", field=field, code="required")
    passwords.check(password, username, field=field)
    if password != request.form.get(field + "2", ""):
        raise InvalidRequest("passwords differ", field=field + "2", code="mismatch")
    return password, False


@bp.route("/password", methods=["GET", "POST"])
def password():
    if g.get("user") is None:
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        db, user, ip = get_db(), g.user, client_ip()
        verdict = logins.check(db, user.username, ip, current_app.config["LOGIN_THROTTLE"])
        try:
            if verdict.locked is not None:
                minutes = max(1, (verdict.locked + 59) // 60)
                errors = {"current": _("登录失败次数过多，请%(n)d分钟后再试。", n=minutes)}
                status = 429
            else:
                if not request.form.get("current"):
                    raise InvalidRequest("current password required", field="current", code="required")
                new, _generated = new_password_from_form(user.username, field="new", may_generate=False)
                accounts.change_password(
                    db, user, request.form.get("current", ""), new, keep_session=current_session_secret()
                )
        except InvalidRequest as exc:
            errors = {exc.details.get("field", ""): field_message(exc.details.get("code"))}
            status = 422
            if exc.details.get("code") == "wrong_password":
                logins.record(db, user.username, ip, False)
                g.force_commit = True  # keep the failure although the page answers 422
        if not errors:
            flash(_("密码已修改，您在其他地方的登录已退出"), "ok")
            return redirect(url_for("account.password"))
    return render_template("account/password.html", errors=errors), status

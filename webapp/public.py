"""Pages for everyone: log-in, log-out, enterprise registration, language, health."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import users
from engine.errors import InvalidRequest
from engine.forms import FormValidationError, validate

from . import formrender
from .account import field_message
from .context import get_db
from .directory import choices
from .health import response as health_response
from .i18n import LANGS, current_lang
from .security import throttled_response
from .views_auth import attempt_log_in, log_in, log_out

bp = Blueprint("public", __name__)


def _home_for(user) -> str:
    return url_for("portal.home") if user.kind == "enterprise" else url_for("office.inbox")


def safe_next(target: str | None) -> str | None:
    """A redirect target from a form or query string, if it stays on this site: a path
    starting with one ``/``, no backslash, and no control character anywhere (browsers drop
    tabs and newlines from URLs, so ``/<TAB>/evil`` would become ``//evil``; a newline would
    break the Location header)."""
    if not target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or target != target.strip():
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/")
def index():
    if g.user is None:
        return redirect(url_for("public.login"))
    return redirect(_home_for(g.user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        outcome = attempt_log_in(username, request.form.get("password", ""))
        if outcome.wait is not None:
            return throttled_response(username, outcome.wait)
        if outcome.user is None:
            error = _("用户名或密码错误")
        else:
            return redirect(safe_next(request.args.get("next")) or _home_for(outcome.user))
    return render_template("login.html", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
def logout():
    log_out()
    return redirect(url_for("public.login"))


@bp.post("/lang/<lang>")
def set_lang(lang: str):
    if lang in LANGS:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("public.index"))


def registration_schema() -> dict:
    return {
        "type": "object",
        "required": ["name", "uscc", "username", "password", "password2", "phone"],
        "properties": {
            "name": {"type": "string", "title": _("企业名称"), "minLength": 2, "maxLength": 200},
            "uscc": {
                "type": "string",
                "title": _("统一社会信用代码"),
                "format": "uscc",
                "description": _("18位，末位为校验码"),
            },
            "county": {
                "type": "string",
                "title": _("所在县（市）区"),
                "enum": [c for c in current_app.config["DIRECTORY"].counties],
            },
            "phone": {"type": "string", "title": _("联系人手机"), "format": "cn-mobile"},
            "username": {"type": "string", "title": _("登录用户名"), "minLength": 3, "maxLength": 100},
            "password": {
                "type": "string",
                "title": _("密码"),
                "description": _("至少12位；或用空格分隔的至少4个词；或至少8个汉字。不能包含用户名，不能是常见密码。"),
            },
            "password2": {"type": "string", "title": _("再次输入密码")},
        },
    }


REGISTRATION_UI = {
    "password": {"ui:widget": "password"},
    "password2": {"ui:widget": "password"},
    "county": {"ui:options": {"source": "counties"}},
}


@bp.route("/register", methods=["GET", "POST"])
def register():
    schema = registration_schema()
    values, errors = {}, {}
    if request.method == "POST":
        values = formrender.parse(schema, REGISTRATION_UI, request.form)
        if isinstance(values.get("uscc"), str):
            values["uscc"] = values["uscc"].strip().upper()
        try:
            validate(schema, values)
            if values["password"] != values["password2"]:
                raise InvalidRequest("passwords differ", field="password2", code="mismatch")
            user = users.register_enterprise(
                get_db(),
                username=values["username"],
                password=values["password"],
                name=values["name"],
                uscc=values["uscc"],
                phone=values.get("phone"),
                county=values.get("county"),
            )
        except FormValidationError as exc:
            errors = exc.by_field(current_lang())
        except InvalidRequest as exc:
            errors = {exc.details.get("field", ""): _registration_message(exc.details.get("code"))}
        else:
            log_in(user)
            return redirect(url_for("portal.home"))
        values.pop("password", None)
        values.pop("password2", None)
    form_html = formrender.Renderer(schema, REGISTRATION_UI, choices=choices(), lang=current_lang()).render(
        values, errors
    )
    return render_template("register.html", form_html=form_html, has_errors=bool(errors)), (422 if errors else 200)


def _registration_message(code: str | None) -> str:
    return {
        "username": _("用户名为3至100位字母、数字或 . _ - @"),
        "username_taken": _("该用户名已被使用"),
        "uscc_taken": _("该企业已注册，请直接登录"),
        "uscc": _("统一社会信用代码无效（18位，末位为校验码）"),
        "mismatch": _("两次输入的密码不一致"),
    }.get(code or "") or field_message(code)  # the password policy's messages (webapp/account.py)


@bp.get("/healthz")
def healthz():  # answered by webapp.health's before_request, ahead of the user's session
    return health_response()

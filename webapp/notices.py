"""/notices: the in-app notification centre (engine/notices.py) — the unread count in the
header, the list of one's notices with a link to the task or case, mark one or all read."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from engine import clock, notices
from engine.models import UserNotice

from .context import get_db
from .limits import int_arg

bp = Blueprint("notices", __name__, url_prefix="/notices")
PER_PAGE = 30


@bp.app_context_processor
def _inject() -> dict:
    user = g.get("user")
    if user is None:
        return {"unread_notices": 0}
    try:
        return {"unread_notices": notices.unread_count(get_db(), user.username)}
    except SQLAlchemyError:  # an error page after a failed statement: the header goes without the count
        return {"unread_notices": 0}


def _require_user():
    if g.get("user") is None:
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    return None


def target(notice: UserNotice) -> str | None:
    """Where a notice leads: its task while still open, else its case (portal for enterprises)."""
    enterprise = g.user.kind == "enterprise"
    task = notice.task
    if task is not None and task.state == "ready":
        return url_for("portal.task" if enterprise else "office.task", task_id=task.id)
    if notice.instance_id is not None:
        return url_for("portal.case" if enterprise else "office.case", case_id=notice.instance_id)
    return None


@bp.get("")
def index():
    if (redirect_to := _require_user()) is not None:
        return redirect_to
    page = int_arg("page") or 1
    unread_only = request.args.get("unread") == "1"
    rows, total = notices.page(
        get_db(), g.user.username, offset=(page - 1) * PER_PAGE, limit=PER_PAGE, unread_only=unread_only
    )
    items = [(row, target(row)) for row in rows]
    return render_template(
        "notices/index.html", items=items, total=total, page=page, per_page=PER_PAGE, unread_only=unread_only
    )


@bp.get("/<int:notice_id>")
def open_notice(notice_id: int):
    """Follow a notice: it is marked read and the browser goes to its task or case."""
    if (redirect_to := _require_user()) is not None:
        return redirect_to
    notice = notices.get(get_db(), g.user.username, notice_id)
    if notice is None:
        abort(404)
    notices.mark_read(get_db(), g.user.username, clock.now(), [notice.id])
    return redirect(target(notice) or url_for("notices.index"))


@bp.post("/<int:notice_id>/read")
def read_one(notice_id: int):
    if (redirect_to := _require_user()) is not None:
        return redirect_to
    if notices.get(get_db(), g.user.username, notice_id) is None:
        abort(404)
    notices.mark_read(get_db(), g.user.username, clock.now(), [notice_id])
    return redirect(url_for("notices.index"))


@bp.post("/read-all")
def read_all():
    if (redirect_to := _require_user()) is not None:
        return redirect_to
    count = notices.mark_read(get_db(), g.user.username, clock.now())
    flash(_("已将%(n)d条通知标为已读", n=count), "ok")
    return redirect(url_for("notices.index"))

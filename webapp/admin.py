"""Admin pages (group ``admin``): incidents — instances in error — with the failed task's data
to correct and a retry, and the levers on a case: suspend, resume, terminate. Every lever is
engine.incidents', which writes its audit entry; the request commits once. The account pages
(/admin/users) are in admin_users.py, on this blueprint."""

from __future__ import annotations

import functools
import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import access, incidents
from engine.errors import InvalidRequest
from engine.models import Instance

from .context import get_db, get_engine
from .security import require
from .views_auth import official_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
MAX_DATA_CHARS = 1_000_000


def admin_required(view):
    @official_required
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        require(access.is_admin, "only administrators may do this")
        return view(*args, **kwargs)

    return wrapped


def _instance(instance_id: int) -> Instance:
    instance = get_db().get(Instance, instance_id)
    if instance is None:
        abort(404)
    return instance


def _back(instance: Instance):
    return redirect(url_for("office.case", case_id=instance.id) + "#admin-levers")


# -- incidents -----------------------------------------------------------------------------
@bp.get("/incidents")
@admin_required
def incidents_list():
    rows = incidents.list_incidents(get_db(), process_id=request.args.get("process_id") or None, limit=500)
    return render_template(
        "admin/incidents.html",
        incidents=rows,
        total=incidents.count_incidents(get_db()),
        calendar_missing=get_engine().calendar.missing_years(get_engine().clock.now()),
    )


def _render_incident(instance: Instance, data_text: str | None = None, error: str | None = None, status=200):
    data = incidents.failed_task_data(get_db(), get_engine(), instance.id)
    if data_text is None:
        data_text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    return render_template(
        "admin/incident.html",
        incident=incidents.Incident.of(instance),
        case=instance,
        data_text=data_text,
        data_error=error,
    ), status


@bp.get("/incidents/<int:instance_id>")
@admin_required
def incident(instance_id: int):
    instance = _instance(instance_id)
    if instance.status != "error":
        flash(_("此实例当前没有异常"), "ok")
        return redirect(url_for("office.case", case_id=instance.id))
    return _render_incident(instance)


@bp.post("/incidents/<int:instance_id>/data")
@admin_required
def incident_data(instance_id: int):
    """Replace the failed task's data by the edited JSON object: keys set, keys left out removed."""
    instance = _instance(instance_id)
    if instance.status != "error":
        abort(404)
    text = request.form.get("data", "")
    try:
        if len(text) > MAX_DATA_CHARS:
            raise ValueError(_("数据过大"))
        new = json.loads(text)
        if not isinstance(new, dict):
            raise ValueError(_("数据必须是一个 JSON 对象 {…}"))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return _render_incident(instance, text, str(exc), 422)
    old = incidents.failed_task_data(get_db(), get_engine(), instance.id)
    changed = {k: v for k, v in new.items() if k not in old or old[k] != v}
    removed = sorted(k for k in old if k not in new)
    if not changed and not removed:
        flash(_("数据没有变化"), "ok")
    else:
        incidents.update_data(get_db(), get_engine(), instance.id, changed, g.user.username, remove=removed)
        flash(_("数据已更正"), "ok")
    return redirect(url_for("admin.incident", instance_id=instance.id))


@bp.post("/incidents/<int:instance_id>/retry")
@admin_required
def incident_retry(instance_id: int):
    instance = _instance(instance_id)
    if instance.status != "error":
        abort(404)
    instance = incidents.retry(get_db(), get_engine(), instance.id, g.user.username)
    if instance.status == "error":
        flash(_("重试后仍然出错：%(message)s", message=(instance.error or {}).get("message", "")), "error")
        return redirect(url_for("admin.incident", instance_id=instance.id))
    flash(_("已重试，流程继续运行"), "ok")
    return redirect(url_for("office.case", case_id=instance.id))


# -- levers on an instance -----------------------------------------------------------------
def _lever(instance_id: int, operation, done: str, *, with_reason: bool):
    instance = _instance(instance_id)
    args = (request.form.get("reason", "").strip()[:1000],) if with_reason else ()
    try:
        operation(get_db(), get_engine(), instance.id, g.user.username, *args)
    except InvalidRequest:
        flash(_("此实例当前状态（%(status)s）不允许此操作", status=instance.status), "error")
    else:
        flash(done, "ok")
    return _back(instance)


@bp.post("/instances/<int:instance_id>/suspend")
@admin_required
def suspend(instance_id: int):
    return _lever(instance_id, incidents.suspend, _("已挂起"), with_reason=True)


@bp.post("/instances/<int:instance_id>/resume")
@admin_required
def resume(instance_id: int):
    return _lever(instance_id, incidents.resume, _("已恢复运行"), with_reason=False)


@bp.post("/instances/<int:instance_id>/terminate")
@admin_required
def terminate(instance_id: int):
    return _lever(instance_id, incidents.terminate, _("已终止"), with_reason=True)

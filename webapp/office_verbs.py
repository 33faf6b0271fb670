"""Pages of the office verbs (engine/office_verbs.py, engine/recall.py, engine/sendback.py): 退回 a case to an
earlier step (from the task page), 撤回 my completion,
催办 a task, 抄送 a case, the 抄送我的 list, and 常用意见 (a person's phrases, inserted into opinion fields by static/app.js)."""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import office_verbs, sendback
from engine import recall as recall_mod
from engine.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from engine.models import HumanTask

from .context import get_db, get_engine
from .office import load_case
from .views_auth import official_required

bp = Blueprint("verbs", __name__)


@bp.post("/tasks/<int:task_id>/urge")
@official_required
def urge(task_id: int):
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    load_case(task.instance_id)  # 404 for a case one may not see
    try:
        office_verbs.urge(get_db(), g.principal, task_id, request.form.get("message", ""))
        flash(_("已催办"), "ok")
    except NotAllowed:
        flash(_("只有工作组、领导或本单位负责人可以催办"), "error")
    except Conflict as exc:
        flash(
            _("该事项刚刚被 %(who)s 催办过", who=exc.details.get("urged_by"))
            if exc.details.get("urged_by")
            else _("该事项已办结，无需催办"),
            "error",
        )
    except InvalidRequest:
        flash(_("催办意见最多500字"), "error")
    return redirect(url_for("office.case", case_id=task.instance_id))


@bp.post("/tasks/<int:task_id>/recall")
@official_required
def recall(task_id: int):
    """撤回: take back my completion while the next task is unclaimed."""
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    load_case(task.instance_id)
    try:
        recall_mod.recall(get_db(), get_engine(), g.principal, task_id)
        flash(_("已撤回，可以重新办理"), "ok")
        return redirect(url_for("office.task", task_id=task_id))
    except NotAllowed:
        flash(_("只能撤回自己办理的事项"), "error")
    except Conflict as exc:
        who = exc.details.get("assignee")
        flash(_("下一环节已由 %(who)s 认领，不能撤回", who=who) if who else _("案件已继续办理，不能撤回"), "error")
    return redirect(url_for("office.case", case_id=task.instance_id))


@bp.app_context_processor
def _send_back_helpers():
    def send_back_area(task):
        """(the earlier steps this person may return the task to, the 退回 that reopened it)."""
        db = get_db()
        try:
            offered = sendback.targets(db, get_engine(), g.principal, task) if getattr(g, "principal", None) else []
        except Exception:  # noqa: BLE001 - the page still opens without the 退回 choice
            offered = []
        return offered, sendback.last_return(db, task)

    return {"send_back_area": send_back_area}


@bp.post("/tasks/<int:task_id>/send-back")
@official_required
def send_back(task_id: int):
    """退回: return the case from this open task to an earlier step, with a reason."""
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    load_case(task.instance_id, copies=False)
    target = request.form.get("target", type=int)
    try:
        row = sendback.send_back(
            get_db(), get_engine(), g.principal, task_id, target or 0, request.form.get("reason", "")
        )
        flash(_("已退回到「%(name)s」", name=row.name), "ok")
        return redirect(url_for("office.case", case_id=task.instance_id))
    except NotAllowed:
        flash(_("只有工作组或本单位负责人可以退回"), "error")
    except InvalidRequest as exc:
        flash(
            _("请填写退回理由（最多500字）") if exc.details.get("field") == "reason" else _("请选择要退回到的环节"),
            "error",
        )
    except Conflict as exc:
        flash(
            _("该环节已不在案件的当前状态中，无法退回到此环节")
            if exc.details.get("reason") == "gone"
            else _("该事项已办理或不能退回到此环节"),
            "error",
        )
    return redirect(url_for("office.task", task_id=task_id) + "#send-back")


@bp.post("/cases/<int:case_id>/copies")
@official_required
def copy(case_id: int):
    instance = load_case(case_id)
    to = (request.form.get("to") or "").strip()
    try:
        office_verbs.copy_case(
            get_db(),
            g.principal,
            instance,
            note=request.form.get("note", ""),
            **({"to_group": to} if ":" in to else {"to_user": to or None}),
        )
        flash(_("已抄送给 %(to)s", to=to), "ok")
    except NotAllowed:
        flash(_("只有工作组、领导或案件所涉单位负责人可以抄送"), "error")
    except InvalidRequest:
        flash(_("请填写有效的人员账号或组（如 leader:city）"), "error")
    return redirect(url_for("office.case", case_id=case_id) + "#copies")


@bp.get("/copied")
@official_required
def copied():
    return render_template("office/copied.html", rows=office_verbs.copied_to_me(get_db(), g.principal))


@bp.route("/phrases", methods=["GET", "POST"])
@official_required
def phrases():
    error = None
    if request.method == "POST":
        try:
            office_verbs.add_phrase(get_db(), g.principal, request.form.get("text", ""))
            flash(_("常用意见已保存"), "ok")
            return redirect(url_for("verbs.phrases"))
        except InvalidRequest:
            error = _("常用意见为1至500字")
    return render_template(
        "office/phrases.html",
        phrases=office_verbs.phrases(get_db(), g.principal),
        error=error,
        typed=request.form.get("text", ""),
    )


@bp.post("/phrases/<int:phrase_id>/delete")
@official_required
def delete_phrase(phrase_id: int):
    try:
        office_verbs.delete_phrase(get_db(), g.principal, phrase_id)
        flash(_("常用意见已删除"), "ok")
    except NotFound:
        flash(_("没有这条常用意见"), "error")
    return redirect(url_for("verbs.phrases"))


@bp.get("/phrases.json")
@official_required
def phrases_json():
    return jsonify(phrases=[p.text for p in office_verbs.phrases(get_db(), g.principal)])

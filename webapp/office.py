"""Pages for officials: inbox, task page, cases, case detail, downloads."""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine import access, binding, casefiles, office_verbs, savedfilters
from engine import inbox as inbox_mod
from engine import recall as recall_mod
from engine.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from engine.models import Attachment, User
from engine.stats import CaseFilter

from . import dossierview, taskconflict, taskpage
from .context import get_db, get_engine
from .officebp import bp
from .public import safe_next
from .views_auth import official_required

TIMELINE_PAGE = 50  # a case page shows this many of the newest timeline entries
taskconflict.register(bp, "office")  # a task finished by someone else: who, when, input kept


def _int_arg(name: str, maximum: int = 2**31 - 1) -> int | None:
    from .limits import int_arg  # bounded: a huge or malformed number is a 400

    return int_arg(name, minimum=0, maximum=maximum)


# -- inbox ---------------------------------------------------------------------------------
@bp.get("/inbox")
@official_required
def inbox():
    filters = inbox_mod.InboxFilter(
        tab=request.args.get("tab", "all"),
        category=request.args.get("category") or None,
        county=request.args.get("county") or None,
        mode=request.args.get("mode") or None,
        overdue=request.args.get("overdue") == "1",
        due_within_days=_int_arg("due_within", 3650),
        due_today=request.args.get("due_today") == "1",
        q=(request.args.get("q") or "")[:200] or None,
        sort=request.args.get("sort", "due"),
    )
    page = inbox_mod.inbox(get_db(), g.principal, filters, calendar=get_engine().calendar, now=get_engine().clock.now())
    from .startpage import startable_here

    return render_template(
        "office/inbox.html",
        page=page,
        args=request.args,
        startable=startable_here(),
        saved=savedfilters.visible(get_db(), g.principal, "inbox"),
        colleagues=_handover_colleagues(),
    )


def _handover_colleagues():
    """Officials sharing one of my unit or working groups: whom tasks may be handed to in bulk."""
    mine = {grp for grp in g.principal.groups if ":" in grp and not grp.startswith("enterprise:")}
    mine |= {f"unit:{grp.split(':', 1)[1]}" for grp in mine if grp.startswith("head:")}
    users = get_db().scalars(
        select(User)
        .where(User.active.is_(True), User.kind != "enterprise", User.username != g.user.username)
        .order_by(User.username)
    )
    return [u for u in users if set(u.groups or []) & mine]


@bp.post("/inbox/bulk")
@official_required
def inbox_bulk():
    """Multi-select in the inbox: claim, assign or transfer the ticked tasks (each audited)."""
    action = request.form.get("action", "")
    ids = [int(v) for v in request.form.getlist("task_id") if v.isdigit() and len(v) < 12]
    try:
        result = inbox_mod.bulk(get_db(), g.principal, action, ids, request.form.get("to") or None)
    except InvalidRequest as exc:
        field = exc.details.get("field")
        flash(
            _("请选择要交给的同事")
            if field == "to" and not request.form.get("to")
            else _("该同事不在这些事项的办理组中")
            if field == "to"
            else _("请至少选择一个事项")
            if field == "task_ids" and not ids
            else _("批量操作无效"),
            "error",
        )
        return redirect(safe_next(request.form.get("next")) or url_for("office.inbox"))
    if result.done:
        flash(_("已批量处理 %(n)s 个事项", n=len(result.done)), "ok")
    if result.failed:
        flash(_("%(n)s 个事项未能处理（已被他人认领、已办结或无权操作）", n=len(result.failed)), "error")
    return redirect(safe_next(request.form.get("next")) or url_for("office.inbox"))


@bp.post("/filters")
@official_required
def save_filter():
    page = request.form.get("page", "inbox")
    target = "office.cases" if page == "cases" else "office.inbox"
    query = request.form.get("query", "")
    try:
        savedfilters.save(
            get_db(), g.principal, page, request.form.get("name", ""), query, request.form.get("share") or None
        )
        flash(_("筛选条件已保存"), "ok")
    except InvalidRequest:
        flash(_("请填写1至100个字的筛选名称"), "error")
    return redirect(url_for(target) + ("?" + savedfilters.clean_query(query) if query else ""))


@bp.post("/filters/<int:filter_id>/delete")
@official_required
def delete_filter(filter_id: int):
    try:
        savedfilters.delete(get_db(), g.principal, filter_id)
        flash(_("筛选条件已删除"), "ok")
    except (NotFound, NotAllowed):
        flash(_("只能删除自己保存的筛选条件"), "error")
    return redirect(url_for("office.cases" if request.form.get("page") == "cases" else "office.inbox"))


# -- hand-over (engine/inbox.py): endpoint → (URL action, operation, takes a colleague, message) --
HAND_OVER = {
    "claim": ("claim", inbox_mod.claim, False, "已认领"),
    "unclaim": ("unclaim", inbox_mod.unclaim, False, "已退回组待办"),
    "assign": ("assign", inbox_mod.assign, True, "已指派给 %(to)s"),
    "delegate": ("delegate", inbox_mod.delegate, True, "已委派给 %(to)s"),
    "take_back": ("take-back", inbox_mod.take_back, False, "已收回"),
}


def _hand_over_view(operation, takes_colleague: bool, message: str):
    @official_required
    def view(task_id: int):
        taskpage.load_task(task_id)
        to = request.form.get("to", "")
        try:
            operation(get_db(), g.principal, task_id, *([to] if takes_colleague else []))
        except Conflict as exc:  # e.g. two claims at once: the other one won
            who = exc.details.get("assignee")
            flash(_("该事项已被 %(who)s 认领", who=who) if who else _("该事项已发生变化，请刷新后重试"), "error")
            return redirect(url_for("office.inbox"))
        flash(_(message, to=to), "ok")
        return redirect(safe_next(request.form.get("next")) or url_for("office.inbox"))

    return view


for _endpoint, (_action, *_how) in HAND_OVER.items():
    bp.add_url_rule(f"/tasks/<int:task_id>/{_action}", _endpoint, _hand_over_view(*_how), methods=["POST"])


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@official_required
def task(task_id: int):
    row = taskpage.load_task(task_id)
    if request.method == "POST":
        return taskpage.handle_post(row, audience="office", done_url=url_for("office.inbox"))
    return taskpage.render_task(row, audience="office")


# -- cases ---------------------------------------------------------------------------------
@bp.get("/cases")
@official_required
def cases():
    query = casefiles.CaseQuery(
        q=request.args.get("q") or None,
        category=request.args.get("category") or None,
        county=request.args.get("county") or None,
        status=request.args.get("status") or None,
        overdue=request.args.get("overdue") == "1",
        sort=request.args.get("sort", "updated"),
        page=_int_arg("page") or 1,
        stats=CaseFilter.from_args(request.args),
    )
    result = casefiles.search_cases(get_db(), g.principal, query, now=get_engine().clock.now())
    return render_template(
        "office/cases.html",
        result=result,
        args=request.args,
        saved=savedfilters.visible(get_db(), g.principal, "cases"),
        is_overdue=lambda c: casefiles.is_overdue(c, get_engine().clock.now()),
    )


def load_case(case_id: int, copies: bool = True):
    """The case if the person may read it (``copies=False``: act on it — 抄送 is read-only)."""
    instance = get_db().get(casefiles.Instance, case_id)
    if instance is None or not access.can_see_case(get_db(), g.principal, instance, copies=copies):
        raise NotFound(f"case {case_id}")
    return instance


@bp.get("/cases/<int:case_id>")
@official_required
def case(case_id: int):
    instance = load_case(case_id)
    db = get_db()
    tasks = get_engine().ready_tasks(db, instance.id)
    everything = request.args.get("timeline") == "all"  # else the newest TIMELINE_PAGE entries (issue 18)
    timeline = casefiles.timeline(db, instance.id, latest=None if everything else TIMELINE_PAGE)
    total = len(timeline) if everything or len(timeline) < TIMELINE_PAGE else casefiles.timeline_size(db, instance.id)
    return render_template(
        "office/case.html",
        case=instance,
        summary=instance.summary or {},
        timeline=timeline,
        timeline_total=total,
        attachments=casefiles.attachments(db, instance.id),
        tasks=tasks,
        can_open=lambda t: access.can_see_task(g.principal, t),
        dossier_steps=dossierview.for_page(instance, "office"),
        outcomes=dossierview.outcomes(instance, "office"),
        read_only=not access.can_see_case(db, g.principal, instance, copies=False),
        urgeable={t.id for t in tasks if office_verbs.may_urge(g.principal, t)},
        may_copy=office_verbs.may_copy(db, g.principal, instance),
        copies=office_verbs.copies_of(db, instance.id),
        recallable=recall_mod.last_recallable(db, g.principal, instance.id),
        overdue=casefiles.is_overdue(instance, get_engine().clock.now()),
        calls=binding.describe(db, instance),
    )  # issue 15: the version each call activity used


@bp.get("/cases/<int:case_id>/diagram.json")
@official_required
def diagram(case_id: int):
    instance = load_case(case_id)
    state = casefiles.diagram_state(get_engine(), get_db(), instance)
    return jsonify(xml=state.xml, completed=state.completed, current=state.current, counts=state.counts)


@bp.post("/cases/<int:case_id>/comments")
@official_required
def comment(case_id: int):
    instance = load_case(case_id, copies=False)
    try:
        casefiles.add_comment(
            get_db(),
            instance,
            g.user.username,
            request.form.get("body", ""),
            internal=request.form.get("internal") == "1",
        )
        flash(_("评论已添加"), "ok")
    except InvalidRequest:
        flash(_("评论不能为空"), "error")
    return redirect(url_for("office.case", case_id=case_id) + "#timeline")


@bp.post("/cases/<int:case_id>/attachments")
@official_required
def upload(case_id: int):
    instance = load_case(case_id, copies=False)
    uploads = taskpage.Uploads(None, instance.id, internal=request.form.get("internal") == "1")
    stored = [uploads(f) for f in request.files.getlist("file") if f and f.filename]
    if uploads.failure is not None:
        raise uploads.failure  # 507/503 page (webapp/files.py), nothing half-saved
    if uploads.errors:
        for message in uploads.errors.values():
            flash(message, "error")
    elif stored:
        flash(_("附件已上传"), "ok")
    return redirect(url_for("office.case", case_id=case_id) + "#attachments")


def send_attachment(attachment_id: int):
    """A file of a case the person may see; 404 for anything else."""
    db = get_db()
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    if attachment.instance_id is None:
        if attachment.uploaded_by != g.user.username:
            abort(404)
    else:
        instance = db.get(casefiles.Instance, attachment.instance_id)
        if not access.can_see_case(db, g.principal, instance):
            abort(404)
        if g.principal.is_enterprise and not dossierview.enterprise_may_see_file(instance, attachment):
            abort(404)  # an internal file of the government's (issue 14: visibility)
    from .files import stream_attachment

    return stream_attachment(db, attachment)


@bp.get("/files/<int:attachment_id>")
@official_required
def download(attachment_id: int):
    return send_attachment(attachment_id)

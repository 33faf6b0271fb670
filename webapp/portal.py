"""The enterprise portal: submit a problem, follow its progress, add material, answer
the return visit. An enterprise sees only its own cases."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine import access, casefiles
from engine import cases as intake
from engine.errors import InvalidRequest, MessageNotAccepted, NotFound
from engine.forms import FormValidationError, validate
from engine.models import HumanTask, Instance

from . import formrender, taskconflict, taskpage
from .context import get_db, get_engine
from .directory import choices
from .dossierview import MATERIAL_SCHEMA, MATERIAL_UI
from .i18n import current_lang
from .office import send_attachment
from .views_auth import enterprise_required

bp = Blueprint("portal", __name__, url_prefix="/portal")
taskconflict.register(bp, "portal")  # a task finished by someone else: who, when, input kept


@bp.get("/")
@enterprise_required
def home():
    db = get_db()
    cases = list(db.scalars(access.visible_cases(g.principal).order_by(Instance.id.desc())))
    tasks = list(db.scalars(select(HumanTask).where(access.task_filter(g.principal)).order_by(HumanTask.id)))
    return render_template("portal/home.html", cases=cases, tasks=tasks)


@bp.route("/submit", methods=["GET", "POST"])
@enterprise_required
def submit():
    form = intake.submission_form(get_db(), get_engine())  # the deployed version's (404 when none is)
    schema, ui = form.schema, form.ui
    values: dict = {"county": g.user.county} if g.user.county else {}
    errors: dict = {}
    status = 422
    if request.method == "POST":
        uploads = taskpage.Uploads(None, None)
        values = taskpage.parse_form(schema, ui, uploads)
        errors = dict(uploads.errors)
        try:
            form.check(values)
        except FormValidationError as exc:
            errors = {**exc.by_field(current_lang()), **errors}
        if not errors:
            instance, created = intake.submit(get_db(), get_engine(), g.user, values, key=submission_key(), form=form)
            if not created:  # the same form sent again (double click, retry): one case
                case_id, case_no = instance.id, instance.business_key or instance.id
                get_db().rollback()  # drops what this repeat uploaded
                flash(_("此问题已提交，案件编号 %(no)s（未重复提交）", no=case_no), "ok")
                return redirect(url_for("portal.case", case_id=case_id))
            ids = [
                int(a["id"]) if isinstance(a, dict) else int(a)
                for key, v in values.items()
                if formrender.is_upload_field(schema, ui, key)
                for a in (v if isinstance(v, list) else [v])
            ]
            casefiles.link_attachments(get_db(), ids, instance.id, g.user.username)
            flash(_("问题已提交，案件编号 %(no)s", no=instance.business_key or instance.id), "ok")
            return redirect(url_for("portal.case", case_id=instance.id))
        g.force_commit = uploads.failure is None  # keep accepted uploads for the next try
        status = uploads.status
    renderer = formrender.Renderer(
        schema,
        ui,
        choices=choices(),
        lang=current_lang(),
        attachment_url=lambda i: url_for("portal.download", attachment_id=i),
        attachment_name=taskpage.attachment_namer(None),
    )
    return render_template(
        "portal/submit.html",
        form_html=renderer.render(values, errors),
        has_errors=bool(errors),
        submission_key=submission_key() or uuid.uuid4().hex,
    ), (status if errors else 200)


def submission_key() -> str | None:
    """The hidden key of the submission form (one per opened form; kept when it is shown again)."""
    key = request.form.get("submission_key", "").strip()
    return key if 0 < len(key) <= 100 else None


def load_case(case_id: int) -> Instance:
    instance = get_db().get(Instance, case_id)
    if instance is None or not access.can_see_case(get_db(), g.principal, instance):
        raise NotFound(f"case {case_id}")
    return instance


def _waiting_for(instance: Instance, message: str) -> bool:
    if instance.status != "running":
        return False
    try:
        workflow, _loaded = get_engine().load(instance)
    except Exception:  # noqa: BLE001
        return False
    from engine.events import waiting_message_names  # what send_message accepts (event subprocesses too)

    return message in waiting_message_names(workflow)


def _material_request(instance: Instance) -> str | None:
    """What the working group asked for (``material_request`` of the intake form), as the
    waiting message event holds it."""
    from SpiffWorkflow.util.task import TaskState

    try:
        workflow, _loaded = get_engine().load(instance)
    except Exception:  # noqa: BLE001
        return None
    for task in workflow.get_tasks(state=TaskState.WAITING):
        request_text = task.data.get("material_request")
        if isinstance(request_text, str) and request_text.strip():
            return request_text
    return None


@bp.get("/cases/<int:case_id>")
@enterprise_required
def case(case_id: int):
    instance = load_case(case_id)
    db = get_db()
    tasks = [t for t in get_engine().ready_tasks(db, instance.id) if access.can_see_task(g.principal, t)]
    material_html = material_request = None
    if _waiting_for(instance, "material_supplied"):
        material_html = formrender.Renderer(_material_schema(), MATERIAL_UI, lang=current_lang()).render({}, {})
        material_request = _material_request(instance)
    steps = [
        i
        for i in casefiles.timeline(db, instance.id, include_internal=False)
        if i.action in ("start", "complete", "comment", "message")
    ]
    from .dossierview import enterprise_may_see_file, for_page, outcomes

    return render_template(
        "portal/case.html",
        case=instance,
        summary=instance.summary or {},
        tasks=tasks,
        steps=steps,
        dossier_steps=for_page(instance, "portal"),
        outcomes=outcomes(instance, "portal"),
        attachments=[a for a in casefiles.attachments(db, instance.id) if enterprise_may_see_file(instance, a)],
        material_html=material_html,
        material_request=material_request,
        can_withdraw=_waiting_for(instance, "enterprise_withdraws"),
    )


def _material_schema() -> dict:
    schema = json.loads(json.dumps(MATERIAL_SCHEMA))
    schema["properties"]["material_note"]["title"] = _("补充说明")
    schema["properties"]["material_files"]["title"] = _("补充材料")
    return schema


def _deliver(instance: Instance, message: str, payload: dict) -> None:
    intake.send_as(  # the engine checks that this enterprise is the message's sender
        get_db(), get_engine(), g.principal, instance, message, payload
    )


@bp.post("/cases/<int:case_id>/material")
@enterprise_required
def material(case_id: int):
    instance = load_case(case_id)
    schema = _material_schema()
    uploads = taskpage.Uploads(None, instance.id)
    values = taskpage.parse_form(schema, MATERIAL_UI, uploads)
    try:
        validate(schema, values)
    except FormValidationError as exc:
        flash(next(iter(exc.by_field(current_lang()).values())), "error")
        return redirect(url_for("portal.case", case_id=case_id))
    if uploads.failure is not None:
        raise uploads.failure  # 507/503 page (webapp/files.py), nothing half-saved
    if uploads.errors:
        for message in uploads.errors.values():
            flash(message, "error")
        return redirect(url_for("portal.case", case_id=case_id))
    try:
        _deliver(instance, "material_supplied", values)
    except MessageNotAccepted:
        flash(_("此案件当前不需要补充材料"), "error")
        return redirect(url_for("portal.case", case_id=case_id))
    flash(_("补充材料已提交"), "ok")
    return redirect(url_for("portal.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/withdraw")
@enterprise_required
def withdraw(case_id: int):
    instance = load_case(case_id)
    try:
        _deliver(instance, "enterprise_withdraws", {"reason": request.form.get("reason", "")[:500]})
    except MessageNotAccepted:
        flash(_("此案件当前不能撤回"), "error")
    else:
        flash(_("案件已撤回"), "ok")
    return redirect(url_for("portal.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/comments")
@enterprise_required
def comment(case_id: int):
    instance = load_case(case_id)
    try:
        casefiles.add_comment(get_db(), instance, g.user.username, request.form.get("body", ""))
        flash(_("留言已提交"), "ok")
    except InvalidRequest:
        flash(_("留言不能为空"), "error")
    return redirect(url_for("portal.case", case_id=case_id))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@enterprise_required
def task(task_id: int):
    row = taskpage.load_task(task_id)
    if request.method == "POST":
        return taskpage.handle_post(row, audience="portal", done_url=url_for("portal.case", case_id=row.instance_id))
    return taskpage.render_task(row, audience="portal")


@bp.get("/files/<int:attachment_id>")
@enterprise_required
def download(attachment_id: int):
    return send_attachment(attachment_id)
